"""
The SIP stack on real loopback sockets, driven from Python: what the user
agent answers, retransmissions, and stream framing errors.
"""

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial import unittest

from channels.sip.driver.config import BindAddress
from channels.sip.wire.parser import StreamParser
from tests.e2e.sip.support import WAIT, boundPort, listenClient, options, startStack


def request(method, port, callId, extra="", uri=None, body=b"", cseqMethod=None, local=None):
    uri = uri or f"sip:pbx@127.0.0.1:{port}"
    host, lport = local
    head = (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{lport};branch=z9hG4bK{callId}\r\n"
        f"From: <sip:test@example.com>;tag=f{callId}\r\n"
        f"To: <sip:pbx@example.com>\r\n"
        f"Call-ID: {callId}\r\n"
        f"CSeq: 7 {cseqMethod or method}\r\n"
        f"Contact: <sip:test@{host}:{lport}>\r\n"
        f"Max-Forwards: 70\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class UserAgentTests(unittest.TestCase):
    def setUp(self):
        self.stack = startStack(self)
        self.port = boundPort(self.stack, "udp")
        self.client = listenClient(self)
        self.local = ("127.0.0.1", self.client.transport.getHost().port)

    @defer.inlineCallbacks
    def ask(self, method, callId, **kw):
        self.client.transport.write(request(method, self.port, callId, local=self.local, **kw), ("127.0.0.1", self.port))
        response = yield self.client.waitForCallId(callId)
        return response

    @defer.inlineCallbacks
    def test_options(self):
        r = yield self.ask("OPTIONS", "opt1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("Server"), "txpbx")
        self.assertEqual(r.headers.getall("Allow"), ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER"])
        self.assertEqual(r.headers.getall("Accept"), ["application/sdp", "multipart/mixed", "multipart/alternative"])
        self.assertIn("Supported", r.headers)
        self.assertTrue(r.toTag)

    @defer.inlineCallbacks
    def test_checks(self):
        cases = [
            ("FOO", {}, 501),
            ("SUBSCRIBE", {}, 405),
            ("MESSAGE", {"uri": "tel:+15551234"}, 405),
            ("OPTIONS", {"uri": "tel:+15551234"}, 416),
            ("INVITE", {"extra": "Max-Forwards: 0\r\n"}, 400),  # two Max-Forwards
            ("OPTIONS", {"extra": "Require: 100rel, foo\r\n"}, 420),
            ("BYE", {}, 481),
            ("INVITE", {"body": b"<xml/>", "extra": "Content-Type: application/xml\r\n"}, 415),
            ("INVITE", {"extra": "Accept: text/plain\r\n"}, 406),
            ("INVITE", {}, 403),
            ("REGISTER", {}, 401),
        ]
        for i, (method, kw, status) in enumerate(cases):
            r = yield self.ask(method, f"chk{i}", **kw)
            self.assertEqual(r.status, status, (method, kw))
            if status == 420:
                self.assertEqual(r.headers.getall("Unsupported"), ["100rel", "foo"])
            if status in (405, 501):
                self.assertIn("OPTIONS", r.headers.getall("Allow"))
            if status == 401:
                self.assertTrue(r.headers.get("WWW-Authenticate").startswith("Digest realm="))

    @defer.inlineCallbacks
    def test_maxForwardsZero(self):
        ok = yield self.ask("OPTIONS", "mf1", extra="")
        self.assertEqual(ok.status, 200)
        data = request("BYE", self.port, "mf2", local=self.local).replace(b"Max-Forwards: 70", b"Max-Forwards: 0")
        self.client.transport.write(data, ("127.0.0.1", self.port))
        r = yield self.client.waitForCallId("mf2")
        self.assertEqual(r.status, 483)

    @defer.inlineCallbacks
    def test_registeredMethodHandler(self):
        seen = []

        def message(request, st):
            seen.append(request.method)
            self.stack.userAgent.respond(st, request, 202, "Accepted")

        undo = self.stack.userAgent.registerMethod("MESSAGE", message)
        r = yield self.ask("MESSAGE", "msg1")
        self.assertEqual((r.status, seen), (202, ["MESSAGE"]))
        undo()
        r = yield self.ask("MESSAGE", "msg2")
        self.assertEqual(r.status, 405)

    @defer.inlineCallbacks
    def test_retransmissionGetsTheSameAnswer(self):
        data = request("OPTIONS", self.port, "rtx1", local=self.local)
        self.client.transport.write(data, ("127.0.0.1", self.port))
        yield self.client.waitForCallId("rtx1")
        self.client.transport.write(data, ("127.0.0.1", self.port))
        yield self.client.waitFor(lambda m: len([x for x in self.client.received if x.callId == "rtx1"]) == 2)
        first, second = [m for m in self.client.received if m.callId == "rtx1"]
        self.assertEqual(first.toBytes(), second.toBytes())
        self.assertEqual(self.stack.userAgent.requestCounts, {"OPTIONS": 1})


class StreamProtocol(protocol.Protocol):
    def __init__(self):
        self.parser = StreamParser()
        self.messages = []
        self.closed = defer.Deferred()
        self.waiting = None

    def dataReceived(self, data):
        self.messages.extend(self.parser.feed(data))
        if self.waiting and self.messages:
            d, self.waiting = self.waiting, None
            d.callback(self.messages[-1])

    def next(self):
        self.waiting = defer.Deferred()
        call = reactor.callLater(WAIT, self.waiting.errback, AssertionError("no answer"))
        return self.waiting.addBoth(lambda r: (call.cancel() if call.active() else None) or r)

    def connectionLost(self, reason):
        self.closed.callback(None)


class StreamTests(unittest.TestCase):
    def setUp(self):
        self.stack = startStack(self, tcpEnable=True, tcpBind=BindAddress("127.0.0.1", 0))
        self.port = boundPort(self.stack, "tcp")

    @defer.inlineCallbacks
    def connect(self):
        proto = yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", self.port), StreamProtocol())
        self.addCleanup(lambda: proto.transport.loseConnection() or proto.closed)
        return proto

    @defer.inlineCallbacks
    def test_framingErrorClosesOnlyThatConnection(self):
        good = yield self.connect()
        bad = yield self.connect()
        d = bad.next()
        bad.transport.write(options("127.0.0.1", self.port, "TCP").replace(b"Content-Length: 0\r\n", b""))
        answer = yield d
        self.assertEqual(answer.status, 400)
        yield bad.closed
        d = good.next()
        good.transport.write(options("127.0.0.1", self.port, "TCP"))
        answer = yield d
        self.assertEqual(answer.status, 200)

    @defer.inlineCallbacks
    def test_keepalivePong(self):
        conn = yield self.connect()
        got = defer.Deferred()
        conn.dataReceived = lambda data: got.callback(data)
        conn.transport.write(b"\r\n\r\n")
        data = yield got
        self.assertEqual(data, b"\r\n")
