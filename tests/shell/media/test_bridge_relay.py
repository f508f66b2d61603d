"""
The core Bridge links two RTP legs natively (packet by packet, no decoding,
same reactor turn) when they send one format, and falls back to frames
when they differ, on hold, or when the bridge ends.
"""

import struct

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from pbxcore.bridge import Bridge
from pbxcore.channel import Channel
from pbxcore.frame import ChannelState, Control, FrameKind
from pbxcore.media import g711
from pbxcore.media.rtp import RTPPacket, parseRTP
from pbxcore.media.rtpsession import RTPEngine, RTPSettings
from pbxcore.testing import FakePBX
from tests.shell.media.fakes import UDPClock

FAR_A = ("10.0.0.2", 4000)
FAR_B = ("10.0.0.3", 6000)


def packet(seq, pt=0, payload=b"\xff" * 160, ssrc=77, marker=False, ts=None):
    return RTPPacket(pt, seq, 160 * seq if ts is None else ts, ssrc, payload, marker).toBytes()


def eventBody(event, end, duration):
    return struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)


class RTPDriver:
    """A channel driver whose media is one RTP session (what chan_sip exposes)."""

    def __init__(self, rtp, dtmfMode="rfc2833"):
        self.rtp = rtp
        self.dtmfMode = dtmfMode
        self.digits = []

    def rtpSession(self, channel):
        return self.rtp

    def writeFrame(self, channel, frame):
        self.rtp.writeFrame(frame)

    def sendDigitBegin(self, channel, digit):
        self.digits.append(("begin", digit))
        if self.dtmfMode == "rfc2833":
            self.rtp.sendDigitBegin(digit)

    def sendDigitEnd(self, channel, digit, durationMs):
        self.digits.append(("end", digit, durationMs))
        if self.dtmfMode == "rfc2833":
            self.rtp.sendDigitEnd(digit, durationMs)

    def indicate(self, channel, control, data=None):
        pass

    def hangup(self, channel, cause):
        pass


