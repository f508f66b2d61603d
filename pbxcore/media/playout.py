"""
Real-time playout for applications that generate audio (Milliwatt, music
on hold): frames written at their deadlines, computed from the start
time, so a long playout does not drift however late each wake-up is.

Async helpers over a channel; the reactor is the channel's.
"""

from __future__ import annotations

import math

from pbxcore.frame import FrameKind, voiceFrame
from pbxcore.media import g711
from pbxcore.media.sounds import packSamples

__all__ = ["FRAME_MS", "playoutFormat", "playChunks", "playAudio", "ToneSource"]

FRAME_MS = 20


def playoutFormat(channel) -> str:
    """The G.711 law to generate for C{channel} (its first native one)."""
    for fmt in getattr(channel, "nativeFormats", ()) or ():
        if fmt in ("ulaw", "alaw", "slin"):
            return fmt
    return "ulaw"


async def playChunks(channel, chunks, escapeDigits="", maxSeconds=None):
    """
    Write each (format, data) of the iterable C{chunks} as a voice frame at
    real time, reading (and discarding) what the caller sends meanwhile.
    Returns the escape digit that stopped it, or None when C{chunks} ran out
    or C{maxSeconds} passed. Hangup raises ChannelHungUp.
    """
    clock = channel.reactor
    start = clock.seconds()
    samples = 0  # counted whole, so that the deadlines carry no rounding drift
    for fmt, data in chunks:
        if maxSeconds is not None and samples / 8000.0 >= maxSeconds:
            return None
        await channel.writeFrame(voiceFrame(fmt, data))
        samples += len(data) // (2 if fmt == "slin" else 1)
        deadline = start + samples / 8000.0
        while True:
            left = deadline - clock.seconds()
            if left <= 0:
                break
            frame = await channel.readFrame(left)
            if frame is None:
                break
            if (frame.kind is FrameKind.DTMF_END and escapeDigits
                    and frame.subclass in escapeDigits):
                return frame.subclass
    return None


async def playAudio(channel, fmt, audio, escapeDigits=""):
    """
    Play C{audio} (all in C{fmt}: a sound file, a prompt) at real time in
    frames of C{FRAME_MS}; the escape digit that stopped it, or None.
    """
    step = FRAME_MS * 8 * (2 if fmt == "slin" else 1)
    return await playChunks(
        channel, ((fmt, audio[offset:offset + step]) for offset in range(0, len(audio), step)),
        escapeDigits)


class ToneSource:
    """
    An endless sine (the sum of C{frequencies}) in 20 ms chunks of one
    format, phase continuous: one period of the whole pattern is encoded
    once, then sliced.
    """

    def __init__(self, frequencies, amplitude: int, fmt: str = "ulaw", rate: int = 8000):
        frequencies = tuple(int(f) for f in frequencies)
        chunk = FRAME_MS * rate // 1000
        common = 0
        for f in frequencies:
            common = math.gcd(common, f)
        period = rate // math.gcd(rate, common) if common else 1
        # A table a whole number of both periods and chunks long: every
        # chunk is one slice, and the phase never jumps.
        length = period * chunk // math.gcd(period, chunk)
        steps = [2 * math.pi * f / rate for f in frequencies]
        linear = packSamples([int(round(amplitude * sum(math.sin(s * n) for s in steps)))
                        for n in range(length)])
        self.format = fmt
        width = 2 if fmt == "slin" else 1
        self._table = g711.encode(fmt, linear)
        self._chunk = chunk * width
        self._offset = 0

    def __iter__(self):
        return self

    def __next__(self):
        start = self._offset
        self._offset = (start + self._chunk) % len(self._table)
        return self.format, self._table[start:start + self._chunk]
