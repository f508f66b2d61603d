"""
Early media and DTMF across a bridge, end to end with SIPp on loopback:
Progress() + Playback(..., noanswer) sends a 183 with SDP and the tone
arrives before the 200; RFC 4733 digits of one leg reach a dtmfmode=info
leg as SIP INFO, and its INFO comes back as RFC 4733 events.
"""

import os
import struct

from twisted.internet import defer, reactor
from twisted.trial import unittest

from tests.e2e.media import support as media
from tests.e2e.media.support import (
    RTPPeer, decodeUlaw, dominantFrequency, dtmfPackets, sessionFor, sippMedia, waitFor)
from tests.e2e.sip_calls import support as calls
from tests.e2e.sip_calls.support import check, freePort

EXTENSIONS = """[general]
static = yes

[calls]
exten => early,1,Progress()
 same => n,Playback(tone-1khz,noanswer)
 same => n,Answer()
 same => n,Wait(5)
 same => n,Hangup()
exten => infobob,1,Dial(SIP/infobob,10)
 same => n,Hangup()
"""

INFO_PEER = """
[infobob]
type = friend
host = 127.0.0.1
port = {port}
context = calls
insecure = invite,port
dtmfmode = info
disallow = all
allow = ulaw
"""


class TimedPeer(RTPPeer):
    """An RTP peer that also notes when each packet arrived."""

    def __init__(self):
        super().__init__()
        self.arrivals = []

    def datagramReceived(self, data, addr):
        before = len(self.received)
        super().datagramReceived(data, addr)
        if len(self.received) > before:
            self.arrivals.append(reactor.seconds())


@defer.inlineCallbacks
def startPBX(testCase, infoPort):
    sipConf = calls.SIP_CONF.format(bobPort=freePort(), carolPort=freePort(),
                                    davePort=freePort()) + INFO_PEER.format(port=infoPort)
    # The call tests' configuration (tests.e2e.sip_calls.support says why)
    # plus a peer answering DTMF by SIP INFO, which the sample's phones do not use.
    pbx, port = yield calls.startPBX(testCase, extra={
        "modules.conf": media.MODULES,
        "sip.conf": sipConf,
        "extensions.conf": EXTENSIONS,
        "pbx.conf": f"[options]\nverbose = 0\n[directories]\nastsoundsdir => {media.ETC_SOUNDS}\n",
        "rtp.conf": "[general]\nrtpstart = 31000\nrtpend = 32000\nrtcpinterval = 500\n",
    })
    return pbx, port


class EarlyMediaAndDTMFTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.infoPort = freePort()
        self.pbx, self.sipPort = yield startPBX(self, self.infoPort)
        self.peer = TimedPeer()
        self.rtpPort = self.peer.listen()
        self.addCleanup(self.peer.close)

    @defer.inlineCallbacks
    def test_progressThenPlaybackNoanswerIsEarlyMedia(self):
        answeredAt = []

        def watch(event):
            fields = dict(event.fields)
            if event.name == "Newstate" and fields.get("ChannelStateDesc") == "Up":
                answeredAt.append(reactor.seconds())
        self.pbx.events.subscribe(watch)
        call = calls.sipp(os.path.join(media.SCENARIOS, "early_uac.xml"), port=self.sipPort,
                          service="early", extra=["-key", "rtpport", str(self.rtpPort)])
        result = yield call
        # SIPp checked the 183 carried SDP (an m=audio line) and came before the 200.
        check(self, result, "early media caller")
        self.assertEqual(len(answeredAt), 1)
        early = [r for r, at in zip(self.peer.received, self.peer.arrivals)
                 if at < answeredAt[0] and r[0] == 0]
        # Nearly all of the 2 s tone arrived before the answer.
        self.assertGreater(len(early), 80)
        audio = [s for r in early for s in decodeUlaw(r[5])]
        frequency, powers = dominantFrequency(audio[800:8800], (440, 800, 1000, 1200, 1500))
        self.assertEqual(frequency, 1000)
        self.assertGreater(powers[1000], 100 * powers[1200])
        yield waitFor(lambda: self.pbx.rtpEngine.openSockets == 0)

    @defer.inlineCallbacks
    def test_rfc4733InBecomesInfoOutAndBack(self):
        callee = RTPPeer()
        calleePort = callee.listen()
        self.addCleanup(callee.close)
        answering = calls.sipp(os.path.join(media.SCENARIOS, "info_uas.xml"),
                               localPort=self.infoPort,
                               extra=["-key", "rtpport", str(calleePort)])
        call = sippMedia("media_uac.xml", self.rtpPort, service="infobob", port=self.sipPort,
                         talkms=2500)
        yield waitFor(lambda: any(c.bridge is not None for c in self.pbx.channels))
        bridge = next(c.bridge for c in self.pbx.channels if c.bridge is not None)
        session = sessionFor(self.pbx, self.rtpPort)
        # Both legs are µ-law: voice is relayed natively, DTMF goes as frames.
        self.assertIsNotNone(bridge.native)
        self.assertFalse(session.relayEvents)
        target = ("127.0.0.1", session.localPort)
        voice = [bytes([0x7F]) * 160] * 5
        yield self.peer.send(target, voice + dtmfPackets(5, 160 * 5) + voice)
        # The callee got INFO Signal=5 (checked by SIPp) and pressed 7 as INFO:
        # RFC 4733 packets of event 7 reach the caller.
        yield waitFor(lambda: sum(1 for r in self.peer.received
                                  if r[0] == 101 and r[5][0] == 7 and r[5][1] & 0x80) >= 3)
        check(self, (yield call), "caller")
        check(self, (yield answering), "INFO callee")
        events = [r for r in self.peer.received if r[0] == 101]
        self.assertTrue(events[0][4])                       # marker on the first
        self.assertEqual({r[2] for r in events}, {events[0][2]})   # one timestamp
        durations = [struct.unpack("!H", r[5][2:4])[0] for r in events]
        self.assertEqual(durations, sorted(durations))
        self.assertGreaterEqual(durations[-1], 1280)        # at least Duration=160 ms
        self.assertEqual({r[5][0] for r in events}, {7})
        self.assertEqual([bool(r[5][1] & 0x80) for r in events[-3:]], [True] * 3)
        # The caller's voice reached the callee, relayed without decoding.
        self.assertTrue([r for r in callee.received if r[0] == 0 and r[5] == voice[0]])
        self.assertEqual(session.voiceFrames, 0)
        yield waitFor(lambda: self.pbx.rtpEngine.openSockets == 0)
