"""Milliwatt, Record and MusicOnHold on Test channels and a Clock."""

import math
import os
import shutil
import tempfile
from array import array

from twisted.trial.unittest import TestCase

from pbxcore.frame import FrameKind, dtmfFrame, voiceFrame
from pbxcore.media import g711
from pbxcore.media.sounds import tone
from pbxcore.media.wav import readWav, writeWav
from plugins.app_milliwatt import AppMilliwattModule
from plugins.app_record import AppRecordModule, isSilent
from plugins.res_musiconhold import MusicOnHoldModule
from tests.shell.core.support import call, makePBX


def goertzel(samples, frequency):
    coeff = 2 * math.cos(2 * math.pi * frequency / 8000)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def linear(frames):
    samples = array("h")
    for f in frames:
        samples.frombytes(g711.decode(f.subclass, f.data))
    return samples


class MediaAppTests(TestCase):

    def setUp(self):
        self.sounds = tempfile.mkdtemp(prefix="txpbx-media-")
        self.addCleanup(shutil.rmtree, self.sounds, True)
        os.makedirs(os.path.join(self.sounds, "moh"))
        for name, freq in (("a.wav", 500), ("b.wav", 900)):
            with open(os.path.join(self.sounds, "moh", name), "wb") as f:
                f.write(writeWav("ulaw", g711.linearToUlaw(tone((freq,), 100, 8000, fadeMs=0))))

    def make(self, dialplan, conf=None):
        pbx, tech = makePBX(test=self, dialplan=dialplan,
                            settings={"astsoundsdir": self.sounds})
        for module in (AppMilliwattModule, AppRecordModule, MusicOnHoldModule):
            pbx.loadModule(module(), module.__name__)
        return pbx, tech

    def voice(self, channel):
        return [f for f in channel.driver.written if f.kind is FrameKind.VOICE]

    def test_milliwattTonePacedWithoutDrift(self):
        pbx, tech = self.make("[default]\nexten => 1,1,Milliwatt()\n")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.driver.answered, 1)
        # A minute of audio, the clock stepping in uneven, late increments.
        steps = [0.013, 0.031, 0.02, 0.027] * 750
        pbx.reactor.pump(steps)
        elapsed = sum(steps)
        frames = self.voice(channel)
        self.assertEqual(len(frames), int(elapsed / 0.02) + 1)
        samples = linear(frames[:50])
        self.assertGreater(goertzel(samples, 1004), 1000 * goertzel(samples, 1500))
        # 0 dBm0: RMS 3.17 dB under a full-scale sine.
        rms = math.sqrt(sum(s * s for s in samples) / len(samples))
        level = 20 * math.log10(rms * math.sqrt(2) / 32124)
        self.assertLess(abs(level + 3.17), 0.2, f"{level:.2f} dB is not 0 dBm0")

    def test_recordUntilHash(self):
        path = os.path.join(self.sounds, "rec1")
        pbx, tech = self.make(f"[default]\nexten => 1,1,Record({path}.wav,,,q)\n"
                              " same => n,Set(S=${RECORD_STATUS})\n")
        channel, _ = call(pbx, tech, "1")
        sent = tone((440,), 400, 8000)
        ulaw = g711.linearToUlaw(sent)
        for i in range(0, len(ulaw), 160):
            channel.frameReceived(voiceFrame("ulaw", ulaw[i:i + 160]))
        channel.frameReceived(dtmfFrame("#"))
        self.assertEqual(channel.getVariable("S"), "DTMF")
        self.assertEqual(channel.getVariable("RECORDED_FILE"), path)
        with open(path + ".wav", "rb") as f:
            audio = readWav(f.read())
        self.assertEqual(audio.format, "slin")
        self.assertEqual(audio.data, g711.ulawToLinear(ulaw))

    def test_recordStopsOnSilenceAndTrimsIt(self):
        path = os.path.join(self.sounds, "rec2")
        pbx, tech = self.make(f"[default]\nexten => 1,1,Record({path}.ulaw,2,,q)\n"
                              " same => n,Set(S=${RECORD_STATUS})\n")
        channel, _ = call(pbx, tech, "1")
        loud = g711.linearToUlaw(tone((440,), 20, 8000, fadeMs=0))
        for _ in range(25):
            channel.frameReceived(voiceFrame("ulaw", loud))
        for _ in range(99):
            channel.frameReceived(voiceFrame("ulaw", b"\xff" * 160))
        self.assertIsNone(channel.getVariable("S"))
        channel.frameReceived(voiceFrame("ulaw", b"\xff" * 160))
        self.assertEqual(channel.getVariable("S"), "SILENCE")
        with open(path + ".ulaw", "rb") as f:
            data = f.read()
        self.assertEqual(len(data), 25 * 160 + 200 * 8)

    def test_recordMaxDurationAndHangupDeletes(self):
        path = os.path.join(self.sounds, "rec3")
        pbx, tech = self.make(f"[default]\nexten => 1,1,Record({path}.wav,0,3,q)\n"
                              " same => n,Set(S=${RECORD_STATUS})\n"
                              f"exten => 2,1,Record({path}-%d.wav,0,0,q)\n")
        channel, _ = call(pbx, tech, "1")
        pbx.reactor.advance(3)
        self.assertEqual(channel.getVariable("S"), "TIMEOUT")
        self.assertTrue(os.path.exists(path + ".wav"))
        other, _ = call(pbx, tech, "2")
        other.frameReceived(voiceFrame("ulaw", b"\x00" * 160))
        other.hungUp()
        self.assertEqual(other.getVariable("RECORD_STATUS"), "HANGUP")
        self.assertFalse(os.path.exists(path + "-0.wav"))

    def test_recordBadArgument(self):
        pbx, tech = self.make("[default]\nexten => 1,1,Record(noformat)\n"
                              " same => n,Set(S=${RECORD_STATUS})\n")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("S"), "ERROR")

    def test_silenceDetector(self):
        self.assertTrue(isSilent(bytes(320)))
        self.assertFalse(isSilent(tone((440,), 20, 2000, fadeMs=0)))

    def test_musicOnHoldLoopsTheFolderForTheDuration(self):
        pbx, tech = self.make("[default]\nexten => 1,1,MusicOnHold(default,1)\n"
                              " same => n,Set(DONE=1)\n")
        channel, _ = call(pbx, tech, "1")
        pbx.reactor.pump([0.02] * 60)
        self.assertEqual(channel.getVariable("DONE"), "1")
        frames = self.voice(channel)
        self.assertEqual(len(frames), 50)
        # a.wav (500 Hz) then b.wav (900 Hz), 5 frames each, in a loop.
        firsts = [linear(frames[i:i + 5]) for i in (0, 5, 10)]
        self.assertGreater(goertzel(firsts[0], 500), 100 * goertzel(firsts[0], 900))
        self.assertGreater(goertzel(firsts[1], 900), 100 * goertzel(firsts[1], 500))
        self.assertGreater(goertzel(firsts[2], 500), 100 * goertzel(firsts[2], 900))

    def test_musicOnHoldUnknownClassWaitsInSilence(self):
        pbx, tech = self.make("[default]\nexten => 1,1,MusicOnHold(nosuch,0.5)\n"
                              " same => n,Set(DONE=1)\n")
        channel, _ = call(pbx, tech, "1")
        pbx.reactor.advance(0.6)
        self.assertEqual(channel.getVariable("DONE"), "1")
        self.assertEqual(self.voice(channel), [])
