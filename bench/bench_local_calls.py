"""
Local-channel calls per second through a 10-priority dialplan (Answer, Set,
GotoIf, Gosub/Return, Hangup), all in one process on a Clock: the cost of
the core's per-call and per-step path, with no I/O.

    python bench/bench_local_calls.py [calls]

Prints calls/s with nobody listening to events, then with one subscriber
(as when a manager session is connected).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer  # noqa: E402

from pbxcore.config import parseText  # noqa: E402
from pbxcore.events import EventBus  # noqa: E402
from pbxcore.dialplan.parser import parseDialplan  # noqa: E402
from pbxcore.testing import FakePBX  # noqa: E402
from plugins.app_stack import AppStackModule  # noqa: E402
from plugins.chan_local import LocalChannelModule  # noqa: E402

DIALPLAN = """
[bench]
exten => s,1,Answer()
 same => n,Set(A=1)
 same => n,Set(B=${A}${EXTEN})
 same => n,GotoIf($[${A} = 1]?ok:bad)
 same => n(bad),Hangup(21)
 same => n(ok),Gosub(sub,s,1(x))
 same => n,Set(R=${GOSUB_RETVAL})
 same => n,NoOp(${R})
 same => n,Set(C=done)
 same => n,Hangup()
[sub]
exten => s,1,Return(${ARG1})
"""


def makePBX():
    pbx = FakePBX()
    pbx.events = EventBus()  # FakePBX records every event; the bench starts with none
    pbx.loadModule(LocalChannelModule(), "chan_local")
    pbx.loadModule(AppStackModule(), "app_stack")
    pbx.dialplan = parseDialplan(parseText(DIALPLAN, "bench.conf"))
    return pbx


def oneCall(pbx):
    one = pbx.requestChannel("Local", "s@bench")
    d = defer.ensureDeferred(one.call("s@bench"))
    d.addErrback(lambda f: None)
    one.hangup()


def run(pbx, calls):
    for _ in range(min(200, calls)):
        oneCall(pbx)
    check = pbx.requestChannel("Local", "s@bench")
    defer.ensureDeferred(check.call("s@bench"))
    two = pbx.channels.get(check.name[:-1] + "2")
    assert two is None or two.isHungUp, "the dialplan did not finish synchronously"
    assert check.hangupRequested and check.hangupCause == 16, check.hangupCause
    check.hangup()
    started = time.perf_counter()
    cpuStarted = time.process_time()
    for _ in range(calls):
        oneCall(pbx)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpuStarted
    assert len(pbx.channels) == 0, list(pbx.channels)
    return calls / elapsed, calls / cpu


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    pbx = makePBX()
    rate, cpuRate = run(pbx, calls)
    print(f"Local calls, 10 priorities + Gosub, no event listeners: {rate:,.0f} calls/s "
          f"wall clock, {cpuRate:,.0f} calls per CPU second ({calls} calls)")
    events = []
    pbx.events.subscribe(events.append)
    rate, cpuRate = run(pbx, calls // 4)
    print(f"same with one event subscriber: {rate:,.0f} calls/s wall clock, "
          f"{cpuRate:,.0f} per CPU second "
          f"({len(events) // max(1, calls // 4 + 201)} events per call)")


if __name__ == "__main__":
    main()
