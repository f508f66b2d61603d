"""
The sample sounds, generated in code (no recordings, no downloads).

    python -m pbxcore.media.sounds etc/sounds

writes every sound of L{catalogue} under the given folder: beeps and call
progress tones, a 1 kHz test tone, digit prompts (the DTMF pair of each
digit, so SayDigits and Read are audible and machine-checkable), and two
short melodies for music on hold. The sample C{etc/sounds} in the
repository is this script's output, committed; a test checks that the
script still produces those exact bytes.

The synthesis functions are pure: parameters in, 16-bit linear audio out.
"""

from __future__ import annotations

import math
import os
import sys
from array import array

from pbxcore.media import g711
from pbxcore.media.wav import writeWav

__all__ = ["tone", "silence", "catalogue", "generate", "main", "RATE"]

RATE = 8000


def packSamples(samples) -> bytes:
    """Signed linear samples as little-endian 16-bit bytes (slin)."""
    buf = array("h", samples)
    if sys.byteorder == "big":
        buf.byteswap()
    return buf.tobytes()


def tone(frequencies, durationMs: int, amplitude: int = 8000, fadeMs: int = 5,
         rate: int = RATE) -> bytes:
    """
    The sum of sines at C{frequencies} (Hz) lasting C{durationMs}, each of
    peak C{amplitude}, with short fades so the tone starts and stops without
    a click. 16-bit little-endian linear audio.
    """
    count = rate * durationMs // 1000
    fade = max(1, rate * fadeMs // 1000)
    steps = [2 * math.pi * f / rate for f in frequencies]
    out = []
    for n in range(count):
        value = sum(math.sin(step * n) for step in steps) * amplitude
        if fadeMs:
            value *= min(1.0, n / fade, (count - 1 - n) / fade)
        out.append(max(-32768, min(32767, int(round(value)))))
    return packSamples(out)


def silence(durationMs: int, rate: int = RATE) -> bytes:
    return bytes(2 * (rate * durationMs // 1000))


def _cadence(frequencies, on: int, off: int, repeats: int, amplitude: int = 6000) -> bytes:
    return (tone(frequencies, on, amplitude) + silence(off)) * repeats


#: The DTMF pair of each key (ITU-T Q.23).
_DTMF = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}

_NOTES = {"C4": 261.63, "D4": 293.66, "E4": 329.63, "F4": 349.23, "G4": 392.00,
          "A4": 440.00, "B4": 493.88, "C5": 523.25, "D5": 587.33, "E5": 659.25}


def _melody(notes, beatMs: int = 250) -> bytes:
    parts = []
    for note in notes:
        name, _, beats = note.partition(":")
        length = beatMs * int(beats or 1)
        if name == "-":
            parts.append(silence(length))
        else:
            freq = _NOTES[name]
            parts.append(tone((freq, freq * 2), length - 20, 3500, fadeMs=15) + silence(20))
    return b"".join(parts)


def catalogue():
    """{relative path: (format stored, 16-bit linear audio)} of every sample sound."""
    sounds = {
        "beep.wav": ("slin", tone((1000,), 250, 12000)),
        "tone-1khz.wav": ("ulaw", tone((1000,), 2000, 16000)),
        "dialtone.wav": ("ulaw", tone((350, 440), 2000, 5000)),
        "ringback.wav": ("ulaw", _cadence((440, 480), 2000, 4000, 1)),
        "busy.wav": ("ulaw", _cadence((480, 620), 500, 500, 3)),
        "congestion.wav": ("ulaw", _cadence((480, 620), 250, 250, 4)),
        "silence/1.wav": ("ulaw", silence(1000)),
        "en/confbridge-join.wav": ("ulaw", tone((587,), 120, 8000) + tone((880,), 160, 8000)),
        "en/confbridge-leave.wav": ("ulaw", tone((880,), 120, 8000) + tone((587,), 160, 8000)),
        "en/hello-world.wav": ("ulaw", _melody(["C5", "E5", "G4:2"], 150)),
        "en/invalid.wav": ("ulaw", tone((480,), 300, 8000) + tone((320,), 450, 8000)),
        "en/goodbye.wav": ("ulaw", _melody(["G4", "E4", "C4:2"], 150)),
        "moh/melody-1.wav": ("ulaw", _melody(
            "C4 E4 G4 E4 F4 A4 C5 A4 G4 E4 C4 E4 D4:2 -:2".split())),
        "moh/melody-2.wav": ("ulaw", _melody(
            "E4 D4 C4 D4 E4 E4 E4:2 D4 D4 D4:2 E4 G4 G4:2".split())),
    }
    names = {"*": "star", "#": "pound"}
    for key, pair in _DTMF.items():
        if key in "ABCD":
            continue
        sounds[f"en/digits/{names.get(key, key)}.wav"] = (
            "ulaw", tone(pair, 180, 7000) + silence(70))
    return sounds


def generate(folder: str) -> list[str]:
    """Write every sound under C{folder}; returns the paths written."""
    written = []
    for relative, (fmt, linear) in sorted(catalogue().items()):
        path = os.path.join(folder, *relative.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(writeWav(fmt, g711.encode(fmt, linear)))
        written.append(path)
    return written


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: python -m pbxcore.media.sounds FOLDER\n")
        return 2
    for path in generate(argv[0]):
        sys.stdout.write(path + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
