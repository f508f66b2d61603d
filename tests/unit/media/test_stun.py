"""
STUN codec (RFC 8489) against every test vector of RFC 5769, and the
RFC 7983 demultiplexer. Pure: no reactor.
"""

import pytest

from pbxcore.media import demux
from pbxcore.media.stun import (
    BINDING, ERROR, FINGERPRINT, ICE_CONTROLLED, MESSAGE_INTEGRITY, NONCE, PRIORITY, REALM,
    REQUEST, SOFTWARE, SUCCESS, USERNAME, XOR_MAPPED_ADDRESS, STUNError, STUNMessage,
    decodeXorAddress, encodeXorAddress, errorCodeValue, isSTUN, longTermKey, parseSTUN,
)


def unhex(text):
    return bytes.fromhex("".join(text.split()))


# RFC 5769 section 2.1, Sample Request (short-term credentials).
SAMPLE_REQUEST = unhex("""
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf""")

# RFC 5769 section 2.2, Sample IPv4 Response.
SAMPLE_IPV4_RESPONSE = unhex("""
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96""")

# RFC 5769 section 2.3, Sample IPv6 Response.
SAMPLE_IPV6_RESPONSE = unhex("""
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c""")

# RFC 5769 section 2.4, Sample Request with Long-Term Authentication.
SAMPLE_LONG_TERM = unhex("""
    00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
    00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
    00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
    00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
    00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66""")

PASSWORD = b"VOkJxbRl1RmTxUk/WvJxBt"
TRANSACTION = unhex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae")


def test_sample_request():
    message = parseSTUN(SAMPLE_REQUEST)
    assert (message.method, message.cls) == (BINDING, REQUEST)
    assert message.transactionId == TRANSACTION
    assert message.get(SOFTWARE) == b"STUN test client"
    assert message.username == "evtj:h6vY"
    assert message.get(PRIORITY) == unhex("6e 00 01 ff")
    assert message.get(ICE_CONTROLLED) == unhex("93 2f f9 b1 51 26 3b 36")
    assert message.checkIntegrity(PASSWORD)
    assert not message.checkIntegrity(b"VOkJxbRl1RmTxUk/WvJxBu")
    assert message.checkFingerprint()


def test_sample_request_rebuilt_byte_for_byte():
    # The vector pads USERNAME with spaces, ours with zeros: up to its
    # MESSAGE-INTEGRITY the rebuilt request equals the vector with those
    # three pad bytes zeroed; its integrity and fingerprint check out.
    message = parseSTUN(SAMPLE_REQUEST)
    attributes = tuple((k, v) for k, v in message.attributes
                       if k not in (MESSAGE_INTEGRITY, FINGERPRINT))
    rebuilt = STUNMessage(BINDING, REQUEST, TRANSACTION, attributes).toBytes(PASSWORD, True)
    expected = bytearray(SAMPLE_REQUEST)
    expected[73:76] = b"\x00\x00\x00"
    assert len(rebuilt) == len(SAMPLE_REQUEST)
    assert rebuilt[:76] == bytes(expected[:76])
    again = parseSTUN(rebuilt)
    assert again.attributes[:4] == attributes
    assert again.checkIntegrity(PASSWORD) and again.checkFingerprint()


@pytest.mark.parametrize("vector, host", [
    (SAMPLE_IPV4_RESPONSE, "192.0.2.1"),
    (SAMPLE_IPV6_RESPONSE, "2001:db8:1234:5678:11:2233:4455:6677"),
])
def test_sample_responses(vector, host):
    message = parseSTUN(vector)
    assert (message.method, message.cls) == (BINDING, SUCCESS)
    assert message.get(SOFTWARE) == b"test vector"
    assert message.xorMappedAddress == (host, 32853)
    assert encodeXorAddress(host, 32853, TRANSACTION) == message.get(XOR_MAPPED_ADDRESS)
    assert message.checkIntegrity(PASSWORD)
    assert message.checkFingerprint()
    # Built from its parts (SOFTWARE padded with a space in the RFC, a zero here).
    rebuilt = STUNMessage(BINDING, SUCCESS, TRANSACTION, (
        (SOFTWARE, b"test vector"), (XOR_MAPPED_ADDRESS, encodeXorAddress(host, 32853, TRANSACTION)),
    )).toBytes(PASSWORD, True)
    expected = bytearray(vector)
    expected[20 + 4 + 11] = 0  # the pad byte of SOFTWARE
    again = parseSTUN(rebuilt)
    assert rebuilt[:-32] == bytes(expected[:-32])
    assert again.checkIntegrity(PASSWORD) and again.checkFingerprint()


