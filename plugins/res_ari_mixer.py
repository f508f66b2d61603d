"""
A two-leg audio mixer, pure: G.711 or 16-bit linear frames from each leg
in, 20 ms of their sum (clipped) out. A leg not heard from yet, or one two
frames behind the other, counts as silence, so a quiet leg never holds the
other back. Used by bridge recordings and by snoop channels spying both
ways.
"""

from array import array

from pbxcore.media import g711

SAMPLES = 160  # 20 ms at 8 kHz


class Mixer:
    def __init__(self, emit, legs=2):
        self.emit = emit  # called with 16-bit linear bytes, SAMPLES samples or fewer at the end
        self.legs = legs
        self.buffers = {}

    def add(self, leg, fmt, data):
        if fmt not in ("ulaw", "alaw", "slin"):
            return
        pcm = array("h", g711.transcode(fmt, "slin", data))
        self.buffers.setdefault(leg, array("h")).extend(pcm)
        self._mix(final=False)

    def flush(self):
        self._mix(final=True)

    def _mix(self, final):
        buffers = list(self.buffers.values())
        if not buffers:
            return
        silent = len(buffers) < self.legs
        while True:
            longest = max(len(b) for b in buffers)
            ready = 0 if silent else min(len(b) for b in buffers)
            if ready < SAMPLES and not (final or longest >= 2 * SAMPLES):
                return
            count = min(SAMPLES, longest)
            if count == 0:
                return
            mixed = array("h", bytes(2 * count))
            for buf in buffers:
                take = buf[:count]
                del buf[:count]
                for i, sample in enumerate(take):
                    mixed[i] = max(-32768, min(32767, mixed[i] + sample))
            self.emit(mixed.tobytes())
