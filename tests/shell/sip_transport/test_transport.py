"""
The SIP transport controller: Via stamping (RFC 3261 §18.2.1, RFC 3581),
response routing (§18.2.2), the UDP to TCP switch (§18.1.1) and stream
framing errors, against fake transports and a MemoryReactor.
"""

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial import unittest

from channels.sip.net.address import Address
from channels.sip.wire.headers import Headers
from channels.sip.wire.grammar import parseVia
from channels.sip.wire.message import Request, makeResponse
from channels.sip.net.transactions import TransportError
from channels.sip.net.transport import (
    SIPDatagramProtocol,
    SIPStreamProtocol,
    SIPTransportLayer,
    routeResponse,
    splitSpec,
    stampVia,
)

OPTIONS = (
    b"OPTIONS sip:pbx@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP client.example.com:5062;branch=z9hG4bKabc;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:a@example.com>;tag=1\r\n"
    b"To: <sip:pbx@127.0.0.1>\r\n"
    b"Call-ID: c1@example.com\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def request(via, *more):
    headers = Headers([("Via", via), *[("Via", v) for v in more],
                       ("From", "<sip:a@example.com>;tag=1"), ("To", "<sip:b@example.com>"),
                       ("Call-ID", "x"), ("CSeq", "1 OPTIONS"), ("Max-Forwards", "70")])
    return Request("OPTIONS", "sip:b@example.com", headers)


class FakeUDP:
    def __init__(self):
        self.written = []

    def write(self, data, addr):
        self.written.append((data, addr))


class Collect:
    def __init__(self):
        self.messages = []

    def messageReceived(self, message, source):
        self.messages.append((message, source))


def udpLayer():
    layer = SIPTransportLayer(reactor=MemoryReactorClock())
    layer.receiver = Collect()
    udp = SIPDatagramProtocol(layer)
    udp.transport = FakeUDP()
    layer._udp.append(udp)
    return layer, udp


class ViaStampingTests(unittest.TestCase):
    def test_receivedWhenHostDiffers(self):
        r = request("SIP/2.0/UDP host.example.com;branch=z9hG4bK1")
        stampVia(r, "192.0.2.1", 5060)
        self.assertEqual(r.topVia.received, "192.0.2.1")
        self.assertIsNone(r.topVia.rport)

    def test_nothingWhenHostMatches(self):
        r = request("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1")
        stampVia(r, "192.0.2.1", 5070)
        self.assertEqual(r.headers.get("Via"), "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1")

    def test_rportFilled(self):
        r = request("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport", "SIP/2.0/UDP proxy.example;branch=z9hG4bK2")
        stampVia(r, "192.0.2.1", 40000)
        self.assertEqual(r.topVia.rport, 40000)
        self.assertEqual(r.topVia.received, "192.0.2.1")
        self.assertEqual(len(r.vias), 2)
        self.assertEqual(r.vias[1].host, "proxy.example")

    def test_onlyTopElementOfACommaList(self):
        r = request("SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2")
        stampVia(r, "192.0.2.9", 5060)
        self.assertEqual([v.received for v in r.vias], ["192.0.2.9", None])

    def test_ipv6SameHost(self):
        r = request("SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1")
        stampVia(r, "2001:db8:0::1", 5060)
        self.assertIsNone(r.topVia.received)


class ResponseRoutingTests(unittest.TestCase):
    def route(self, via, arrival="UDP"):
        return routeResponse(parseVia(via), arrival)

    def test_receivedAndSentByPort(self):
        self.assertEqual(self.route("SIP/2.0/UDP h.example:5070;branch=z9hG4bK1;received=192.0.2.1"),
                         ("UDP", "192.0.2.1", 5070))

    def test_defaultPort(self):
        self.assertEqual(self.route("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"), ("UDP", "192.0.2.1", 5060))

    def test_rport(self):
        self.assertEqual(self.route("SIP/2.0/UDP h.example;branch=z9hG4bK1;received=192.0.2.1;rport=4000"),
                         ("UDP", "192.0.2.1", 4000))

    def test_maddrFirst(self):
        self.assertEqual(self.route("SIP/2.0/UDP h.example:5080;branch=z9hG4bK1;maddr=239.1.1.1;received=192.0.2.1;rport=4000"),
                         ("UDP", "239.1.1.1", 5080))

    def test_reliableIgnoresRport(self):
        self.assertEqual(self.route("SIP/2.0/TCP h.example;branch=z9hG4bK1;received=192.0.2.1;rport=4000", "TCP"),
                         ("TCP", "192.0.2.1", 5060))
        self.assertEqual(self.route("SIP/2.0/TLS h.example;branch=z9hG4bK1;received=192.0.2.1", "TLS"),
                         ("TLS", "192.0.2.1", 5061))

    def test_udpResponseWritten(self):
        layer, udp = udpLayer()
        r = request("SIP/2.0/UDP h.example;branch=z9hG4bK1;received=127.0.0.5;rport=4000")
        layer.sendResponse(makeResponse(r, 200), Address("UDP", "127.0.0.5", 4000))
        [(data, addr)] = udp.transport.written
        self.assertEqual(addr, ("127.0.0.5", 4000))
        self.assertTrue(data.startswith(b"SIP/2.0 200 OK\r\n"))

    def test_streamResponseOnSameConnection(self):
        layer = SIPTransportLayer(reactor=MemoryReactorClock())
        layer.receiver = Collect()
        conn = SIPStreamProtocol(layer, "TCP", False)
        conn.makeConnection(StringTransport(peerAddress=_peer("127.0.0.7", 33333)))
        r = request("SIP/2.0/TCP h.example;branch=z9hG4bK1;received=127.0.0.7")
        layer.sendResponse(makeResponse(r, 200), conn.peerAddress)
        self.assertTrue(conn.transport.value().startswith(b"SIP/2.0 200 OK\r\n"))
        self.assertEqual(layer.reactor.tcpClients, [])

    def test_streamResponseReconnectsWhenClosed(self):
        layer = SIPTransportLayer(reactor=MemoryReactorClock())
        r = request("SIP/2.0/TCP 127.0.0.8:5099;branch=z9hG4bK1")
        layer.sendResponse(makeResponse(r, 200), Address("TCP", "127.0.0.8", 40000))
        [(host, port, *_)] = layer.reactor.tcpClients
        self.assertEqual((host, port), ("127.0.0.8", 5099))


def _peer(host, port):
    from twisted.internet.address import IPv4Address

    return IPv4Address("TCP", host, port)


class ReceiveTests(unittest.TestCase):
    def test_datagramStampedAndDelivered(self):
        layer, udp = udpLayer()
        udp.datagramReceived(OPTIONS, ("127.0.0.3", 5999))
        [(message, source)] = layer.receiver.messages
        self.assertEqual(source, Address("UDP", "127.0.0.3", 5999))
        self.assertEqual(message.topVia.received, "127.0.0.3")
        self.assertEqual(message.topVia.rport, 5999)

    def test_keepaliveIgnored(self):
        layer, udp = udpLayer()
        udp.datagramReceived(b"\r\n\r\n", ("127.0.0.3", 5999))
        self.assertEqual((layer.receiver.messages, udp.transport.written), ([], []))

    def test_malformedAnswered400(self):
        layer, udp = udpLayer()
        bad = OPTIONS.replace(b"CSeq: 1 OPTIONS", b"CSeq: 99999999999 OPTIONS")
        udp.datagramReceived(bad, ("127.0.0.3", 5999))
        self.assertEqual(layer.receiver.messages, [])
        [(data, addr)] = udp.transport.written
        self.assertEqual(addr, ("127.0.0.3", 5999))
        self.assertTrue(data.startswith(b"SIP/2.0 400 "), data)

    def test_garbageDropped(self):
        layer, udp = udpLayer()
        udp.datagramReceived(b"\x16\x03\x01garbage", ("127.0.0.3", 5999))
        self.assertEqual((layer.receiver.messages, udp.transport.written), ([], []))

    def test_streamFramingErrorClosesThatConnection(self):
        layer = SIPTransportLayer(reactor=MemoryReactorClock())
        layer.receiver = Collect()
        good = SIPStreamProtocol(layer, "TCP", False)
        good.makeConnection(StringTransport(peerAddress=_peer("127.0.0.7", 1)))
        bad = SIPStreamProtocol(layer, "TCP", False)
        bad.makeConnection(StringTransport(peerAddress=_peer("127.0.0.7", 2)))
        bad.dataReceived(OPTIONS.replace(b"Content-Length: 0", b"Content-Length: -5"))
        self.assertTrue(bad.transport.disconnecting)
        self.assertFalse(good.transport.disconnecting)
        good.dataReceived(OPTIONS[:50])
        good.dataReceived(OPTIONS[50:] + OPTIONS)
        self.assertEqual(len(layer.receiver.messages), 2)


class SendTests(unittest.TestCase):
    def test_smallUdpRequest(self):
        layer, udp = udpLayer()
        r = request("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1")
        layer.send(r, Address("UDP", "127.0.0.9", 5060))
        [(data, addr)] = udp.transport.written
        self.assertEqual(addr, ("127.0.0.9", 5060))

    def test_largeUdpRequestGoesOverTcp(self):
        layer, udp = udpLayer()
        r = request("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1")
        r.body = b"x" * 1400
        layer.send(r, Address("UDP", "127.0.0.9", 5060))
        self.assertEqual(udp.transport.written, [])
        self.assertEqual(r.topVia.transport, "TCP")
        self.assertEqual(r.topVia.branch, "z9hG4bK1")
        [(host, port, factory, *_)] = layer.reactor.tcpClients
        self.assertEqual((host, port), ("127.0.0.9", 5060))
        proto = factory.buildProtocol(None)
        transport = StringTransport(peerAddress=_peer("127.0.0.9", 5060))
        proto.makeConnection(transport)
        self.assertIn(b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1", transport.value())
        self.assertTrue(transport.value().endswith(b"x" * 1400))

    def test_connectionReused(self):
        layer, udp = udpLayer()
        for i in range(2):
            r = request(f"SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK{i}")
            layer.send(r, Address("TCP", "127.0.0.9", 5060))
            if i == 0:
                [(_, _, factory, *_)] = layer.reactor.tcpClients
                transport = StringTransport(peerAddress=_peer("127.0.0.9", 5060))
                factory.buildProtocol(None).makeConnection(transport)
        self.assertEqual(len(layer.reactor.tcpClients), 1)
        self.assertEqual(transport.value().count(b"OPTIONS sip:"), 2)

    def test_idleConnectionClosed(self):
        from twisted.internet.task import Clock

        clock = Clock()
        layer = SIPTransportLayer(reactor=clock, idleTimeout=30)
        layer.receiver = Collect()
        conn = SIPStreamProtocol(layer, "TCP", False)
        conn.makeConnection(StringTransport(peerAddress=_peer("127.0.0.7", 1)))
        clock.advance(20)
        conn.dataReceived(OPTIONS)
        clock.advance(20)
        self.assertFalse(conn.transport.disconnecting)
        clock.advance(11)
        self.assertTrue(conn.transport.disconnecting)

    def test_udpErrorRaisesTransportError(self):
        layer, udp = udpLayer()

        def fail(data, addr):
            raise OSError("unreachable")

        udp.transport.write = fail
        r = request("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1")
        self.assertRaises(TransportError, layer.send, r, Address("UDP", "127.0.0.9", 5060))


class SpecTests(unittest.TestCase):
    def test_split(self):
        self.assertEqual(splitSpec("tls:5061:interface=\\:\\:1:certKey=/a.pem"),
                         ("tls", ["5061"], {"interface": "::1", "certKey": "/a.pem"}))
