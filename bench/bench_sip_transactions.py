"""
SIP transactions per second, one core: the pure machines alone, then the
TransactionManager (matching, effects, one timer per transaction) with a
transport that drops everything and a heap scheduler like the reactor's
(twisted.internet.task.Clock re-sorts its calls on every callLater, which
would measure Clock instead of the manager).
Run: python bench/bench_sip_transactions.py [transactions-per-case]
"""

import heapq
import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from channels.sip.net.address import Address  # noqa: E402
from channels.sip.wire.headers import Headers  # noqa: E402
from channels.sip.wire.message import Request, makeResponse  # noqa: E402
from channels.sip.machines.transaction import InviteServerTransaction, NonInviteClientTransaction  # noqa: E402
from channels.sip.net.transactions import TransactionManager  # noqa: E402

PEER = Address("UDP", "192.0.2.1", 5060)


def request(method, n, toTag=None):
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{n:x}")
    headers.add("Max-Forwards", "70")
    headers.add("From", "<sip:alice@example.com>;tag=a1")
    headers.add("To", "<sip:bob@example.com>" + (f";tag={toTag}" if toTag else ""))
    headers.add("Call-ID", f"{n}@example.com")
    headers.add("CSeq", f"1 {method}")
    headers.add("Content-Length", "0")
    return Request(method, "sip:bob@example.com", headers)


class Call:
    def __init__(self, when, function, args):
        self.when, self.function, self.args = when, function, args
        self.cancelled = self.called = False

    def getTime(self):
        return self.when

    def active(self):
        return not (self.cancelled or self.called)

    def cancel(self):
        self.cancelled = True


class HeapClock:
    """callLater / seconds / advance over a heap with lazy cancellation."""

    def __init__(self):
        self.now = 0.0
        self.heap = []
        self.counter = itertools.count()

    def seconds(self):
        return self.now

    def callLater(self, delay, function, *args):
        call = Call(self.now + delay, function, args)
        heapq.heappush(self.heap, (call.when, next(self.counter), call))
        return call

    def advance(self, amount):
        end = self.now + amount
        while self.heap and self.heap[0][0] <= end:
            when, _, call = heapq.heappop(self.heap)
            if call.cancelled:
                continue
            self.now = when
            call.called = True
            call.function(*call.args)
        self.now = end


class NullTransport:
    def send(self, message, destination):
        pass

    def sendResponse(self, response, source):
        pass


class AnsweringUser:
    def requestReceived(self, request, transaction):
        transaction.respond(makeResponse(request, 486, toTag="b1"))

    def ackReceived(self, ack, source):
        pass

    def strayResponse(self, response, source):
        pass


def report(name, count, started):
    elapsed = time.perf_counter() - started
    print(f"{name:58s} {count / elapsed:10.0f} /s")


def main(count):
    invites = [request("INVITE", n) for n in range(count)]
    acks = [request("ACK", n, toTag="b1") for n in range(count)]
    finals = [makeResponse(r, 486, toTag="b1") for r in invites]

    started = time.perf_counter()
    for invite, final, ack in zip(invites, finals, acks):
        m = InviteServerTransaction(invite, PEER, 0.0)
        m.start(0.0)
        m.sendResponse(final, 0.01)
        m.handleTimer(0.5)
        m.receive(ack, 0.6)
        m.handleTimer(5.6)
    report("machine: INVITE server (486, one G, ACK, Timer I)", count, started)

    options = [request("OPTIONS", n) for n in range(count)]
    oks = [makeResponse(r, 200, toTag="b1") for r in options]
    started = time.perf_counter()
    for req, ok in zip(options, oks):
        m = NonInviteClientTransaction(req, PEER, 0.0)
        m.start(0.0)
        m.receive(ok, 0.1)
        m.handleTimer(5.1)
    report("machine: non-INVITE client (200, Timer K)", count, started)

    clock = HeapClock()
    manager = TransactionManager(NullTransport(), AnsweringUser(), reactor=clock)
    started = time.perf_counter()
    for invite, ack in zip(invites, acks):
        manager.messageReceived(invite, PEER)
        manager.messageReceived(invite, PEER)  # a retransmission, absorbed
        manager.messageReceived(ack, PEER)
    clock.advance(10)
    report("manager: INVITE in, retransmission, 486, ACK, expiry", count, started)
    assert not manager.serverTransactions

    clock = HeapClock()
    manager = TransactionManager(NullTransport(), AnsweringUser(), reactor=clock)
    started = time.perf_counter()
    for req, ok in zip(options, oks):
        manager.sendRequest(req, PEER, lambda response: None)
        manager.messageReceived(ok, PEER)
    clock.advance(10)
    report("manager: OPTIONS out, 200 in, expiry", count, started)
    assert not manager.clientTransactions


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
