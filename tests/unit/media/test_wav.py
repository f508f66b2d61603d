"""WAV reading and writing."""

import struct

import pytest

from pbxcore.media.wav import WavError, readWav, wavHeader, writeWav


@pytest.mark.parametrize("fmt,data", [("slin", b"\x01\x00\xff\x7f" * 10),
                                      ("ulaw", b"\xff\x80\x00"), ("alaw", b"\xd5" * 4)])
def test_roundTrip(fmt, data):
    wav = writeWav(fmt, data)
    audio = readWav(wav)
    assert (audio.format, audio.data, audio.rate, audio.channels) == (fmt, data, 8000, 1)
    assert len(wav) % 2 == 0


def test_pcmHeaderLayout():
    header = wavHeader("slin", 320)
    assert len(header) == 44
    assert struct.unpack("<4sI4s4sIHHIIHH4sI", header) == (
        b"RIFF", 36 + 320, b"WAVE", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16, b"data", 320)


def test_ulawHasFactChunk():
    header = wavHeader("ulaw", 160)
    assert header[38:42] == b"fact" and struct.unpack_from("<I", header, 46)[0] == 160


def test_skipsUnknownChunksAndOddPadding():
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16)
    junk = struct.pack("<4sI", b"LIST", 3) + b"abc" + b"\x00"
    data = struct.pack("<4sI", b"data", 4) + b"\x10\x00\x20\x00"
    body = b"WAVE" + junk + fmt + data
    audio = readWav(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert audio.data == b"\x10\x00\x20\x00" and audio.samples == 2


@pytest.mark.parametrize("mutate,message", [
    (lambda w: b"RIFX" + w[4:], "not a RIFF"),
    (lambda w: w[:22] + struct.pack("<H", 2) + w[24:], "channels"),
    (lambda w: w[:24] + struct.pack("<I", 16000) + w[28:], "16000 Hz"),
    (lambda w: w[:20] + struct.pack("<H", 85) + w[22:], "format 85"),
    (lambda w: w[:36], "no data"),
])
def test_refusesWhatCannotBePlayed(mutate, message):
    with pytest.raises(WavError, match=message):
        readWav(mutate(writeWav("slin", b"\x00\x00" * 8)))


def test_truncatedDataIsPlayable():
    wav = writeWav("slin", b"\x01\x00" * 100)
    assert readWav(wav[:-51]).data == b"\x01\x00" * 74
