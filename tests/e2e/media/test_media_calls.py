"""
Media end to end: SIPp sets up real SIP calls to a PBX on loopback whose
media goes to RTP sockets of the test, which sends and records real RTP.
"""

import os
import tempfile
import wave

from twisted.internet import defer
from twisted.trial import unittest

from tests.e2e.media.support import (
    RTPPeer, decodeAlaw, dtmfPackets, decodeUlaw, dominantFrequency, sessionFor, sippMedia, startPBX,
    ulawTone, waitFor)
from tests.e2e.sip_calls.support import check, freePort


class MediaCallTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.recordDir = tempfile.mkdtemp(prefix="txpbx-record-")
        self.recording = os.path.join(self.recordDir, "message")
        self.bobPort = freePort()
        self.pbx, self.sipPort = yield startPBX(self, bobPort=self.bobPort,
                                                recording=self.recording)
        self.peer = RTPPeer()
        self.rtpPort = self.peer.listen()
        self.addCleanup(self.peer.close)

    @defer.inlineCallbacks
    def talk(self, service, payloads, talkms):
        """Call C{service}, send C{payloads} once the PBX's RTP session exists."""
        call = sippMedia("media_uac.xml", self.rtpPort, service=service, port=self.sipPort,
                         talkms=talkms)
        yield waitFor(lambda: sessionFor(self.pbx, self.rtpPort) is not None)
        session = sessionFor(self.pbx, self.rtpPort)
        target = ("127.0.0.1", session.localPort)
        self.assertEqual(session.localPort % 2, 0)
        self.assertEqual(session.localRtcpPort, session.localPort + 1)
        if payloads:
            yield self.peer.send(target, payloads)
        result = yield call
        check(self, result, service)
        yield waitFor(lambda: self.pbx.rtpEngine.openSockets == 0)
        return session

    @defer.inlineCallbacks
    def test_echoReturnsTheSamePayloads(self):
        payloads = [bytes([(i * 7 + n) % 256 for n in range(160)]) for i in range(40)]
        session = yield self.talk("echo", payloads, talkms=1500)
        echoed = [r[5] for r in self.peer.received if r[0] == 0]
        self.assertEqual(echoed, payloads)
        ssrcs = {r[3] for r in self.peer.received}
        self.assertEqual(ssrcs, {session.outgoing.ssrc})
        sequences = [r[1] for r in self.peer.received]
        self.assertEqual(sequences, [(sequences[0] + i) & 0xFFFF for i in range(len(sequences))])
        # Sockets released: nothing left open in the engine.
        self.assertEqual(self.pbx.rtpEngine.openSockets, 0)

    @defer.inlineCallbacks
    def test_milliwattIs1004Hz(self):
        yield self.talk("milliwatt", None, talkms=1000)
        audio = [s for r in self.peer.received if r[0] == 0 for s in decodeUlaw(r[5])]
        self.assertGreater(len(audio), 8000 * 0.6)
        frequency, powers = dominantFrequency(audio[:4000], (500, 800, 1004, 1200, 2000))
        self.assertEqual(frequency, 1004)
        self.assertGreater(powers[1004], 100 * powers[1200])
        # The RTP timestamps advance 160 a packet: paced and continuous.
        stamps = [r[2] for r in self.peer.received if r[0] == 0]
        steps = [(b - a) & 0xFFFFFFFF for a, b in zip(stamps, stamps[1:])]
        self.assertTrue(all(0 < s < 8000 for s in steps), steps)
        self.assertGreater(steps.count(160), 0.9 * len(steps))

    @defer.inlineCallbacks
    def test_playbackOfGeneratedTone(self):
        yield self.talk("tone", None, talkms=1200)
        audio = [s for r in self.peer.received if r[0] == 0 for s in decodeUlaw(r[5])]
        self.assertGreater(len(audio), 4000)
        frequency, powers = dominantFrequency(audio[800:4800], (440, 800, 1000, 1200, 1500))
        self.assertEqual(frequency, 1000)
        self.assertGreater(powers[1000], 100 * powers[1200])

    @defer.inlineCallbacks
    def test_recordWritesWhatWasSent(self):
        payloads = ulawTone(600, 50)
        yield self.talk("record", payloads + dtmfPackets(11, 160 * 50), talkms=1800)
        self.assertEqual(self.pbx.globals.get("RECSTATUS"), "DTMF")
        with wave.open(self.recording + ".wav", "rb") as f:
            self.assertEqual((f.getnchannels(), f.getframerate(), f.getsampwidth()), (1, 8000, 2))
            frames = f.readframes(f.getnframes())
        import array
        samples = array.array("h", frames)
        sent = [s for p in payloads for s in decodeUlaw(p)]
        self.assertGreater(len(samples), 0.9 * len(sent))
        # The recording holds the sent samples, in order (recorded as linear).
        text = samples.tobytes()
        sentBytes = array.array("h", sent[160:800]).tobytes()
        self.assertIn(sentBytes, text)

    @defer.inlineCallbacks
    def test_ulawCallerToAlawCalleeIsTranscoded(self):
        callee = RTPPeer()
        calleePort = callee.listen()
        self.addCleanup(callee.close)
        answering = sippMedia("media_uas.xml", calleePort, localPort=self.bobPort, codec=8)
        payloads = ulawTone(700, 50)
        yield self.talk("bob", payloads, talkms=1800)
        check(self, (yield answering), "callee")
        alaw = [r for r in callee.received if r[0] == 8]
        self.assertGreater(len(alaw), 40)
        self.assertFalse([r for r in callee.received if r[0] == 0])
        heard = [s for r in alaw for s in decodeAlaw(r[5])]
        sent = [s for p in payloads for s in decodeUlaw(p)]
        frequency, _ = dominantFrequency(heard, (400, 700, 1000))
        self.assertEqual(frequency, 700)
        # Sample by sample the same audio, within half an A-law step
        # (16 in the two lowest segments, 1/16 of the value above).
        start = heard.index(next(s for s in heard if abs(s) > 1000))
        offset = sent.index(next(s for s in sent if abs(s) > 1000))
        pairs = list(zip(sent[offset:offset + 1600], heard[start:start + 1600]))
        self.assertEqual(len(pairs), 1600)
        for a, b in pairs:
            self.assertLessEqual(abs(a - b), max(abs(a) / 32 + 1, 8), (a, b))
