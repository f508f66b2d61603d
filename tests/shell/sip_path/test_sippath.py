"""
The per-request SIP path: the Via route memo kept on the source address,
datagrams sent through the socket's own sendto (and its errors read like
the port's write reads them), final responses serialised once, slotted
addresses.
"""

import errno

from twisted.internet.testing import MemoryReactorClock
from twisted.trial import unittest

from channels.sip.wire import via as viaModule
from channels.sip.net.address import Address
from channels.sip.wire.grammar import parseVia
from channels.sip.wire.message import makeResponse
from channels.sip.machines.transaction import Timers
from channels.sip.net.transactions import TransactionManager, TransportError
from channels.sip.net.transport import SIPDatagramProtocol, SIPTransportLayer, routeResponse


def options(via, source="client.example.com"):
    return (
        "OPTIONS sip:pbx@127.0.0.1 SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:a@{source}>;tag=1\r\n"
        "To: <sip:pbx@127.0.0.1>\r\n"
        "Call-ID: c1@example.com\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class FakeSocket:
    def __init__(self):
        self.sent = []
        self.error = None
        self.options = []

    def setsockopt(self, *args):
        self.options.append(args)

    def sendto(self, data, addr):
        if self.error is not None:
            raise OSError(self.error, "fake")
        self.sent.append((data, addr))
        return len(data)


class PortWithoutWrites:
    """A listening port whose write must not be used when its socket is known."""

    def __init__(self):
        self.socket = FakeSocket()

    def write(self, data, addr):
        raise AssertionError("Port.write used")


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


def socketLayer():
    layer = SIPTransportLayer(reactor=MemoryReactorClock())
    layer.receiver = Collect()
    udp = SIPDatagramProtocol(layer)
    udp.transport = PortWithoutWrites()
    udp.startProtocol()
    layer._udp.append(udp)
    return layer, udp, udp.transport.socket


def fakeLayer():
    layer = SIPTransportLayer(reactor=MemoryReactorClock())
    layer.receiver = Collect()
    udp = SIPDatagramProtocol(layer)
    udp.transport = FakeUDP()
    layer._udp.append(udp)
    return layer, udp


VIAS = [
    "SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKa;rport",
    "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKa;rport",
    "SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKa",
    "SIP/2.0/UDP 127.0.0.3;branch=z9hG4bKa",
    "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa",
    "SIP/2.0/UDP client.example.com;branch=z9hG4bKa;maddr=127.0.0.9",
    "SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKa;received=10.0.0.1",
    "SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKa;rport=6000",
    "SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bKa;rport",
    "SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.8;branch=z9hG4bKb",
    "SIP/2.0/UDP  192.0.2.7:5062 ;branch=z9hG4bKa;rport",
]


class RouteMemoTests(unittest.TestCase):
    def test_memoAgreesWithTheGeneralRoute(self):
        """For every Via shape, answering routes as RFC 3261 §18.2.2 says."""
        for via in VIAS:
            layer, udp = fakeLayer()
            resolved = []
            layer.resolve = lambda host, port, transport: resolved.append((host, port)) or _never()
            udp.datagramReceived(options(via), ("127.0.0.3", 5999))
            [(message, source)] = layer.receiver.messages
            expected = routeResponse(message.topVia, "UDP")
            layer.sendResponse(makeResponse(message, 200), source)
            if resolved:
                self.assertEqual(resolved, [expected[1:]], via)
            else:
                [(_, addr)] = udp.transport.written
                self.assertEqual(("UDP", *addr), expected, via)

    def test_simpleViaParsedOncePerRequest(self):
        layer, udp, sock = socketLayer()
        calls = []
        original = viaModule._simpleVia

        def counting(raw):
            calls.append(raw)
            return original(raw)

        self.patch(viaModule, "_simpleVia", counting)
        udp.datagramReceived(options("SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKa;rport"), ("127.0.0.3", 5999))
        [(message, source)] = layer.receiver.messages
        layer.sendResponse(makeResponse(message, 200), source)
        self.assertEqual(len(calls), 1)
        [(_, addr)] = sock.sent
        self.assertEqual(addr, ("127.0.0.3", 5999))

    def test_changedViaIsRoutedByItself(self):
        """A response whose top Via is not the request's ignores the memo."""
        layer, udp = fakeLayer()
        udp.datagramReceived(options("SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKa;rport"), ("127.0.0.3", 5999))
        [(message, source)] = layer.receiver.messages
        self.assertIsNotNone(source.route)
        response = makeResponse(message, 200)
        response.headers.set("Via", "SIP/2.0/UDP 127.0.0.4:5000;branch=z9hG4bKa")
        layer.sendResponse(response, source)
        [(_, addr)] = udp.transport.written
        self.assertEqual(addr, ("127.0.0.4", 5000))

    def test_responsesCarryNoMemo(self):
        layer, udp = fakeLayer()
        message = options("SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKa")
        response = message.replace(b"OPTIONS sip:pbx@127.0.0.1 SIP/2.0", b"SIP/2.0 200 OK")
        udp.datagramReceived(response, ("127.0.0.3", 5999))
        [(_, source)] = layer.receiver.messages
        self.assertIsNone(source.route)


def _never():
    from twisted.internet.defer import Deferred

    return Deferred()


class SendtoTests(unittest.TestCase):
    def setUp(self):
        self.layer, self.udp, self.sock = socketLayer()
        via = "SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKa"
        self.udp.datagramReceived(options(via), ("127.0.0.3", 5999))
        [(message, self.source)] = self.layer.receiver.messages
        self.response = makeResponse(message, 200)

    def test_socketSendto(self):
        self.layer.sendResponse(self.response, self.source)
        [(data, addr)] = self.sock.sent
        self.assertEqual(addr, ("127.0.0.3", 5999))
        self.assertEqual(data, self.response.toBytes())

    def test_fullBufferDropsTheDatagram(self):
        for code in (errno.EAGAIN, errno.ENOBUFS):
            self.sock.error = code
            self.assertIsNone(self.layer.sendResponse(self.response, self.source))
        self.assertEqual(self.layer.udpSendDrops, 2)

    def test_refusalIgnored(self):
        self.sock.error = errno.ECONNREFUSED
        self.assertIsNone(self.layer.sendResponse(self.response, self.source))
        self.assertEqual(self.layer.udpSendDrops, 0)

    def test_tooLongIsATransportError(self):
        self.sock.error = errno.EMSGSIZE
        e = self.assertRaises(TransportError, self.layer.sendResponse, self.response, self.source)
        self.assertIn("too long", str(e))

    def test_otherErrorsAreTransportErrors(self):
        self.sock.error = errno.ENETUNREACH
        self.assertRaises(TransportError, self.layer.sendResponse, self.response, self.source)

    def test_stoppedProtocolFallsBackToWrite(self):
        self.udp.stopProtocol()
        self.udp.transport = FakeUDP()
        self.layer.sendResponse(self.response, self.source)
        [(_, addr)] = self.udp.transport.written
        self.assertEqual(addr, ("127.0.0.3", 5999))

    def test_portWriteErrorsAreTransportErrors(self):
        from twisted.internet import error

        self.udp.sendto = None

        def write(data, addr):
            raise error.MessageLengthError("message too long")

        self.udp.transport.write = write
        self.assertRaises(TransportError, self.layer.sendResponse, self.response, self.source)


class RecordingBytesTransport:
    """A transport with sendResponseBytes: records what it was handed."""

    def __init__(self):
        self.sent = []

    def send(self, message, destination):
        self.sent.append((message, None, destination))

    def sendResponse(self, response, source):
        self.sent.append((response, response.toBytes(), source))

    def sendResponseBytes(self, response, data, source):
        self.sent.append((response, data, source))


class User:
    def __init__(self):
        self.requests = []

    def requestReceived(self, request, transaction):
        self.requests.append((request, transaction))


class SerialisedOnceTests(unittest.TestCase):
    def test_finalResponseSerialisedOnce(self):
        layer, udp = fakeLayer()
        transport = RecordingBytesTransport()
        user = User()
        clock = MemoryReactorClock()
        manager = TransactionManager(transport, user, reactor=clock, timers=Timers())
        udp.datagramReceived(options("SIP/2.0/UDP 127.0.0.3:5999;branch=z9hG4bKa"), ("127.0.0.3", 5999))
        [(message, source)] = layer.receiver.messages
        manager.messageReceived(message, source)
        [(request, txn)] = user.requests
        response = makeResponse(request, 200)
        serialised = []
        original = response.toBytes
        response.toBytes = lambda: serialised.append(1) or original()
        txn.respond(response)
        self.assertEqual(len(serialised), 1)
        [(sent, data, _)] = transport.sent
        self.assertIs(sent, response)
        [(_, kept)] = manager._absorbing.values()
        self.assertIs(kept, data)
        # Whoever keeps the source (a binding) does not keep the Via memo.
        self.assertIsNone(source.route)
        # A retransmission is answered with the same bytes.
        manager.messageReceived(request, source)
        self.assertEqual(transport.sent[-1][1], data)


class AddressTests(unittest.TestCase):
    def test_slotted(self):
        address = Address("UDP", "127.0.0.1", 5060)
        self.assertFalse(hasattr(address, "__dict__"))
        self.assertRaises(AttributeError, setattr, address, "host", "x")

    def test_memoAndConnectionIgnoredByEquality(self):
        a = Address("UDP", "127.0.0.1", 5060, None, ("v", None))
        b = Address("UDP", "127.0.0.1", 5060, object())
        self.assertEqual(a, b)
        self.assertEqual(hash(a), hash(b))
        self.assertEqual(str(a), "udp:127.0.0.1:5060")
        self.assertEqual(repr(a), "Address(transport='UDP', host='127.0.0.1', port=5060)")

    def test_routeForgotten(self):
        a = Address("UDP", "127.0.0.1", 5060, None, ("v", None))
        a.forgetRoute()
        self.assertIsNone(a.route)
        self.assertEqual(a, Address("UDP", "127.0.0.1", 5060))
