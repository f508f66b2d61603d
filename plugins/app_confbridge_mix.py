"""
Conference mixing and talker detection, PURE, with numpy.

Each 20 ms tick every member gives one frame of 160 16-bit samples (or
silence); each member hears the sum of everyone but itself, clipped:
C{total - own}, one vector sum for the room and one subtraction per
member, never a per-sample Python loop. Muted members add nothing.

Talker detection follows Asterisk's DSP talk detector in spirit: a frame
whose mean absolute level is over C{threshold} is speech; C{talkingAfter}
ms of speech start talking, C{silenceAfter} ms of silence end it.
"""

import numpy

SAMPLES = 160  # 20 ms at 8 kHz
FRAME_SECONDS = 0.02


def mixRoom(frames):
    """
    {member: int16 array of SAMPLES (or None: silent)} to {member: int16
    array}: what each member hears (everyone else's audio, clipped).
    """
    members = list(frames)
    if not members:
        return {}
    stack = numpy.zeros((len(members), SAMPLES), dtype=numpy.int32)
    for row, member in enumerate(members):
        frame = frames[member]
        if frame is not None:
            stack[row, :len(frame)] = frame[:SAMPLES]
    total = stack.sum(axis=0)
    heard = numpy.clip(total[numpy.newaxis, :] - stack, -32768, 32767).astype(numpy.int16)
    return {member: heard[row] for row, member in enumerate(members)}


def level(frame):
    """The mean absolute level of a frame (0 for silence)."""
    if frame is None or not len(frame):
        return 0.0
    return float(numpy.abs(frame.astype(numpy.int32)).mean())


class TalkDetector:
    """Per-member talking state from frame levels; C{feed} says when it changes."""

    def __init__(self, threshold=160, talkingAfter=40, silenceAfter=2500):
        self.threshold = threshold
        self.talkingFrames = max(1, int(talkingAfter / 20))
        self.silentFrames = max(1, int(silenceAfter / 20))
        self.talking = False
        self._run = 0

    def feed(self, frame):
        """True/False when the member starts/stops talking with this frame, else None."""
        loud = level(frame) > self.threshold
        if loud == self.talking:
            self._run = 0
            return None
        self._run += 1
        if self._run >= (self.talkingFrames if loud else self.silentFrames):
            self.talking = loud
            self._run = 0
            return loud
        return None


def tickDeadline(start, tick):
    """When tick number C{tick} is due: whole ticks from the start, so no drift builds up."""
    return start + tick * FRAME_SECONDS
