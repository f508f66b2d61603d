"""
The embedded store: astdb writes and reads, and CDR rows from synthetic
calls, through the real single-writer thread. Prints figures; asserts
nothing. Usage: python bench/bench_store.py [COUNT]
"""

import os
import shutil
import sys
import tempfile
import time

from twisted.internet import defer, task


class _Bus:
    def __init__(self):
        self.subscribers = []

    def subscribe(self, f):
        self.subscribers.append(f)
        return lambda: self.subscribers.remove(f)


class _PBX:
    def __init__(self, reactor):
        self.reactor = reactor
        self.events = _Bus()

    def emitEvent(self, name, fields=(), category="system"):
        pass


def _callEvents(i, t0):
    from pbxcore.events import Event

    a, b = f"SIP/a{i}-{i:08x}", f"SIP/b{i}-{i:08x}"

    def block(name, uid, state):
        return (("Channel", name), ("ChannelState", str(state)), ("CallerIDNum", "100"),
                ("CallerIDName", "A"), ("Context", "default"), ("Exten", "200"),
                ("Uniqueid", uid), ("Linkedid", f"a{i}"))

    return [
        Event("Newchannel", block(a, f"a{i}", 4), "call", t0),
        Event("NewExten", block(a, f"a{i}", 4) + (("Application", "Dial"),
                                                 ("AppData", "SIP/b,20")), "dialplan", t0),
        Event("Newchannel", block(b, f"b{i}", 0), "call", t0),
        Event("DialBegin", block(a, f"a{i}", 4) + (("DestChannel", b),), "call", t0),
        Event("Newstate", block(a, f"a{i}", 6), "call", t0 + 2),
        Event("DialEnd", block(a, f"a{i}", 6) + (("DestChannel", b),
                                                ("DialStatus", "ANSWER")), "call", t0 + 2),
        Event("Hangup", block(b, f"b{i}", 6) + (("Cause", "16"),), "call", t0 + 60),
        Event("Hangup", block(a, f"a{i}", 6) + (("Cause", "16"),), "call", t0 + 60),
    ]


@defer.inlineCallbacks
def main(reactor, count):
    from pbxcore.store.astdb import AstDB
    from pbxcore.store.cdr import CDREngine

    base = tempfile.mkdtemp(prefix="txpbx-bench-store-")
    try:
        db = AstDB(os.path.join(base, "astdb.sqlite3"), reactor=reactor)
        db.open()
        start = time.perf_counter()
        for i in range(count):
            db.put("bench", str(i), f"value-{i}")
        queued = time.perf_counter() - start
        yield db.flush()
        flushed = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(count):
            db.get("bench", str(i))
        reads = time.perf_counter() - start
        yield db.close()
        print(f"astdb: {count} puts queued in {queued * 1000:.1f} ms "
              f"({count / queued:,.0f}/s on the reactor thread), "
              f"on disk after {flushed * 1000:.1f} ms ({count / flushed:,.0f}/s)")
        print(f"astdb: {count} gets in {reads * 1000:.1f} ms ({count / reads:,.0f}/s)")

        pbx = _PBX(reactor)
        engine = CDREngine(pbx, os.path.join(base, "cdr.sqlite3"), reactor=reactor)
        engine.start()
        events = [e for i in range(count) for e in _callEvents(i, 1.7e9)]
        start = time.perf_counter()
        for event in events:
            for record in engine.builder.feed(event):
                engine._post(record)
        fed = time.perf_counter() - start
        yield engine.stop()
        done = time.perf_counter() - start
        print(f"cdr: {count} calls ({len(events)} events) accounted in {fed * 1000:.1f} ms "
              f"({count / fed:,.0f} calls/s), {engine.written} rows on disk after "
              f"{done * 1000:.1f} ms ({engine.written / done:,.0f} rows/s)")
    finally:
        shutil.rmtree(base, True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    task.react(main, [int(sys.argv[1]) if len(sys.argv) > 1 else 20000])
