"""
Opus (RFC 6716) packet duration from its TOC byte, for relaying Opus RTP
(RFC 7587) without decoding it: txpbx has no Opus codec, only the count of
48 kHz samples a packet spans, which the relay needs to splice streams.

Pure.
"""

from __future__ import annotations

__all__ = ["OPUS_CLOCK_RATE", "opusSamples"]

#: RFC 7587 section 4.1: the RTP clock of Opus is 48000 whatever the audio bandwidth.
OPUS_CLOCK_RATE = 48000

# Frame sizes in 48 kHz samples by TOC configuration number (RFC 6716 section 3.1, table 2).
_FRAME_SAMPLES = (
    (480, 960, 1920, 2880) * 3        # 0..11 SILK-only: 10, 20, 40, 60 ms
    + (480, 960) * 2                  # 12..15 hybrid: 10, 20 ms
    + (120, 240, 480, 960) * 4        # 16..31 CELT-only: 2.5, 5, 10, 20 ms
)


def opusSamples(payload: bytes) -> int:
    """
    The 48 kHz samples an Opus packet holds (RFC 6716 section 3.1: the TOC
    configuration gives the frame size, the code c the frame count; code 3
    counts frames in the second byte); 0 for an empty or truncated packet.
    """
    if not payload:
        return 0
    toc = payload[0]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    elif len(payload) < 2:
        return 0
    else:
        frames = payload[1] & 0x3F
    return _FRAME_SAMPLES[toc >> 3] * frames
