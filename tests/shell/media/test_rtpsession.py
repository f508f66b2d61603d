"""RTP sessions on a Clock with fake UDP ports."""

import struct

from twisted.trial.unittest import TestCase

from pbxcore.frame import FrameKind, HangupCause, dtmfFrame, voiceFrame
from pbxcore.media import g711, rtcp
from pbxcore.media.dtmf import parseEvent
from pbxcore.media.rtp import RTPPacket, parseRTP
from pbxcore.media.rtpsession import PortRangeExhausted, RTPEngine, RTPSettings
from tests.shell.media.fakes import UDPClock

FAR = ("10.0.0.2", 4000)


def packet(seq, ts=None, pt=0, payload=b"\xff" * 160, ssrc=77, marker=False):
    return RTPPacket(pt, seq, 160 * seq if ts is None else ts, ssrc, payload, marker).toBytes()


class SessionTests(TestCase):

    def setUp(self):
        self.clock = UDPClock()
        self.engine = RTPEngine(RTPSettings(rtpstart=20000, rtpend=20010, rtcpinterval=5000),
                                reactor=self.clock)
        self.frames = []
        self.timeouts = []

    def session(self, **kw):
        rtp = self.engine.createSession(onFrame=self.frames.append,
                                        onTimeout=self.timeouts.append, **kw)
        rtp.start("127.0.0.1")
        self.addCleanup(rtp.close)
        return rtp

    def sentRTP(self, rtp):
        return [parseRTP(data) for data, addr in self.clock.ports[rtp.localPort].written]

    def test_portPairsFromTheRangeAndReleased(self):
        self.clock.busy.add(self.engine._next)      # the first candidate is taken
        sessions = [self.session() for _ in range(4)]
        for rtp in sessions:
            self.assertEqual(rtp.localPort % 2, 0)
            self.assertEqual(rtp.localRtcpPort, rtp.localPort + 1)
            self.assertTrue(20000 <= rtp.localPort < 20010)
        self.assertEqual(len({r.localPort for r in sessions}), 4)
        self.assertEqual(self.engine.openSockets, 8)
        # Range full (5 pairs, one busy).
        self.assertRaises(PortRangeExhausted, self.engine.createSession().start, "127.0.0.1")
        for rtp in sessions:
            rtp.close()
        self.assertEqual(self.engine.openSockets, 0)
        self.assertEqual(self.clock.ports, {})

    def test_voiceFramesAndTranscoding(self):
        rtp = self.session()
        rtp.setPayloads({8: "alaw"}, send=(8, "alaw"))
        rtp.setRemote(FAR)
        rtp.writeFrame(voiceFrame("ulaw", b"\x80" * 320))        # 40 ms: two packets
        sent = self.sentRTP(rtp)
        self.assertEqual([p.payloadType for p in sent], [8, 8])
        self.assertEqual(sent[0].payload, g711.ulawToAlaw(b"\x80" * 160))
        self.assertEqual(sent[1].sequence, (sent[0].sequence + 1) & 0xFFFF)
        self.assertEqual(sent[1].timestamp - sent[0].timestamp, 160)
        self.assertTrue(sent[0].marker)
        rtp.rtpDatagram(packet(1, pt=8, payload=b"\xd5" * 160), FAR)
        rtp.rtpDatagram(packet(2, pt=0), FAR)              # not negotiated: dropped
        self.assertEqual([(f.kind, f.subclass, f.samples) for f in self.frames],
                         [(FrameKind.VOICE, "alaw", 160)])
        self.assertEqual(rtp.stats()["rxDropped"], 1)

    def test_comedia(self):
        rtp = self.session(symmetric=True)
        rtp.setRemote(("192.168.1.10", 5000))               # the address in the SDP
        rtp.rtpDatagram(packet(1), ("203.0.113.9", 40000))  # where it really comes from
        rtp.writeFrame(voiceFrame("ulaw", b"\xff" * 160))
        self.assertEqual(self.clock.ports[rtp.localPort].written[-1][1], ("203.0.113.9", 40000))
        self.assertEqual(rtp.remoteRtcp, ("203.0.113.9", 40001))

    def test_withoutComediaTheSDPAddressIsKept(self):
        rtp = self.session()
        rtp.setRemote(("192.168.1.10", 5000))
        rtp.rtpDatagram(packet(1), ("203.0.113.9", 40000))
        rtp.writeFrame(voiceFrame("ulaw", b"\xff" * 160))
        self.assertEqual(self.clock.ports[rtp.localPort].written[-1][1], ("192.168.1.10", 5000))

    def test_rtpTimeoutAndHoldTimeout(self):
        rtp = self.session(rtptimeout=3, rtpholdtimeout=10)
        self.clock.advance(2)
        rtp.rtpDatagram(packet(1), FAR)
        self.clock.advance(2.9)
        self.assertEqual(self.timeouts, [])
        rtp.setHold(True)
        self.clock.advance(9)
        self.assertEqual(self.timeouts, [])
        self.clock.advance(1)
        self.assertEqual(self.timeouts, [HangupCause.REQUESTED_CHAN_UNAVAIL])
        self.clock.advance(60)
        self.assertEqual(len(self.timeouts), 1)

    def test_noTimeoutWhileMediaFlows(self):
        rtp = self.session(rtptimeout=1)
        for seq in range(200):
            self.clock.advance(0.02)
            rtp.rtpDatagram(packet(seq), FAR)
        self.assertEqual(self.timeouts, [])

    def test_receivedDTMFOnce(self):
        rtp = self.session()
        rtp.setPayloads({0: "ulaw", 101: "telephone-event"}, send=(0, "ulaw"), dtmf=101)
        events = [(0, False, 0), (0, False, 400), (0, True, 800), (0, True, 800), (0, True, 800)]
        for i, (event, end, duration) in enumerate(events):
            body = struct.pack("!BBH", 4, (0x80 if end else 0) | 10, duration)
            rtp.rtpDatagram(packet(10 + i, ts=8000, pt=101, payload=body, marker=i == 0), FAR)
        self.assertEqual([(f.kind, f.subclass, f.durationMs) for f in self.frames],
                         [(FrameKind.DTMF_BEGIN, "4", 0), (FrameKind.DTMF_END, "4", 100)])

    def test_sentDTMFHasGrowingDurationAndThreeEnds(self):
        rtp = self.session()
        rtp.setPayloads({0: "ulaw", 101: "telephone-event"}, send=(0, "ulaw"), dtmf=101)
        rtp.setRemote(FAR)
        rtp.writeFrame(voiceFrame("ulaw", b"\xff" * 160))
        self.clock.advance(0.02)
        rtp.writeFrame(dtmfFrame("7", end=False))
        self.clock.pump([0.01] * 10)
        rtp.writeFrame(dtmfFrame("7", end=True, durationMs=250))
        self.clock.pump([0.01] * 30)
        sent = self.sentRTP(rtp)
        events = [p for p in sent if p.payloadType == 101]
        parsed = [parseEvent(p.payload) for p in events]
        self.assertTrue(events[0].marker)
        self.assertFalse(any(p.marker for p in events[1:]))
        self.assertEqual({p.timestamp for p in events}, {sent[0].timestamp + 160})
        durations = [e.duration for e in parsed]
        self.assertEqual(durations, sorted(durations))
        self.assertEqual([e.end for e in parsed[-3:]], [True] * 3)
        self.assertEqual(parsed[-1].duration, 2000)
        self.assertFalse(any(e.end for e in parsed[:-3]))
        seqs = [p.sequence for p in sent]
        self.assertEqual(seqs, [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))])

    def test_rtcpReportsAtTheInterval(self):
        rtp = self.session()
        rtp.setRemote(FAR)
        for seq in range(1, 300):
            self.clock.advance(0.02)
            rtp.rtpDatagram(packet(seq if seq != 100 else 5000), FAR)   # one odd packet
            rtp.writeFrame(voiceFrame("ulaw", b"\xff" * 160))
        reports = [rtcp.parseCompound(d) for d, a in self.clock.ports[rtp.localRtcpPort].written]
        self.assertGreaterEqual(len(reports), 1)
        self.assertLessEqual(len(reports), 3)
        sr = reports[-1][0]
        self.assertIsInstance(sr, rtcp.SenderReport)
        self.assertEqual(sr.ssrc, rtp.outgoing.ssrc)
        (block,) = sr.reports
        self.assertEqual(block.ssrc, 77)
        self.assertEqual(self.clock.ports[rtp.localRtcpPort].written[-1][1], ("10.0.0.2", 4001))
        self.assertEqual(reports[-1][1].cnames, {rtp.outgoing.ssrc: rtp.cname})
        # The far end's report about us lands in the stats.
        rr = rtcp.ReceiverReport(77, (rtcp.ReportBlock(rtp.outgoing.ssrc, 3, 12, 100, 40),))
        rtp.rtcpDatagram(rtcp.buildCompound([rr]), ("10.0.0.2", 4001))
        self.assertEqual(rtp.stats()["txLostReported"], 12)
        port = self.clock.ports[rtp.localRtcpPort]
        rtp.close()
        last = rtcp.parseCompound(port.written[-1][0])
        self.assertEqual(last[-1], rtcp.Goodbye((rtp.outgoing.ssrc,)))
        self.assertFalse(port.open)

    def test_relaySameTurnWithoutDecoding(self):
        a = self.session()
        b = self.session()
        a.setPayloads({0: "ulaw"}, send=(0, "ulaw"))
        b.setPayloads({0: "ulaw"}, send=(0, "ulaw"))
        b.setRemote(FAR)
        a.relayTo(b)
        payload = bytes(range(160))
        a.rtpDatagram(packet(1, payload=payload), ("10.0.0.3", 6000))
        # Forwarded at once: no reactor turn needed.
        out = self.sentRTP(b)
        self.assertEqual(len(out), 1)
        self.assertEqual(out[0].payload, payload)
        self.assertEqual(out[0].ssrc, b.outgoing.ssrc)
        self.assertEqual(self.frames, [])

    def test_relayTranscodes(self):
        a = self.session()
        b = self.session()
        a.setPayloads({0: "ulaw"}, send=(0, "ulaw"))
        b.setPayloads({8: "alaw"}, send=(8, "alaw"))
        b.setRemote(FAR)
        a.relayTo(b)
        payload = bytes(range(160))
        a.rtpDatagram(packet(1, payload=payload), ("10.0.0.3", 6000))
        (out,) = self.sentRTP(b)
        self.assertEqual((out.payloadType, out.payload), (8, g711.ulawToAlaw(payload)))


