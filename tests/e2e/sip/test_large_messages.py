"""
Messages larger than a UDP datagram usually is, on real loopback sockets
(RFC 3261 §18.1.1): the PBX reads datagrams up to 65,535 bytes whole (a
60 KB OPTIONS to the shipped sample gets its 200), and a request it sends
that is too large for UDP goes over TCP when the far end listens on TCP,
back over UDP (as the RFC asks) when TCP is refused and the request fits a
datagram, and fails with a clear error when it fits neither.
"""

import socket

from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest

from channels.sip.net.address import Address
from channels.sip.wire.headers import Headers
from channels.sip.wire.message import Request
from channels.sip.wire.parser import parseMessage
from channels.sip.net.transactions import TransportError
from tests import inprocess
from tests.e2e.sip.support import boundPort, listenClient, startStack
from tests.sample import sampleForTest


def bigOptions(port, local, callId, size):
    head = (
        f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{callId};rport\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=f{callId}\r\n"
        f"To: <sip:127.0.0.1:{port}>\r\n"
        f"Call-ID: {callId}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Max-Forwards: 70\r\n"
    )
    pad = []
    used = len(head) + 40
    n = 0
    while used < size - 1100:
        line = f"X-Pad-{n}: {'p' * 1000}\r\n"
        pad.append(line)
        used += len(line)
        n += 1
    data = (head + "".join(pad) + "Content-Length: 0\r\n\r\n").encode()
    return data


class LargeDatagramToSampleTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_60kOptionsOverUDPAnswered200(self):
        etc, ports = sampleForTest(self)
        yield inprocess.startPBX(self, etc)
        client = listenClient(self)
        local = ("127.0.0.1", client.transport.getHost().port)
        data = bigOptions(ports.sip, local, "big60k", 60 * 1024)
        self.assertGreater(len(data), 59 * 1024)
        self.assertLess(len(data), 65507)
        client.transport.write(data, ("127.0.0.1", ports.sip))
        response = yield client.waitForCallId("big60k")
        self.assertEqual((response.status, response.reason), (200, "OK"))


class _Collect(protocol.Protocol):
    def __init__(self, received):
        self.received = received

    def dataReceived(self, data):
        self.received.append(data)


class _UDPCollect(protocol.DatagramProtocol):
    def __init__(self):
        self.received = []
        self.waiting = []

    def datagramReceived(self, data, addr):
        self.received.append(data)
        for d in self.waiting:
            d.callback(data)
        self.waiting = []

    def next(self):
        d = defer.Deferred()
        if self.received:
            d.callback(self.received[-1])
        else:
            self.waiting.append(d)
        return d


def largeRequest(localPort, size):
    headers = Headers([
        ("Via", f"SIP/2.0/UDP 127.0.0.1:{localPort};branch=z9hG4bKlarge{size}"),
        ("From", "<sip:pbx@127.0.0.1>;tag=1"), ("To", "<sip:far@127.0.0.1>"),
        ("Call-ID", f"large-{size}"), ("CSeq", "1 MESSAGE"), ("Max-Forwards", "70"),
        ("Content-Type", "text/plain"),
    ])
    request = Request("MESSAGE", "sip:far@127.0.0.1", headers)
    request.body = b"m" * size
    return request


class LargeRequestSendTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.stack = startStack(self)
        self.localPort = boundPort(self.stack, "udp")

    def farEnd(self, tcp):
        """A far end on one loopback port: UDP always, TCP when C{tcp}; returns (port, udp, tcpBytes)."""
        for _ in range(50):
            udp = _UDPCollect()
            udpPort = reactor.listenUDP(0, udp, interface="127.0.0.1", maxPacketSize=65535)
            self.addCleanup(udpPort.stopListening)
            port = udpPort.getHost().port
            tcpBytes = []
            if not tcp:
                probe = socket.socket()
                try:
                    probe.bind(("127.0.0.1", port))  # nobody listens on TCP there: refused
                except OSError:
                    continue
                finally:
                    probe.close()
                return port, udp, tcpBytes
            factory = protocol.Factory.forProtocol(lambda: _Collect(tcpBytes))
            try:
                tcpPort = reactor.listenTCP(port, factory, interface="127.0.0.1")
            except Exception:
                continue
            self.addCleanup(tcpPort.stopListening)
            return port, udp, tcpBytes
        raise AssertionError("no loopback port pair")

    @defer.inlineCallbacks
    def waitBytes(self, chunks, size):
        for _ in range(400):
            if sum(map(len, chunks)) >= size:
                return b"".join(chunks)
            yield deferLater(0.05)
        self.fail(f"only {sum(map(len, chunks))} of {size} bytes arrived over TCP")

    @defer.inlineCallbacks
    def test_largeRequestGoesOverTCPWhenTheFarEndHasIt(self):
        port, udp, tcpBytes = self.farEnd(tcp=True)
        request = largeRequest(self.localPort, 5000)
        yield defer.maybeDeferred(self.stack.transport.send, request, Address("UDP", "127.0.0.1", port))
        data = yield self.waitBytes(tcpBytes, 5000)
        message = parseMessage(data)
        self.assertEqual(message.method, "MESSAGE")
        self.assertEqual(message.topVia.transport, "TCP")
        self.assertEqual(len(message.body), 5000)
        self.assertEqual(udp.received, [])

    @defer.inlineCallbacks
    def test_largeRequestBackOverUDPWhenTCPRefused(self):
        port, udp, _ = self.farEnd(tcp=False)
        request = largeRequest(self.localPort, 5000)
        yield defer.maybeDeferred(self.stack.transport.send, request, Address("UDP", "127.0.0.1", port))
        data = yield udp.next()
        message = parseMessage(data)
        self.assertEqual(message.topVia.transport, "UDP")
        self.assertEqual(len(message.body), 5000)

    @defer.inlineCallbacks
    def test_tooLargeForUDPAndNoTCPIsAClearError(self):
        port, udp, _ = self.farEnd(tcp=False)
        request = largeRequest(self.localPort, 70000)
        with self.assertRaises(TransportError) as caught:
            yield defer.maybeDeferred(self.stack.transport.send, request, Address("UDP", "127.0.0.1", port))
        self.assertIn("too large for UDP", str(caught.exception))
        self.assertIn(f"127.0.0.1:{port}", str(caught.exception))
        self.assertEqual(udp.received, [])


def deferLater(seconds):
    from twisted.internet.task import deferLater as later

    return later(reactor, seconds, lambda: None)
