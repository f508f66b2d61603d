"""
G.711 against the standard's tables. The expected values are rebuilt here
from the segment structure ITU-T G.711 tabulates (Tables 1 and 2: segment
starts, step sizes, decoder outputs at the interval midpoints, character
inversion), independently of the implementation's arithmetic.
"""

from array import array

import pytest

from pbxcore.media import g711


def ulawReference(segment, step):
    """Decoder output (14-bit scale, max 8031) of positive µ-law (segment, step)."""
    return (1 << (segment + 5)) - 33 + step * (1 << (segment + 1)) + (1 << segment)


def alawReference(segment, step):
    """Decoder output (13-bit scale, max 4032) of positive A-law (segment, step)."""
    if segment == 0:
        return 2 * step + 1
    return (1 << (segment + 4)) + step * (1 << segment) + (1 << (segment - 1))


def ulawCharacter(positive, segment, step):
    # All bits inverted on the line; sign bit 1 for positive before inversion is 0.
    return (0x80 if positive else 0) | ((7 - segment) << 4) | (15 - step)


def alawCharacter(positive, segment, step):
    # Even bits inverted on the line (XOR 0x55); sign bit 1 for positive.
    return ((0x80 if positive else 0) | (segment << 4) | step) ^ 0x55


# Spot values as printed in G.711 (14-bit µ-law, 13-bit A-law scales).
ULAW_TABLE_POINTS = {0xFF: 0, 0xFE: 2, 0xF0: 30, 0xEF: 33, 0xE0: 93, 0xDF: 99,
                     0x8F: 4191, 0x80: 8031, 0x7F: 0, 0x00: -8031}
ALAW_TABLE_POINTS = {0xD5: 1, 0xD4: 3, 0xC5: 33, 0xAA: 4032, 0xA5: 2112, 0x55: -1, 0x2A: -4032}


def test_ulawTablePoints():
    for code, value in ULAW_TABLE_POINTS.items():
        assert g711.ULAW_TO_LINEAR[code] == 4 * value, hex(code)


def test_alawTablePoints():
    for code, value in ALAW_TABLE_POINTS.items():
        assert g711.ALAW_TO_LINEAR[code] == 8 * value, hex(code)


def test_ulawDecoderTable():
    for segment in range(8):
        for step in range(16):
            y = ulawReference(segment, step)
            assert g711.ULAW_TO_LINEAR[ulawCharacter(True, segment, step)] == 4 * y
            assert g711.ULAW_TO_LINEAR[ulawCharacter(False, segment, step)] == -4 * y


def test_alawDecoderTable():
    for segment in range(8):
        for step in range(16):
            y = alawReference(segment, step)
            assert g711.ALAW_TO_LINEAR[alawCharacter(True, segment, step)] == 8 * y
            assert g711.ALAW_TO_LINEAR[alawCharacter(False, segment, step)] == -8 * y


def ulawExpected(sample):
    """The character whose decision interval holds C{sample} (G.191 conventions)."""
    positive = sample >= 0
    x = (sample if positive else ~sample) >> 2       # 14-bit magnitude
    biased = min(x + 33, 8191)                       # 8159 and above overload
    segment = biased.bit_length() - 6
    step = (biased - (1 << (segment + 5))) >> (segment + 1)
    return ulawCharacter(positive, segment, step)


def alawExpected(sample):
    positive = sample >= 0
    x = (sample if positive else ~sample) >> 3       # 12-bit magnitude
    if x < 32:
        segment, step = 0, x >> 1
    else:
        segment = x.bit_length() - 5
        step = (x >> segment) & 15
    return alawCharacter(positive, segment, step)


def test_ulawEncoderEverySample():
    for sample in range(-32768, 32768):
        assert g711.ulawEncode(sample) == ulawExpected(sample), sample


def test_alawEncoderEverySample():
    for sample in range(-32768, 32768):
        assert g711.alawEncode(sample) == alawExpected(sample), sample


def test_decodeThenEncodeIsIdentity():
    for code in range(256):
        if code != 0x7F:   # µ-law negative zero decodes to 0, encoded as 0xFF
            assert g711.ulawEncode(g711.ULAW_TO_LINEAR[code]) == code
        assert g711.alawEncode(g711.ALAW_TO_LINEAR[code]) == code


def test_bufferConversions():
    samples = array("h", [0, 1, -1, 1000, -1000, 32767, -32768, 12345])
    pcm = samples.tobytes()
    ulaw = g711.linearToUlaw(pcm)
    assert list(ulaw) == [g711.ulawEncode(s) for s in samples]
    alaw = g711.linearToAlaw(pcm)
    assert list(alaw) == [g711.alawEncode(s) for s in samples]
    back = array("h")
    back.frombytes(g711.ulawToLinear(ulaw))
    assert list(back) == [g711.ULAW_TO_LINEAR[c] for c in ulaw]


def test_lawToLawThroughLinear():
    for code in range(256):
        assert g711.ulawToAlaw(bytes([code]))[0] == g711.alawEncode(g711.ULAW_TO_LINEAR[code])
        assert g711.alawToUlaw(bytes([code]))[0] == g711.ulawEncode(g711.ALAW_TO_LINEAR[code])
    assert g711.transcode("ulaw", "alaw", b"\xff\x80") == g711.ulawToAlaw(b"\xff\x80")
    assert g711.transcode("alaw", "slin", b"\xd5") == g711.alawToLinear(b"\xd5")


def test_silenceAndErrors():
    assert g711.silence("ulaw", 3) == b"\xff\xff\xff"
    assert g711.silence("alaw", 2) == b"\xd5\xd5"
    assert g711.ULAW_TO_LINEAR[g711.ULAW_SILENCE] == 0
    with pytest.raises(ValueError):
        g711.decode("gsm", b"")