class BridgeRelayTests(TestCase):

    def setUp(self):
        self.clock = UDPClock()
        self.pbx = FakePBX(reactor=self.clock)
        self.engine = RTPEngine(RTPSettings(rtpstart=30000, rtpend=30100, rtcpinterval=0),
                                reactor=self.clock)

    def leg(self, name, fmt="ulaw", pt=0, far=FAR_A, dtmfMode="rfc2833", dtmf=101):
        rtp = self.engine.createSession()
        rtp.start("127.0.0.1")
        self.addCleanup(rtp.close)
        rtp.setPayloads({pt: fmt, 101: "telephone-event"}, send=(pt, fmt), dtmf=dtmf)
        rtp.setRemote(far)
        driver = RTPDriver(rtp, dtmfMode)
        channel = Channel(self.pbx, f"Test/{name}", driver=driver, state=ChannelState.UP)
        rtp.attach(channel)
        return channel, rtp

    def sent(self, rtp):
        return [parseRTP(data) for data, _ in self.clock.ports[rtp.localPort].written]

    def bridge(self, first, second):
        bridge = Bridge(self.pbx)
        d = defer.Deferred.fromCoroutine(bridge.run(first, second))
        return bridge, d

    def test_sameFormatRelaysWithoutDecodingInTheSameTurn(self):
        ca, a = self.leg("a")
        cb, b = self.leg("b", far=FAR_B)
        bridge, done = self.bridge(ca, cb)
        self.assertEqual(bridge.native, (a, b))
        payload = bytes(range(160))
        a.rtpDatagram(packet(1, payload=payload), FAR_A)
        # No clock advance, no reactor turn: already on the wire of leg b.
        (out,) = self.sent(b)
        self.assertEqual(out.payload, payload)
        self.assertEqual(out.ssrc, b.outgoing.ssrc)
        self.assertNotEqual(out.ssrc, 77)
        self.assertEqual((a.voiceFrames, b.transcoded, a.transcoded), (0, 0, 0))
        self.assertEqual(ca.pendingFrames(), 0)
        # And the other way, renumbered for leg a.
        b.rtpDatagram(packet(5, payload=b"\x01" * 160, ssrc=99), FAR_B)
        b.rtpDatagram(packet(6, payload=b"\x02" * 160, ssrc=99), FAR_B)
        back = self.sent(a)
        self.assertEqual([p.payload for p in back], [b"\x01" * 160, b"\x02" * 160])
        self.assertEqual(back[1].sequence, (back[0].sequence + 1) & 0xFFFF)
        self.assertEqual(back[1].timestamp - back[0].timestamp, 160)
        ca.hungUp()
        self.assertIs(self.successResultOf(done), ca)
        # The link is undone with the bridge: packets become frames again.
        self.assertIsNone(a.relayTarget)
        self.assertIsNone(b.relayTarget)
        self.assertEqual((a.observers, b.observers), ([], []))
        b.rtpDatagram(packet(7, ssrc=99), FAR_B)
        self.assertEqual(b.voiceFrames, 1)
        self.assertEqual(len(self.sent(a)), 2)

    def test_differentFormatsGoThroughFramesTranscoded(self):
        ca, a = self.leg("a")
        cb, b = self.leg("b", fmt="alaw", pt=8, far=FAR_B)
        bridge, done = self.bridge(ca, cb)
        self.assertIsNone(bridge.native)
        self.assertIsNone(a.relayTarget)
        payload = bytes(range(160))
        a.rtpDatagram(packet(1, payload=payload), FAR_A)
        (out,) = self.sent(b)
        self.assertEqual((out.payloadType, out.payload), (8, g711.ulawToAlaw(payload)))
        self.assertEqual((a.voiceFrames, b.transcoded), (1, 1))
        cb.hungUp()
        self.assertIs(self.successResultOf(done), cb)

    def test_holdAndFormatChangesDropBackToFramesAndRelink(self):
        ca, a = self.leg("a")
        cb, b = self.leg("b", far=FAR_B)
        bridge, done = self.bridge(ca, cb)
        self.assertEqual(bridge.native, (a, b))
        b.setHold(True)                       # a re-INVITE puts leg b on hold
        self.assertIsNone(bridge.native)
        self.assertIsNone(a.relayTarget)
        a.rtpDatagram(packet(1), FAR_A)
        self.assertEqual(a.voiceFrames, 1)    # carried as a frame now
        b.setHold(False)
        self.assertEqual(bridge.native, (a, b))
        a.rtpDatagram(packet(2), FAR_A)
        self.assertEqual(a.voiceFrames, 1)
        b.setPayloads({8: "alaw"}, send=(8, "alaw"), dtmf=101)   # re-INVITE to A-law
        self.assertIsNone(bridge.native)
        a.rtpDatagram(packet(3), FAR_A)
        self.assertEqual((a.voiceFrames, b.transcoded), (2, 1))
        b.setPayloads({0: "ulaw"}, send=(0, "ulaw"), dtmf=101)
        self.assertEqual(bridge.native, (a, b))
        # A hold control read by the bridge also re-checks (and is passed on).
        ca.controlReceived(Control.HOLD)
        self.assertEqual(bridge.native, (a, b))
        ca.hungUp()
        self.successResultOf(done)

    def test_closedSessionEndsTheLink(self):
        ca, a = self.leg("a")
        cb, b = self.leg("b", far=FAR_B)
        bridge, done = self.bridge(ca, cb)
        b.close()
        self.assertIsNone(bridge.native)
        self.assertIsNone(a.relayTarget)
        ca.hungUp()
        self.successResultOf(done)

    def test_dtmfPassesAsEventsBetweenRFC4733Legs(self):
        ca, a = self.leg("a")
        cb, b = self.leg("b", far=FAR_B)
        bridge, done = self.bridge(ca, cb)
        for i, (end, duration) in enumerate([(False, 0), (False, 400), (True, 800), (True, 800)]):
            a.rtpDatagram(packet(10 + i, pt=101, payload=eventBody(5, end, duration),
                                 marker=i == 0, ts=8000), FAR_A)
        events = [p for p in self.sent(b) if p.payloadType == 101]
        self.assertEqual([p.payload for p in events],
                         [eventBody(5, e, d) for e, d in [(False, 0), (False, 400), (True, 800),
                                                          (True, 800)]])
        self.assertTrue(events[0].marker)
        self.assertEqual(len({p.timestamp for p in events}), 1)
        self.assertEqual(cb.driver.digits, [])
        ca.hungUp()
        self.successResultOf(done)

    def test_dtmfToAnInfoLegPassesAsFrames(self):
        ca, a = self.leg("a")
        cb, b = self.leg("b", far=FAR_B, dtmfMode="info")
        bridge, done = self.bridge(ca, cb)
        self.assertEqual(bridge.native, (a, b))     # voice still relayed natively
        for i, (end, duration) in enumerate([(False, 0), (False, 400), (True, 960), (True, 960)]):
            a.rtpDatagram(packet(10 + i, pt=101, payload=eventBody(11, end, duration),
                                 marker=i == 0, ts=8000), FAR_A)
        self.assertEqual(cb.driver.digits, [("begin", "#"), ("end", "#", 120)])
        self.assertEqual([p for p in self.sent(b) if p.payloadType == 101], [])
        a.rtpDatagram(packet(20), FAR_A)
        self.assertEqual(a.voiceFrames, 0)
        ca.hungUp()
        self.successResultOf(done)
