"""Sound files for Playback go through the one WAV reader of pbxcore.media.wav."""

import pytest

from pbxcore.dialplan.builtins import loadSound
from pbxcore.media.wav import WavError, writeWav


def test_wavFilesOfEachFormat(tmp_path):
    for fmt, data in (("slin", b"\x01\x02" * 80), ("ulaw", b"\xff" * 161), ("alaw", b"\xd5" * 160)):
        path = tmp_path / f"tone-{fmt}.wav"
        path.write_bytes(writeWav(fmt, data))
        assert loadSound(str(path)) == (fmt, data)


def test_extraChunksAreSkipped(tmp_path):
    data = writeWav("ulaw", b"\x7f" * 40)
    # A LIST chunk (odd size, padded) between the header and fmt.
    listChunk = b"LIST" + (3).to_bytes(4, "little") + b"abc\x00"
    body = data[:12] + listChunk + data[12:]
    body = body[:4] + (len(body) - 8).to_bytes(4, "little") + body[8:]
    path = tmp_path / "list.wav"
    path.write_bytes(body)
    assert loadSound(str(path)) == ("ulaw", b"\x7f" * 40)


def test_unplayableWavIsAValueErrorNamingTheFile(tmp_path):
    path = tmp_path / "stereo.wav"
    data = bytearray(writeWav("slin", b"\x00\x00" * 4))
    data[22] = 2  # two channels
    path.write_bytes(bytes(data))
    with pytest.raises(WavError) as info:
        loadSound(str(path))
    assert isinstance(info.value, ValueError)
    assert "stereo.wav" in str(info.value)
    raw = tmp_path / "x.txt"
    raw.write_bytes(b"hello")
    with pytest.raises(ValueError):
        loadSound(str(raw))
