"""
Dialog subscriptions at scale, in one process, with no network: 10,000
active BLF subscriptions spread over 100 hinted devices, then all 100
devices change state at once.

Prints the memory the subscriptions take (tracemalloc, and the process's
peak RSS), the time to accept them (SUBSCRIBE handling, 200 and the first
NOTIFY built), and the NOTIFY fan-out time: building and handing to the
transaction layer every NOTIFY the 100 state changes cause. NOTIFYs are
serialised to bytes (as the transport would) but not sent.

    python bench/bench_subscriptions.py [subscriptions] [devices]
"""

import os
import resource
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet.task import Clock  # noqa: E402

from channels.sip.net.address import Address  # noqa: E402
from channels.sip.wire.parser import parseMessage  # noqa: E402
from channels.sip.driver.subscriptions import SubscriptionSettings, installSubscriptions  # noqa: E402
from channels.sip.net.useragent import UserAgent  # noqa: E402
from pbxcore.store.astdb import AstDB  # noqa: E402
from pbxcore.config import parseText  # noqa: E402
from pbxcore.devicestate.engine import DeviceStateEngine  # noqa: E402
from pbxcore.dialplan.parser import parseDialplan  # noqa: E402
from pbxcore.testing import FakePBX  # noqa: E402


class _ST:
    def __init__(self, source):
        self.source = source
        self.responded = False

    def respond(self, response):
        self.responded = True
        response.toBytes()


class _Transactions:
    def __init__(self):
        self.count = 0

    def sendRequest(self, request, destination, onResponse):
        request.toBytes()
        self.count += 1


class _Stack:
    def __init__(self):
        self.userAgent = UserAgent(userAgent="txpbx-bench")
        self.transactions = _Transactions()
        self.listening = []
        self.peers = None


def _subscribe(index, exten):
    port = 10000 + index % 50000
    text = (f"SUBSCRIBE sip:{exten}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKb{index}\r\n"
            f"From: <sip:w{index}@127.0.0.1:{port}>;tag=t{index}\r\n"
            f"To: <sip:{exten}@127.0.0.1>\r\nCall-ID: bench-{index}\r\n"
            f"CSeq: 1 SUBSCRIBE\r\nContact: <sip:w{index}@127.0.0.1:{port}>\r\n"
            "Max-Forwards: 70\r\nEvent: dialog\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
    return parseMessage(text.encode()), Address("UDP", "127.0.0.1", port)


def build(subscriptions, devices):
    """A PBX with C{devices} hints, its subscription manager and the SUBSCRIBEs to send."""
    clock = Clock()
    pbx = FakePBX(reactor=clock)
    pbx.astdb = AstDB(None)
    pbx.astdb.open()
    lines = ["[blf]"] + [f"exten => {2000 + d},hint,Custom:dev{d}" for d in range(devices)]
    pbx.dialplan = parseDialplan(parseText("\n".join(lines) + "\n", "extensions.conf"))
    pbx.devicestate = DeviceStateEngine(pbx)
    stack = _Stack()
    manager = installSubscriptions(
        pbx, stack, pbx.registrar("res_sip_subscriptions"),
        SubscriptionSettings(subscribecontext="blf"), clock)
    requests = [_subscribe(i, 2000 + i % devices) for i in range(subscriptions)]
    return pbx, stack, manager, requests


def accept(stack, requests):
    for request, source in requests:
        stack.userAgent.requestReceived(request, _ST(source))


def main(subscriptions=10000, devices=100):
    # memory, traced on a first set (tracing slows everything down)
    pbx, stack, manager, requests = build(subscriptions, devices)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    accept(stack, requests)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del pbx, stack, manager, requests
    # time, untraced, on a fresh set
    pbx, stack, manager, requests = build(subscriptions, devices)
    rssBefore = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    accept(stack, requests)
    accepted = time.perf_counter() - started
    assert len(manager) == subscriptions, len(manager)
    del requests
    before = stack.transactions.count
    started = time.perf_counter()
    for d in range(devices):
        pbx.devicestate.setCustomState(f"dev{d}", "INUSE")
    fanout = time.perf_counter() - started
    sent = stack.transactions.count - before
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"subscriptions: {subscriptions} dialog subscriptions on {devices} hinted devices")
    print(f"accept: {accepted:.2f} s ({subscriptions / accepted:,.0f} SUBSCRIBE/s, "
          "each answered 200 and given its first NOTIFY)")
    print(f"memory: {used / 1e6:.1f} MB traced for the subscriptions "
          f"({used / subscriptions:,.0f} bytes each); peak RSS {rss / 1024:.0f} MB "
          f"(was {rssBefore / 1024:.0f} MB before the timed set)")
    print(f"fan-out: {devices} devices changed state at once -> {sent} NOTIFYs built and "
          f"queued in {fanout * 1000:.0f} ms ({sent / fanout:,.0f} NOTIFY/s)")
    return 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sys.exit(main(*args))
