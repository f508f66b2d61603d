"""
A voicemail round trip over real RTP: SIPp sets up two real SIP calls to a
PBX on loopback whose media goes to an RTP socket of the test. The first
call leaves a message with a tone after the beep and ends it with an
RFC 4733 '#'; the second logs into VoiceMailMain with the PIN in RFC 4733
events, presses 1, and the test decodes the G.711 it receives and finds the
tone with a Goertzel filter; 7 then deletes the message.
"""

import array
import os

from twisted.internet import defer
from twisted.trial import unittest

from tests.e2e.media.support import (
    ETC_SOUNDS, RTPPeer, decodeUlaw, dtmfPackets, goertzel, sessionFor, sippMedia, ulawTone,
    waitFor)
from tests.e2e.sip_calls import support as calls
from tests.e2e.sip_calls.support import check

#: The message's tone: far from the beep (1000 Hz), the DTMF pairs of the
#: digit prompts (697-1477 Hz) and the melodies of the sample sounds.
TONE = 1800
OTHERS = (440, 697, 941, 1000, 1209, 1336, 1477)
#: One analysis window: 50 ms at 8 kHz.
WINDOW = 400

MODULES = calls.MODULES + """load => app_playback
load => app_voicemail
"""

EXTENSIONS = """[general]
static = yes

[calls]
exten => vm,1,VoiceMail(1001@default,u)
 same => n,Set(GLOBAL(VMRESULT)=${VMSTATUS})
 same => n,Wait(30)
exten => vmmain,1,VoiceMailMain(1001@default)
 same => n,Set(GLOBAL(VMMAINBOX)=${VMMAILBOX})
 same => n,Wait(30)
"""

VOICEMAIL = """[general]
format = wav
minsecs = 1
maxsecs = 20
maxsilence = 10
[default]
1001 => 1234,Watcher
"""

SILENCE = b"\xff" * 160


def timeline(steps, start=0):
    """
    RTP items for L{RTPPeer.send} with continuous timestamps from C{start}:
    each step is a list of µ-law payloads or a DTMF key ('0'-'9', '*', '#').
    Returns (items, next timestamp).
    """
    events = {"*": 10, "#": 11}
    items = []
    timestamp = start
    for step in steps:
        if isinstance(step, str):
            packets = dtmfPackets(events[step] if step in events else int(step), timestamp)
            items += packets
            timestamp += 160 * len(packets)
        else:
            for payload in step:
                items.append((0, payload, False, timestamp))
                timestamp += 160
    return items, timestamp


def toneWindows(samples):
    """For each 50 ms window: whether the tone dominates it and is loud."""
    flags = []
    for offset in range(0, len(samples) - WINDOW + 1, WINDOW):
        window = samples[offset:offset + WINDOW]
        power = goertzel(window, TONE)
        loudest = max(goertzel(window, f) for f in OTHERS)
        energy = sum(x * x for x in window)
        # a pure sine's Goertzel power is about energy * N / 2
        flags.append(power > 50 * loudest and power > 0.2 * energy * WINDOW / 2
                     and energy > WINDOW * 1000 ** 2)
    return flags


def longestRun(flags):
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def heard(peer, since=0):
    """The µ-law audio the PBX sent to the test, decoded, from packet C{since} on."""
    return [s for r in peer.received[since:] if r[0] == 0 for s in decodeUlaw(r[5])]


