"""
The same-codec relay patches the received datagram's header: what goes out
must be exactly what the packet-object path sends for the same input.
"""

import itertools
import struct

from twisted.trial.unittest import TestCase

from pbxcore.media.rtp import RTPPacket, parseRTP
from pbxcore.media.rtpsession import RTPEngine, RTPSettings
from tests.shell.media.fakes import UDPClock

PHONE = ("10.0.0.3", 6000)
FAR = ("10.0.0.2", 4000)


def _datagrams(csrcs=()):
    """A talk spurt, a marked spurt after silence, a new source, a sequence wrap."""
    out = []
    for i in range(5):
        out.append((0.02 * i, RTPPacket(0, 65533 + i, 1000 + 160 * i, 77, bytes([i]) * 160,
                                        i == 0, csrcs)))
    for i in range(3):
        out.append((0.5 + 0.02 * i, RTPPacket(0, (65538 + i) & 0xFFFF, 9000 + 160 * i, 77,
                                              b"\x10" * 160, i == 0, csrcs)))
    for i in range(3):
        out.append((0.6 + 0.02 * i, RTPPacket(0, 10 + i, 5 + 160 * i, 1234, b"\x20" * 160,
                                              False, csrcs)))
    return [(when, p.toBytes()) for when, p in out]


class FastPathTests(TestCase):

    def relay(self, csrcs):
        clock = UDPClock()
        counter = itertools.count(1)
        engine = RTPEngine(RTPSettings(rtpstart=20000, rtpend=20010, rtcpinterval=0),
                           reactor=clock, randbits=lambda bits: next(counter))
        a = engine.createSession()
        b = engine.createSession()
        for rtp in (a, b):
            rtp.start("127.0.0.1")
            self.addCleanup(rtp.close)
        a.setPayloads({0: "ulaw"}, send=(0, "ulaw"))
        b.setPayloads({96: "ulaw"}, send=(96, "ulaw"))   # the other leg's number for PCMU
        b.setRemote(FAR)
        a.relayTo(b)
        for when, data in _datagrams(csrcs):
            clock.advance(when - clock.seconds())
            a.rtpDatagram(data, PHONE)
        return clock.ports[b.localPort].written, a, b

    def test_sameBytesAsThePacketPath(self):
        # CSRCs send a packet down the general parser; the plain ones take
        # the header-patching path. Apart from the dropped CSRC list, the
        # two must agree byte for byte, and in every counter.
        fast, a1, b1 = self.relay(())
        slow, a2, b2 = self.relay((5,))
        self.assertEqual(fast, slow)
        for one, two in ((a1, a2), (b1, b2)):
            stats1, stats2 = one.stats(), two.stats()
            del stats1["localPort"], stats2["localPort"]
            self.assertEqual(stats1, stats2)

    def test_headerRewritten(self):
        written, a, b = self.relay(())
        sent = [parseRTP(data) for data, addr in written]
        self.assertEqual({addr for _, addr in written}, {FAR})
        # Probation holds back nothing: every packet of the known format goes.
        self.assertEqual(len(sent), 11)
        self.assertEqual({p.payloadType for p in sent}, {96})
        self.assertEqual({p.ssrc for p in sent}, {b.outgoing.ssrc})
        sequences = [p.sequence for p in sent]
        self.assertEqual(sequences, [(sequences[0] + i) & 0xFFFF for i in range(11)])
        # Marked: the first packet, the new talk spurt, the new source.
        self.assertEqual([i for i, p in enumerate(sent) if p.marker], [0, 5, 8])
        # Inside a spurt the incoming spacing is kept.
        self.assertEqual([sent[i + 1].timestamp - sent[i].timestamp for i in range(4)],
                         [160] * 4)
        self.assertEqual(sent[3].payload, b"\x03" * 160)
        self.assertEqual(b.sent, 11)
        self.assertEqual(b.outgoing.octets, 11 * 160)

    def test_notSendingStillNumbers(self):
        clock = UDPClock()
        engine = RTPEngine(RTPSettings(rtpstart=20000, rtpend=20010, rtcpinterval=0),
                           reactor=clock)
        a, b = engine.createSession(), engine.createSession()
        for rtp in (a, b):
            rtp.start("127.0.0.1")
            self.addCleanup(rtp.close)
        b.setRemote(FAR)
        a.relayTo(b)
        b.sending = False
        for seq in range(1, 4):
            a.rtpDatagram(RTPPacket(0, seq, 160 * seq, 8, b"\xff" * 160).toBytes(), PHONE)
        self.assertEqual(clock.ports[b.localPort].written, [])
        b.sending = True
        a.rtpDatagram(RTPPacket(0, 4, 640, 8, b"\xff" * 160).toBytes(), PHONE)
        (data, _), = clock.ports[b.localPort].written
        self.assertEqual(struct.unpack_from("!H", data, 2)[0],
                         (b.outgoing.sequence) & 0xFFFF)
        self.assertEqual(b.outgoing.packets, 4)

    def test_shortOrForeignDatagramsDropped(self):
        written, a, b = self.relay(())
        before = (a.dropped, len(written))
        a.rtpDatagram(b"\x80\x00\x00\x01", PHONE)                       # short
        a.rtpDatagram(b"\x40" + bytes(171), PHONE)                      # version 1
        a.rtpDatagram(RTPPacket(0, 100, 0, 77).toBytes(), PHONE)        # header only
        self.assertEqual(a.dropped, before[0] + 3)
        self.assertEqual(len(written), before[1])

    def test_bindRetriesAfterABusyRTCPPort(self):
        clock = UDPClock()
        engine = RTPEngine(RTPSettings(rtpstart=20000, rtpend=20010), reactor=clock)
        first = engine._next
        clock.busy.add(first + 1)            # the RTP port binds, its RTCP neighbour not
        rtp = engine.createSession()
        port = rtp.start("127.0.0.1")
        self.addCleanup(rtp.close)
        self.assertNotEqual(port, first)
        self.assertNotIn(first, clock.ports)
        self.assertIs(clock.ports[port].protocol, rtp.rtpProtocol)
        rtp.rtpProtocol.datagramReceived(RTPPacket(0, 1, 0, 3, b"\xff").toBytes(), PHONE)
        self.assertEqual(rtp.received, 1)
