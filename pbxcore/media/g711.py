"""
G.711 µ-law and A-law, without the deprecated audioop.

Linear audio here is 16-bit signed little-endian ("slin", 8 kHz). The
encoders follow ITU-T G.711 as its reference implementation (G.191) does:
µ-law works on 14-bit magnitudes (the input shifted right by 2), A-law on
13-bit ones (shifted right by 3), so that each encoded character is the
interval of the standard's decision table the input falls into. Decoded
values are the standard's decoder output values scaled to 16 bits.

Everything is table driven and built once at import (immutable tables):
converting a 20 ms frame is one C{bytes.translate} (µ-law <-> A-law) or one
list comprehension over 160 samples.

Pure: no I/O.
"""

from __future__ import annotations

import sys
from array import array

__all__ = [
    "ulawDecode", "alawDecode", "ulawEncode", "alawEncode",
    "ULAW_TO_LINEAR", "ALAW_TO_LINEAR",
    "ulawToLinear", "alawToLinear", "linearToUlaw", "linearToAlaw",
    "ulawToAlaw", "alawToUlaw", "transcode", "decode", "encode",
    "ULAW_SILENCE", "ALAW_SILENCE", "silence",
]

_BIG_ENDIAN = sys.byteorder == "big"

#: The µ-law bias in 16-bit units (33 in the 14-bit units of G.711).
_ULAW_BIAS = 0x84


def ulawDecode(code: int) -> int:
    """The 16-bit linear value of one µ-law character."""
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return (_ULAW_BIAS - t) if (u & 0x80) else (t - _ULAW_BIAS)


def alawDecode(code: int) -> int:
    """The 16-bit linear value of one A-law character."""
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    else:
        t = (t + 0x108) << (seg - 1)
    return t if (a & 0x80) else -t


def ulawEncode(sample: int) -> int:
    """The µ-law character of one 16-bit linear sample."""
    # 14-bit magnitude (one's complement for negatives, as G.191 does, so
    # that -1 .. -4 land in the first negative interval) plus the bias 33.
    if sample < 0:
        biased = ((~sample) >> 2) + 33
        sign = 0x00
    else:
        biased = (sample >> 2) + 33
        sign = 0x80
    if biased > 0x1FFF:
        biased = 0x1FFF
    seg = (biased >> 6).bit_length() + 1       # 1 .. 8
    mantissa = (biased >> seg) & 0x0F
    return sign | ((8 - seg) << 4) | (0x0F - mantissa)


def alawEncode(sample: int) -> int:
    """The A-law character of one 16-bit linear sample."""
    if sample >= 0:
        mask = 0xD5
        magnitude = sample >> 3
    else:
        mask = 0x55
        # One's complement of the 13-bit value, as G.191 does: -1 .. -8
        # fall in the first interval of the negative side.
        magnitude = (-sample - 1) >> 3
    if magnitude > 0xFFF:
        magnitude = 0xFFF
    if magnitude < 32:
        code = magnitude >> 1
    else:
        seg = 1
        v = magnitude >> 5
        while v > 1:
            seg += 1
            v >>= 1
        code = (seg << 4) | ((magnitude >> seg) & 0x0F)
    return code ^ mask


#: Decoder tables: character -> 16-bit linear value.
ULAW_TO_LINEAR: tuple[int, ...] = tuple(ulawDecode(c) for c in range(256))
ALAW_TO_LINEAR: tuple[int, ...] = tuple(alawDecode(c) for c in range(256))

# Encoder tables indexed by the unsigned 16-bit sample (sample & 0xFFFF).
_LINEAR_TO_ULAW = bytes(ulawEncode(s - 65536 if s >= 32768 else s) for s in range(65536))
_LINEAR_TO_ALAW = bytes(alawEncode(s - 65536 if s >= 32768 else s) for s in range(65536))

# Character translation tables (one bytes.translate per frame).
_ULAW_TO_ALAW = bytes(_LINEAR_TO_ALAW[ULAW_TO_LINEAR[c] & 0xFFFF] for c in range(256))
_ALAW_TO_ULAW = bytes(_LINEAR_TO_ULAW[ALAW_TO_LINEAR[c] & 0xFFFF] for c in range(256))

#: The character of linear zero.
ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5


def _pcmArray(data: bytes) -> array:
    samples = array("h")
    samples.frombytes(data[: len(data) & ~1])
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def _pcmBytes(samples: array) -> bytes:
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples.tobytes()


def ulawToLinear(data: bytes) -> bytes:
    """µ-law characters to 16-bit little-endian linear audio."""
    table = ULAW_TO_LINEAR
    return _pcmBytes(array("h", [table[c] for c in data]))


def alawToLinear(data: bytes) -> bytes:
    """A-law characters to 16-bit little-endian linear audio."""
    table = ALAW_TO_LINEAR
    return _pcmBytes(array("h", [table[c] for c in data]))


def linearToUlaw(data: bytes) -> bytes:
    """16-bit little-endian linear audio to µ-law characters."""
    table = _LINEAR_TO_ULAW
    return bytes([table[s & 0xFFFF] for s in _pcmArray(data)])


def linearToAlaw(data: bytes) -> bytes:
    """16-bit little-endian linear audio to A-law characters."""
    table = _LINEAR_TO_ALAW
    return bytes([table[s & 0xFFFF] for s in _pcmArray(data)])


def ulawToAlaw(data: bytes) -> bytes:
    """µ-law to A-law through the linear value (one table lookup a sample)."""
    return data.translate(_ULAW_TO_ALAW)


def alawToUlaw(data: bytes) -> bytes:
    """A-law to µ-law through the linear value (one table lookup a sample)."""
    return data.translate(_ALAW_TO_ULAW)


_DECODERS = {"ulaw": ulawToLinear, "alaw": alawToLinear, "slin": bytes}
_ENCODERS = {"ulaw": linearToUlaw, "alaw": linearToAlaw, "slin": bytes}


def decode(fmt: str, data: bytes) -> bytes:
    """Audio of format C{fmt} ('ulaw', 'alaw', 'slin') as 16-bit linear."""
    try:
        return _DECODERS[fmt](data)
    except KeyError:
        raise ValueError(f"cannot decode format {fmt!r}") from None


def encode(fmt: str, data: bytes) -> bytes:
    """16-bit linear audio encoded as C{fmt} ('ulaw', 'alaw', 'slin')."""
    try:
        return _ENCODERS[fmt](data)
    except KeyError:
        raise ValueError(f"cannot encode format {fmt!r}") from None


def transcode(source: str, target: str, data: bytes) -> bytes:
    """Convert audio between 'ulaw', 'alaw' and 'slin'."""
    if source == target:
        return data
    if source == "ulaw" and target == "alaw":
        return ulawToAlaw(data)
    if source == "alaw" and target == "ulaw":
        return alawToUlaw(data)
    return encode(target, decode(source, data))


def silence(fmt: str, samples: int) -> bytes:
    """C{samples} samples of silence in format C{fmt}."""
    if fmt == "ulaw":
        return bytes([ULAW_SILENCE]) * samples
    if fmt == "alaw":
        return bytes([ALAW_SILENCE]) * samples
    if fmt == "slin":
        return bytes(2 * samples)
    raise ValueError(f"no silence for format {fmt!r}")
