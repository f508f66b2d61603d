"""
Helpers for the SIP end-to-end tests: an in-process stack on loopback,
a UDP client that collects answers, and SIPp runs.
"""

import os
import uuid

from twisted.internet import defer, protocol, reactor

from channels.sip.driver.config import BindAddress, SIPGeneral
from channels.sip.module import SIPStack
from channels.sip.wire.parser import parseMessage
from tests import sipp

SCENARIOS = os.path.join(os.path.dirname(__file__), "scenarios")

# Liveness bound for waits (a hung test fails instead of blocking CI); the
# tests assert on what arrives, never on how fast.
WAIT = 10.0


def startStack(testCase, **settings) -> SIPStack:
    """A started stack on 127.0.0.1 (port 0 unless given), stopped at cleanup."""
    settings.setdefault("udpBind", BindAddress("127.0.0.1", 0))
    stack = SIPStack(SIPGeneral(**settings))
    stack.start()
    testCase.addCleanup(stack.stop)
    return stack


def boundPort(stack, kind: str) -> int:
    for spec, port in zip(stack.general.listenerSpecs(), stack.listening):
        if spec.startswith(kind + ":"):
            return port.getHost().port
    raise KeyError(kind)


def options(host: str, port: int, transport="UDP", local=("127.0.0.1", 5060), callId=None, branch=None, extra=b"") -> bytes:
    callId = callId or uuid.uuid4().hex
    branch = branch or "z9hG4bK" + uuid.uuid4().hex
    return (
        f"OPTIONS sip:pbx@{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {local[0]}:{local[1]};branch={branch};rport\r\n"
        f"From: <sip:test@{local[0]}>;tag=t{callId[:8]}\r\n"
        f"To: <sip:pbx@{host}>\r\n"
        f"Call-ID: {callId}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Max-Forwards: 70\r\n"
    ).encode() + extra + b"Content-Length: 0\r\n\r\n"


class UDPClient(protocol.DatagramProtocol):
    """Collects parsed responses; L{waitFor} fires when one matches."""

    def __init__(self):
        self.received = []
        self._waiters = []

    def datagramReceived(self, data, addr):
        message = parseMessage(data, validate=False)  # answers echo bad requests
        self.received.append(message)
        for waiter in list(self._waiters):
            predicate, d, call = waiter
            if predicate(message):
                self._waiters.remove(waiter)
                call.cancel()
                d.callback(message)

    def waitFor(self, predicate) -> defer.Deferred:
        for message in self.received:
            if predicate(message):
                return defer.succeed(message)
        d = defer.Deferred()
        waiter = []

        def timeout():
            self._waiters.remove(tuple(waiter))
            d.errback(AssertionError("no matching SIP answer arrived"))

        waiter.extend([predicate, d, reactor.callLater(WAIT, timeout)])
        self._waiters.append(tuple(waiter))
        return d

    def waitForCallId(self, callId):
        return self.waitFor(lambda m: m.callId == callId)


def listenClient(testCase, host="127.0.0.1", port=0) -> UDPClient:
    client = UDPClient()
    listening = reactor.listenUDP(port, client, interface=host)
    testCase.addCleanup(listening.stopListening)
    return client


def runSipp(scenario: str, transport: str, port: int, calls: int = 1, extra=(), cwd=None):
    """Run SIPp as a client against 127.0.0.1:port; a Deferred of (code, output)."""
    return sipp.runDeferred(sipp.sippArgs(
        os.path.join(SCENARIOS, scenario), port, transport=transport, localPort=sipp.freePort(),
        calls=calls, mediaPort=False, extra=extra), cwd=cwd)
