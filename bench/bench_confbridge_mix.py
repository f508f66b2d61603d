"""
Conference mixing cost: ROOMS rooms of MEMBERS G.711 members, one 20 ms
tick (decode each member's frame, mix everyone-but-self with numpy,
encode each member's frame), as app_confbridge does it. Prints the time
of a tick for all rooms (it must stay well under 20 ms) and the CPU per
member per second of audio.

    PYTHONPATH=. python bench/bench_confbridge_mix.py [rooms] [members]
"""

import sys
import time

import numpy

from pbxcore.media import g711
from pbxcore.media.sounds import tone
from plugins.app_confbridge_mix import SAMPLES, mixRoom


def main(rooms=20, members=10, ticks=250):
    audio = g711.transcode("slin", "ulaw", tone((440,), 20, 8000))[:SAMPLES]
    best = None
    for _ in range(3):
        start = time.process_time()
        for _ in range(ticks):
            for _ in range(rooms):
                frames = {m: numpy.frombuffer(g711.transcode("ulaw", "slin", audio), dtype=numpy.int16)
                          for m in range(members)}
                for pcm in mixRoom(frames).values():
                    g711.transcode("slin", "ulaw", pcm.astype("<i2").tobytes())
        elapsed = (time.process_time() - start) / ticks
        best = elapsed if best is None else min(best, elapsed)
    perMember = best / (rooms * members) * 50  # CPU seconds per member per audio second
    print(f"{rooms} rooms x {members} members: {best * 1000:.2f} ms CPU per 20 ms tick "
          f"({best / 0.02 * 100:.0f}% of one core); {perMember * 100:.2f}% of a core per member")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