class SparePairTests(TestCase):
    """The PBX's engine keeps released socket pairs and hands them out again."""

    def setUp(self):
        self.clock = UDPClock()
        self.engine = RTPEngine(RTPSettings(rtpstart=20000, rtpend=20010, rtcpinterval=0),
                                reactor=self.clock, spare=2)
        self.frames = []

    def session(self, interface="127.0.0.1"):
        rtp = self.engine.createSession(onFrame=self.frames.append)
        rtp.start(interface)
        self.addCleanup(rtp.close)
        return rtp

    def test_releasedPairRestsThenServesTheNextSession(self):
        first = self.session()
        ports = dict(self.clock.ports)
        first.close()
        # Still bound, in the pool, muted: a late packet reaches no session.
        self.assertEqual(self.clock.ports, ports)
        self.assertEqual((self.engine.spareCount, self.engine.openSockets), (1, 0))
        self.clock.ports[first.localPort].protocol.datagramReceived(packet(1), FAR)
        self.assertEqual(first.received, 0)
        # Too fresh: a new pair is bound.
        second = self.session()
        self.assertNotEqual(second.localPort, first.localPort)
        self.assertEqual(self.engine.spareCount, 1)
        # Rested: the next session gets the pooled pair, and its packets.
        self.clock.advance(self.engine.reuseAfter)
        third = self.session()
        self.assertEqual((third.localPort, third.localRtcpPort),
                         (first.localPort, first.localRtcpPort))
        self.assertEqual(self.engine.spareCount, 0)
        self.assertIs(self.clock.ports[third.localPort].protocol, third.rtpProtocol)
        third.rtpProtocol.datagramReceived(packet(1), FAR)
        self.assertEqual((third.received, [f.kind for f in self.frames]), (1, [FrameKind.VOICE]))

    def test_poolIsBoundedAndClosedOnRequest(self):
        sessions = [self.session() for _ in range(3)]
        for rtp in sessions:
            rtp.close()
        # Two pairs pooled, the third closed.
        self.assertEqual(self.engine.spareCount, 2)
        self.assertEqual(len(self.clock.ports), 4)
        self.engine.closeSpare()
        self.assertEqual((self.engine.spareCount, self.clock.ports), (0, {}))

    def test_otherInterfaceOrReloadClosesPooledPairs(self):
        self.session().close()
        self.clock.advance(self.engine.reuseAfter)
        rtp = self.session("0.0.0.0")
        self.assertEqual(self.engine.spareCount, 0)
        self.assertEqual(set(self.clock.ports), {rtp.localPort, rtp.localRtcpPort})
        rtp.close()
        self.assertEqual(self.engine.spareCount, 1)
        self.engine.reconfigure(RTPSettings(rtpstart=20000, rtpend=20010, rtcpinterval=0))
        self.assertEqual((self.engine.spareCount, self.clock.ports), (0, {}))

    def test_noPoolByDefault(self):
        engine = RTPEngine(RTPSettings(rtpstart=20000, rtpend=20010), reactor=self.clock)
        rtp = engine.createSession()
        rtp.start("127.0.0.1")
        rtp.close()
        self.assertEqual((engine.spareCount, self.clock.ports), (0, {}))
