"""
WAV (RIFF/WAVE) files of telephone audio: 8 kHz mono, 16-bit PCM, µ-law
or A-law.

Pure: bytes in, bytes out. L{readWav} walks the chunks (skipping LIST, fact
and any unknown ones, honouring the pad byte of odd-sized chunks);
L{writeWav} makes a complete file; L{wavHeader} the header alone, so a
recorder can write the audio as it comes and rewrite the header at the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["WavError", "WavAudio", "readWav", "writeWav", "wavHeader", "WAV_FORMATS"]

#: WAVE format tags for our format names.
WAV_FORMATS = {"slin": 1, "alaw": 6, "ulaw": 7}
_NAMES = {tag: name for name, tag in WAV_FORMATS.items()}


class WavError(ValueError):
    """A file that is not a WAV file this PBX can play; C{str()} says why."""


@dataclass(frozen=True)
class WavAudio:
    """The audio of a WAV file: C{format} is 'slin', 'ulaw' or 'alaw'."""

    format: str
    data: bytes
    rate: int = 8000
    channels: int = 1

    @property
    def samples(self) -> int:
        return len(self.data) // (2 if self.format == "slin" else 1) // self.channels

    @property
    def duration(self) -> float:
        return self.samples / self.rate


def readWav(data: bytes, name: str = "WAV file", strict: bool = True) -> WavAudio:
    """
    The audio of a WAV file's bytes. With C{strict} (the default) only what
    the PBX plays is accepted: 8 kHz, mono, 16-bit PCM, µ-law or A-law.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{name}: not a RIFF/WAVE file")
    offset = 12
    fmt = None
    while offset + 8 <= len(data):
        chunkId, size = struct.unpack_from("<4sI", data, offset)
        body = data[offset + 8:offset + 8 + size]
        if chunkId == b"fmt ":
            if len(body) < 16:
                raise WavError(f"{name}: fmt chunk of {len(body)} bytes")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == 0xFFFE and len(body) >= 26:
                # WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID.
                tag = struct.unpack_from("<H", body, 24)[0]
            fmt = (tag, channels, rate, bits)
        elif chunkId == b"data":
            if fmt is None:
                raise WavError(f"{name}: data chunk before the fmt chunk")
            tag, channels, rate, bits = fmt
            fmtName = _NAMES.get(tag)
            if fmtName is None:
                raise WavError(f"{name}: WAVE format {tag} is not PCM, u-law or A-law")
            if fmtName == "slin" and bits != 16:
                raise WavError(f"{name}: {bits}-bit PCM (only 16-bit is supported)")
            if strict and (channels != 1 or rate != 8000):
                raise WavError(f"{name}: {rate} Hz, {channels} channels "
                               f"(only 8000 Hz mono is supported)")
            if len(body) < size:
                # A file cut short (a recording that was never finalised):
                # play what is there, in whole samples.
                body = body[: len(body) & ~1] if fmtName == "slin" else body
            return WavAudio(fmtName, bytes(body), rate, channels)
        offset += 8 + size + (size & 1)
    raise WavError(f"{name}: no data chunk")


def wavHeader(fmt: str, dataLength: int, rate: int = 8000) -> bytes:
    """
    The header of a mono WAV file of C{dataLength} audio bytes. µ-law and
    A-law files get the 18-byte fmt chunk and the fact chunk that non-PCM
    formats require.
    """
    tag = WAV_FORMATS.get(fmt)
    if tag is None:
        raise WavError(f"cannot write format {fmt!r} to a WAV file")
    width = 2 if fmt == "slin" else 1
    if fmt == "slin":
        fmtChunk = struct.pack("<4sIHHIIHH", b"fmt ", 16, tag, 1, rate, rate * width,
                               width, 8 * width)
        extra = b""
    else:
        fmtChunk = struct.pack("<4sIHHIIHHH", b"fmt ", 18, tag, 1, rate, rate * width,
                               width, 8 * width, 0)
        extra = struct.pack("<4sII", b"fact", 4, dataLength // width)
    pad = dataLength & 1
    riffSize = 4 + len(fmtChunk) + len(extra) + 8 + dataLength + pad
    return (struct.pack("<4sI4s", b"RIFF", riffSize, b"WAVE") + fmtChunk + extra
            + struct.pack("<4sI", b"data", dataLength))


def writeWav(fmt: str, data: bytes, rate: int = 8000) -> bytes:
    """A complete mono WAV file of C{data} in format C{fmt}."""
    if fmt == "slin" and len(data) % 2:
        raise WavError("16-bit PCM audio of an odd number of bytes")
    return wavHeader(fmt, len(data), rate) + data + (b"\x00" if len(data) & 1 else b"")
