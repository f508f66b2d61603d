"""
What each call leaves behind: a PBXService in this process (chan_sip,
res_sdp_rtp, app_dial; C{exten => _X.,1,Dial(SIP/uas)}) carries SIPp UAC ->
PBX -> SIPp UAS calls over real loopback UDP in batches; after each batch
the garbage collector runs and the live objects are counted by type, and
tracemalloc compares the heap with the one after the warm-up batch.

    python bench/callgrowth.py [--calls 2000] [--batches 2] [--rate 100] [--top 25]

Prints the types whose live count grew, the allocation sites that grew
most, and bytes per call. Loopback only, bounded call counts.
"""

import argparse
import collections
import gc
import os
import re
import subprocess
import sys
import tempfile
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.bench_sip_calls import EXTENSIONS, MODULES, SIP_CONF, UAC_SCENARIO  # noqa: E402
from tests.sipp import freePort  # noqa: E402


def typeCounts():
    gc.collect()
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def describeGarbage(garbage, calls):
    """Where the cyclic garbage's failures and frames come from."""
    import types
    from twisted.python.failure import Failure
    failures = collections.Counter()
    frames = collections.Counter()
    for o in garbage:
        if isinstance(o, Failure):
            tb = o.getTracebackObject()
            where = ""
            while tb is not None:
                where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 2)[-1]}:{tb.tb_lineno}"
                tb = tb.tb_next
            failures[(o.type.__name__, str(o.value)[:60], where)] += 1
        elif isinstance(o, types.FrameType):
            frames[f"{o.f_code.co_filename.rsplit('/', 2)[-1]}:{o.f_code.co_name}"] += 1
    ids = {id(o): o for o in garbage}
    edges = {i: [id(r) for r in gc.get_referents(o) if id(r) in ids] for i, o in ids.items()}
    # Tarjan's strongly connected components, iteratively
    index, low, onStack, stack, comps, counter = {}, {}, set(), [], [], [0]
    for root in ids:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter[0]; counter[0] += 1
                stack.append(node); onStack.add(node)
            recurse = False
            for k in range(pos, len(edges[node])):
                nxt = edges[node][k]
                if nxt not in index:
                    work.append((node, k + 1)); work.append((nxt, 0)); recurse = True
                    break
                elif nxt in onStack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop(); onStack.discard(w); comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    comps.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    shapes = collections.Counter()
    printed = set()
    for comp in comps:
        kinds = collections.Counter(type(ids[i]).__qualname__ for i in comp)
        named = sorted(k for k in kinds if k not in ("dict", "tuple", "list", "cell", "function", "method", "frame", "set"))
        shapes[(len(comp), tuple(named[:12]))] += 1
        if os.environ.get("CYCLE_EDGES") and (len(comp), tuple(named[:12])) not in printed:
            printed.add((len(comp), tuple(named[:12])))
            members = set(comp)
            print(f"-- cycle of {len(comp)}")
            for i in comp:
                o = ids[i]
                for r in gc.get_referents(o):
                    if id(r) in members:
                        name = "?"
                        if isinstance(o, dict):
                            name = next((repr(k) for k, v in o.items() if v is r), "value?")
                        print(f"   {type(o).__qualname__} -{name}-> {type(r).__qualname__}")
    print("cycles (strongly connected components):")
    for (size, named), n in shapes.most_common(20):
        print(f"  {n / calls:6.2f}/call size {size}: {', '.join(named)}")
    print("failures in the garbage:")
    for key, n in failures.most_common(15):
        print(f"  {n / calls:6.2f}/call {key}")
    print("frames in the garbage:")
    for key, n in frames.most_common(25):
        print(f"  {n / calls:6.2f}/call {key}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--detail", action="store_true", help="with --cycles: failures and frames")
    parser.add_argument("--cycles", action="store_true",
                        help="collector off during the measured calls, then list the cyclic garbage by type")
    options = parser.parse_args()

    from twisted.internet import reactor, defer, task, threads
    from twisted.logger import globalLogBeginner
    from pbxcore.service import PBXService

    # Nothing reads the log here; without an observer Twisted would keep
    # the first 64k events (its start-up buffer) and count them as growth.
    globalLogBeginner.beginLoggingTo([lambda event: None], redirectStandardIO=False)

    base = tempfile.mkdtemp(prefix="txpbx-growth-")
    etc = os.path.join(base, "etc")
    os.makedirs(etc)
    port = freePort()
    uasPort = freePort()
    for name, text in (("sip.conf", SIP_CONF.format(port=port, uasPort=uasPort)),
                       ("extensions.conf", EXTENSIONS), ("modules.conf", MODULES),
                       ("pbx.conf", "[options]\nverbose = 0\n")):
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    scenario = os.path.join(base, "uac.xml")
    with open(scenario, "w") as f:
        f.write(UAC_SCENARIO)
    uas = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(uasPort), "-nostdin",
                            "-mp", str(freePort())], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def uac(calls):
        proc = subprocess.run(
            ["sipp", "-sf", scenario, "-s", "1000", "-i", "127.0.0.1", "-p", str(freePort()), "-r", str(options.rate),
             "-m", str(calls), "-l", "200", "-nostdin", "-timeout", "120s", "-mp", str(freePort()),
             f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        counts = re.findall(r"(Successful call|Failed call)\s*\|\s*\d+\s*\|\s*(\d+)", proc.stdout)
        return dict((k, int(v)) for k, v in counts)

    @defer.inlineCallbacks
    def run():
        pbx = PBXService(etc)
        pbx.startService()
        yield pbx.booted
        try:
            rc = yield threads.deferToThread(uac, options.warmup)
            yield task.deferLater(reactor, 40, lambda: None)  # transactions' Timer J/K, 32 s
            before = typeCounts()
            if options.tracemalloc:
                tracemalloc.start(12)
            snap1 = tracemalloc.take_snapshot() if options.tracemalloc else None
            if options.cycles:
                gc.disable()
            rc2 = yield threads.deferToThread(uac, options.calls)
            yield task.deferLater(reactor, 40, lambda: None)
            if options.cycles:
                gc.set_debug(gc.DEBUG_SAVEALL)
                found = gc.collect()
                garbage = collections.Counter(type(o).__qualname__ for o in gc.garbage)
                print(f"cyclic garbage: {found} objects, {found / options.calls:.1f} per call")
                for t, n in garbage.most_common(options.top):
                    print(f"  {t:40} {n:8} {n / options.calls:8.2f}")
                if options.detail:
                    describeGarbage(gc.garbage, options.calls)
                gc.garbage.clear()
                gc.set_debug(0)
                gc.enable()
            after = typeCounts()
            print(f"warm-up sipp rc={rc}, measured sipp rc={rc2}, calls={options.calls}")
            grew = [(t, after[t] - before.get(t, 0)) for t in after if after[t] - before.get(t, 0) > 0]
            grew.sort(key=lambda x: -x[1])
            print("types that grew (count, per call):")
            for t, n in grew[:options.top]:
                print(f"  {t:40} {n:8} {n / options.calls:8.2f}")
            print(f"  total objects: {sum(before.values())} -> {sum(after.values())}")
            if snap1 is not None:
                snap2 = tracemalloc.take_snapshot()
                stats = snap2.compare_to(snap1, "traceback")
                total = sum(s.size_diff for s in stats)
                print(f"heap growth {total} bytes, {total / options.calls:.0f} bytes per call")
                for s in stats[:options.top]:
                    if s.size_diff <= 0:
                        continue
                    print(f"{s.size_diff:10} B {s.count_diff:7} blocks")
                    for line in s.traceback.format()[-8:]:
                        print("      " + line)
            print("channels:", len(pbx.pbx.channels) if hasattr(pbx, "pbx") else "?")
        finally:
            yield pbx.stopService()
            reactor.stop()

    def start():
        run().addErrback(lambda f: (f.printTraceback(), reactor.stop()))

    reactor.callWhenRunning(start)
    try:
        reactor.run()
    finally:
        uas.terminate()
        uas.wait()


if __name__ == "__main__":
    main()
