"""The generated sample sounds."""

import math
import os
from array import array

from pbxcore.media import g711, sounds
from pbxcore.media.wav import readWav

ETC_SOUNDS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "etc", "sounds")


def goertzelPower(samples, frequency, rate=8000):
    coeff = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def test_toneHasItsEnergyAtItsFrequency():
    samples = array("h")
    samples.frombytes(sounds.tone((1000,), 200, 8000))
    assert len(samples) == 1600
    assert goertzelPower(samples, 1000) > 100 * goertzelPower(samples, 1300)


def test_committedSoundsAreTheScriptOutput(tmp_path):
    written = sounds.generate(str(tmp_path))
    assert len(written) == len(sounds.catalogue())
    for path in written:
        relative = os.path.relpath(path, tmp_path)
        with open(path, "rb") as f, open(os.path.join(ETC_SOUNDS, relative), "rb") as g:
            assert f.read() == g.read(), relative


def test_digitPromptsAreTheirDTMFPairs():
    with open(os.path.join(ETC_SOUNDS, "en", "digits", "5.wav"), "rb") as f:
        audio = readWav(f.read())
    samples = array("h")
    samples.frombytes(g711.decode(audio.format, audio.data))
    powers = {f: goertzelPower(samples, f) for f in (697, 770, 852, 941, 1209, 1336, 1477)}
    assert sorted(powers, key=powers.get)[-2:] in ([770, 1336], [1336, 770])


def test_mainUsage(capsys):
    assert sounds.main([]) == 2