class VoicemailOverRTPTests(unittest.TestCase):
    timeout = 90

    @defer.inlineCallbacks
    def setUp(self):
        base = self.mktemp()
        os.makedirs(base)
        self.spool = os.path.abspath(os.path.join(base, "spool"))
        # The call tests' configuration (tests.e2e.sip_calls.support says why)
        # with a spool folder of the test's own and short voicemail limits.
        self.pbx, self.sipPort = yield calls.startPBX(self, extra={
            "modules.conf": MODULES,
            "extensions.conf": EXTENSIONS,
            "voicemail.conf": VOICEMAIL,
            "pbx.conf": f"[options]\nverbose = 0\n[directories]\nastsoundsdir => {ETC_SOUNDS}\n"
                        f"astspooldir => {self.spool}\n",
            "rtp.conf": "[general]\nrtpstart = 32000\nrtpend = 33000\n",
        })
        self.service = self.pbx.registry("voicemail")

    @defer.inlineCallbacks
    def call(self, service, talkms):
        """Start a SIPp call to C{service}; (call Deferred, peer, target address)."""
        peer = RTPPeer()
        rtpPort = peer.listen()
        self.addCleanup(peer.close)
        call = sippMedia("media_uac.xml", rtpPort, service=service, port=self.sipPort,
                         talkms=talkms)
        yield waitFor(lambda: sessionFor(self.pbx, rtpPort) is not None, timeout=10)
        session = sessionFor(self.pbx, rtpPort)
        return call, peer, ("127.0.0.1", session.localPort)

    @defer.inlineCallbacks
    def leaveMessage(self):
        call, peer, target = yield self.call("vm", talkms=7000)
        # The greeting (the mailbox's digits, generated prompts) ends in the
        # beep; the recording starts after it.
        yield waitFor(lambda: longestRunOf(heard(peer), 1000) >= 3, timeout=10)
        before = len(peer.received)
        items, _ = timeline([[SILENCE] * 5, ulawTone(TONE, 100, amplitude=8000),
                             [SILENCE] * 5, "#", [SILENCE] * 10])
        yield peer.send(target, items, ssrc=0x11110001)
        yield waitFor(lambda: self.pbx.globals.get("VMRESULT") is not None, timeout=10)
        check(self, (yield call), "VoiceMail caller")
        return peer, before

    @defer.inlineCallbacks
    def test_theCallerHearsTheMessageLeftOverRTP(self):
        yield self.leaveMessage()
        self.assertEqual(self.pbx.globals.get("VMRESULT"), "SUCCESS")
        self.assertEqual(self.service.counts("1001@default"), (1, 0))
        [info] = self.service.store.messages("default", "1001")
        stored = array.array("h", self.service.store.readAudio(info)).tolist()
        self.assertGreaterEqual(longestRun(toneWindows(stored)), 30)  # 1.5 s of the tone

        call, peer, target = yield self.call("vmmain", talkms=12000)
        login, timestamp = timeline([[SILENCE] * 10, "1", [SILENCE] * 3, "2", [SILENCE] * 3,
                                     "3", [SILENCE] * 3, "4", [SILENCE] * 3, "#",
                                     [SILENCE] * 25])
        yield peer.send(target, login, ssrc=0x22220001)
        yield waitFor(lambda: any(c.getVariable("VMMAILBOX") for c in self.pbx.channels),
                      timeout=5)
        beforePlay = len(peer.received)
        # Nothing the PBX said up to now (intro, menu) carries the tone.
        self.assertEqual(longestRun(toneWindows(heard(peer))), 0)
        press, timestamp = timeline(["1", [SILENCE] * 10], timestamp)
        yield peer.send(target, press, ssrc=0x22220002)
        yield waitFor(lambda: longestRun(toneWindows(heard(peer, beforePlay))) >= 30,
                      timeout=10)
        # The message was heard: it is Old now, and the lamp would go out.
        yield waitFor(lambda: self.service.counts("1001@default") == (0, 1), timeout=5)
        delete, _ = timeline([[SILENCE] * 5, "7", [SILENCE] * 10, "#", [SILENCE] * 5],
                             timestamp)
        yield peer.send(target, delete, ssrc=0x22220003)
        yield waitFor(lambda: self.service.counts("1001@default") == (0, 0), timeout=5)
        yield waitFor(lambda: self.pbx.globals.get("VMMAINBOX") == "1001@default", timeout=5)
        check(self, (yield call), "VoiceMailMain caller")
        self.assertEqual(self.service.store.messages("default", "1001", "Old"), [])


def longestRunOf(samples, frequency):
    """The longest run of 50 ms windows dominated by C{frequency}."""
    best = run = 0
    for offset in range(0, len(samples) - WINDOW + 1, WINDOW):
        window = samples[offset:offset + WINDOW]
        power = goertzel(window, frequency)
        others = max(goertzel(window, f) for f in (440, 697, 1209, 1800) if f != frequency)
        run = run + 1 if power > 50 * others and power > 1e9 else 0
        best = max(best, run)
    return best