def test_sample_long_term_request():
    message = parseSTUN(SAMPLE_LONG_TERM)
    assert message.transactionId == unhex("78 ad 34 33 c6 ad 72 c0 29 da 41 2e")
    assert message.username == "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"
    assert message.get(NONCE) == b"f//499k954d6OL34oL9FSTvy64sA"
    assert message.get(REALM) == b"example.org"
    # The password "TheM\u00aatr\u2168" after SASLprep is "TheMatrIX".
    key = longTermKey(message.username, "example.org", "TheMatrIX")
    assert message.checkIntegrity(key)
    assert not message.checkIntegrity(longTermKey(message.username, "example.org", "thematrix"))
    assert not message.checkFingerprint()  # the vector has none
    # Rebuilt from its attributes with the long-term key: every byte equal.
    attributes = tuple((k, v) for k, v in message.attributes if k != MESSAGE_INTEGRITY)
    assert STUNMessage(BINDING, REQUEST, message.transactionId, attributes).toBytes(key) == SAMPLE_LONG_TERM


def test_flipped_bit_fails_integrity_and_fingerprint():
    damaged = bytearray(SAMPLE_REQUEST)
    damaged[30] ^= 1
    message = parseSTUN(bytes(damaged))
    assert not message.checkIntegrity(PASSWORD)
    assert not message.checkFingerprint()


def test_error_response_and_xor_roundtrip():
    message = STUNMessage(BINDING, ERROR, TRANSACTION, ((0x0009, errorCodeValue(401, "Unauthorized")),))
    parsed = parseSTUN(message.toBytes(fingerprint=True))
    assert (parsed.method, parsed.cls) == (BINDING, ERROR)
    assert parsed.get(0x0009)[2:4] == bytes([4, 1])
    assert decodeXorAddress(encodeXorAddress("::1", 5, TRANSACTION), TRANSACTION) == ("::1", 5)


@pytest.mark.parametrize("data", [
    b"", b"\x00\x01", SAMPLE_REQUEST[:19], SAMPLE_REQUEST[:-1],
    b"\x80" + SAMPLE_REQUEST[1:],                       # first bits not zero
    SAMPLE_REQUEST[:4] + b"\x21\x12\xa4\x43" + SAMPLE_REQUEST[8:],  # no cookie
    SAMPLE_REQUEST[:2] + b"\x00\x57" + SAMPLE_REQUEST[4:],  # length not a multiple of 4
    SAMPLE_REQUEST[:2] + b"\x00\x04" + SAMPLE_REQUEST[4:24] + b"\x00\x22\x00\x10",  # overrun
])
def test_malformed_raises_stun_error(data):
    with pytest.raises(STUNError):
        parseSTUN(data)


def test_is_stun():
    assert isSTUN(SAMPLE_REQUEST) and isSTUN(SAMPLE_IPV6_RESPONSE)
    assert not isSTUN(b"\x80\x00" + SAMPLE_REQUEST[2:])
    assert not isSTUN(SAMPLE_REQUEST[:10])


@pytest.mark.parametrize("first, kind", [
    (0, demux.STUN), (3, demux.STUN), (16, demux.ZRTP), (20, demux.DTLS), (22, demux.DTLS),
    (63, demux.DTLS), (64, demux.TURN), (79, demux.TURN), (128, demux.RTP), (191, demux.RTP),
    (4, demux.UNKNOWN), (100, demux.UNKNOWN), (192, demux.UNKNOWN), (255, demux.UNKNOWN),
])
def test_demultiplexer_first_byte(first, kind):
    assert demux.classify(bytes([first, 0]) + b"\x00" * 10) == kind


@pytest.mark.parametrize("second, kind", [
    (0, demux.RTP), (0x80 | 111, demux.RTP), (200, demux.RTCP), (201, demux.RTCP),
    (205, demux.RTCP), (206, demux.RTCP), (223, demux.RTCP), (224, demux.RTP),
])
def test_demultiplexer_rtcp_mux(second, kind):
    assert demux.classify(bytes([0x80, second]) + b"\x00" * 10) == kind
    assert demux.classify(b"") == demux.UNKNOWN
