"""
RTP sessions on real loopback sockets read through the engine's shared
epoll reader: relay both ways, survive ICMP errors, leave the reactor clean.
"""

import socket

from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from pbxcore.media.rtp import RTPPacket, parseRTP
from pbxcore.media.rtpsession import RTPEngine, RTPSettings


def _phone():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


@defer.inlineCallbacks
def _receive(sock, count, timeout=5.0):
    """Up to C{count} datagrams from C{sock}, polling the reactor meanwhile."""
    got = []
    waited = 0.0
    while len(got) < count and waited < timeout:
        try:
            got.append(sock.recv(2048))
            continue
        except BlockingIOError:
            pass
        yield task.deferLater(reactor, 0.01, lambda: None)
        waited += 0.01
    return got


class SharedReaderTests(TestCase):

    def setUp(self):
        self.engine = RTPEngine(RTPSettings(rtpstart=33000, rtpend=33400, rtcpinterval=0),
                                reactor=reactor)
        self.phones = []

    def phone(self):
        s = _phone()
        self.addCleanup(s.close)
        return s

    def call(self):
        a = self.engine.createSession(symmetric=True)
        b = self.engine.createSession(symmetric=True)
        for rtp in (a, b):
            rtp.start("127.0.0.1")
            self.addCleanup(rtp.close)
        a.relayTo(b)
        b.relayTo(a)
        return a, b

    @defer.inlineCallbacks
    def test_relayBothWaysThroughOneReader(self):
        self.assertIsNotNone(self.engine.reader)
        a, b = self.call()
        self.assertIn(self.engine.reader, reactor.getReaders())
        # The RTP sockets are not readers of their own any more.
        self.assertNotIn(a._ports[0], reactor.getReaders())
        alice, bob = self.phone(), self.phone()
        for seq in range(1, 6):
            alice.sendto(RTPPacket(0, seq, 160 * seq, 11, b"\x01" * 160).toBytes(),
                         ("127.0.0.1", a.localPort))
            bob.sendto(RTPPacket(0, seq, 160 * seq, 22, b"\x02" * 160).toBytes(),
                       ("127.0.0.1", b.localPort))
        toBob = yield _receive(bob, 4)
        toAlice = yield _receive(alice, 4)
        # Bob's first packet only taught the relay where Bob is, so at
        # least four of Alice's five reach him (and the other way round).
        self.assertGreaterEqual(len(toBob), 4)
        self.assertGreaterEqual(len(toAlice), 4)
        self.assertEqual({parseRTP(d).ssrc for d in toBob}, {b.outgoing.ssrc})
        self.assertEqual({parseRTP(d).payload for d in toAlice}, {b"\x02" * 160})
        self.assertEqual(a.incoming.received, 4)        # the first is held on probation

    @defer.inlineCallbacks
    def test_icmpErrorsDoNotStopReading(self):
        a, b = self.call()
        alice = self.phone()
        gone = _phone()
        gonePort = gone.getsockname()[1]
        gone.close()
        b.symmetric = False
        b.setRemote(("127.0.0.1", gonePort))        # nobody there: ICMP port unreachable
        for seq in range(1, 4):
            alice.sendto(RTPPacket(0, seq, 160 * seq, 11, b"\x01" * 160).toBytes(),
                         ("127.0.0.1", a.localPort))
        yield task.deferLater(reactor, 0.1, lambda: None)
        self.assertEqual(b.sent, 3)
        # The refusals queued on b's socket are read and passed over; b still relays.
        sender = self.phone()
        for seq in range(1, 4):
            sender.sendto(RTPPacket(0, seq, 160 * seq, 33, b"\x03" * 160).toBytes(),
                          ("127.0.0.1", b.localPort))
        got = yield _receive(alice, 3)
        self.assertEqual(len(got), 3)
        self.assertFlushedNothing()

    def assertFlushedNothing(self):
        self.assertEqual(self.flushLoggedErrors(), [])

    @defer.inlineCallbacks
    def test_lastCloseRemovesTheReader(self):
        a, b = self.call()
        reader = self.engine.reader
        yield a.close()
        self.assertIn(reader, reactor.getReaders())
        yield b.close()
        self.assertNotIn(reader, reactor.getReaders())
        # And it comes back for the next call.
        self.call()
        self.assertIn(reader, reactor.getReaders())

    @defer.inlineCallbacks
    def test_closingEverythingFromAHandler(self):
        """A frame handler that closes the last sessions mid-round ends the round cleanly."""
        a, b = self.call()
        a.relayTo(None)
        closed = []

        def onFrame(frame):
            if not closed:
                closed.append(frame)
                a.close()
                b.close()
        a.onFrame = onFrame
        reader = self.engine.reader
        alice, bob = self.phone(), self.phone()
        for seq in range(1, 4):
            alice.sendto(RTPPacket(0, seq, 160 * seq, 11, b"\x01" * 160).toBytes(),
                         ("127.0.0.1", a.localPort))
            bob.sendto(RTPPacket(0, seq, 160 * seq, 22, b"\x02" * 160).toBytes(),
                       ("127.0.0.1", b.localPort))
        for _ in range(100):
            if closed:
                break
            yield task.deferLater(reactor, 0.01, lambda: None)
        yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(len(closed), 1)
        self.assertNotIn(reader, reactor.getReaders())
        self.assertEqual(self.flushLoggedErrors(), [])

    @defer.inlineCallbacks
    def test_busyRTCPPortMovesToTheNextPair(self):
        first = self.engine._next
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(blocker.close)
        try:
            blocker.bind(("127.0.0.1", first + 1))
        except OSError:
            self.fail(f"port {first + 1} is in use already; rerun")
        rtp = self.engine.createSession()
        port = rtp.start("127.0.0.1")
        self.addCleanup(rtp.close)
        self.assertNotEqual(port, first)
        # The session still receives on the pair it got.
        phone = self.phone()
        phone.sendto(RTPPacket(0, 1, 0, 5, b"\xff" * 160).toBytes(), ("127.0.0.1", port))
        for _ in range(100):
            if rtp.received:
                break
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(rtp.received, 1)


class PerSocketReaderTests(SharedReaderTests):
    """The same behaviour with every RTP socket its own reactor reader."""

    def setUp(self):
        self.engine = RTPEngine(RTPSettings(rtpstart=33400, rtpend=33800, rtcpinterval=0),
                                reactor=reactor, sharedReader=False)

    def test_relayBothWaysThroughOneReader(self):
        self.assertIsNone(self.engine.reader)
        a, b = self.call()
        self.assertIn(a._ports[0], reactor.getReaders())

    def test_lastCloseRemovesTheReader(self):
        a, b = self.call()
        self.assertIn(b._ports[0], reactor.getReaders())

    def test_closingEverythingFromAHandler(self):
        self.assertIsNone(self.engine.reader)
