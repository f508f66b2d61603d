"""
SRTP/SRTCP through libsrtp against RFC 3711 Appendix B. libsrtp does not
expose its session keys nor its keystream, so the vectors are checked
through what protect() sends: the AES-CM keystream of B.2 is computed here
(and checked against B.2's blocks), then with the session keys B.3 derives
from its master key the exact SRTP packet is predicted and compared byte
for byte with libsrtp's output. Pure: no reactor.
"""

import hashlib
import hmac
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pbxcore.media.srtp import (
    SUITES, SRTPContext, SRTPError, keysFromDTLS, newMasterKey,
)


def unhex(text):
    return bytes.fromhex("".join(text.split()))


def keystream(sessionKey, sessionSalt, ssrc, index, length):
    """AES-CM (RFC 3711 section 4.1.1): IV = salt*2^16 xor SSRC*2^64 xor index*2^16."""
    iv = (int.from_bytes(sessionSalt, "big") << 16) ^ (ssrc << 64) ^ (index << 16)
    encryptor = Cipher(algorithms.AES(sessionKey), modes.CTR(iv.to_bytes(16, "big"))).encryptor()
    return encryptor.update(b"\x00" * length)


# RFC 3711 B.2: the AES-CM keystream.
B2_KEY = unhex("2B7E151628AED2A6ABF7158809CF4F3C")
B2_SALT = unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD")
B2_BLOCKS = {
    0x0000: "E03EAD0935C95E80E166B16DD92B4EB4",
    0x0001: "D23513162B02D0F72A43A2FE4A5F97AB",
    0x0002: "41E95B3BB0A2E8DD477901E4FCA894C0",
    0xFEFF: "EC8CDF7398607CB0F2D21675EA9EA1E4",
    0xFF00: "362B7C3C6773516318A077D7FC5073AE",
    0xFF01: "6A2CC3787889374FBEB4C81B17BA6C44",
}

# RFC 3711 B.3: key derivation.
B3_MASTER_KEY = unhex("E1F97A0D3E018BE0D64FA32C06DE4139")
B3_MASTER_SALT = unhex("0EC675AD498AFEEBB6960B3AABE6")
B3_CIPHER_KEY = unhex("C61E7A93744F39EE10734AFE3FF7A087")
B3_CIPHER_SALT = unhex("30CBBC08863D8C85D49DB34A9AE1")
B3_AUTH_KEY = unhex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")


def test_b2_keystream_blocks():
    stream = keystream(B2_KEY, B2_SALT, 0, 0, 16 * 0xFF02)
    for block, expected in B2_BLOCKS.items():
        assert stream[16 * block:16 * (block + 1)] == unhex(expected)


def test_b3_derivation_of_the_kdf_itself():
    # The PRF of section 4.3: AES-CM keyed with the master key, IV = x*2^16
    # where x = label*2^48 xor master salt (index 0, kdr 0).
    def derive(label, length):
        x = int.from_bytes(B3_MASTER_SALT, "big") ^ (label << 48)
        encryptor = Cipher(algorithms.AES(B3_MASTER_KEY),
                           modes.CTR((x << 16).to_bytes(16, "big"))).encryptor()
        return encryptor.update(b"\x00" * length)
    assert derive(0, 16) == B3_CIPHER_KEY
    assert derive(1, 20) == B3_AUTH_KEY
    assert derive(2, 14) == B3_CIPHER_SALT


def rtpPacket(seq, ssrc, payload, pt=0, timestamp=0):
    return struct.pack("!BBHII", 0x80, pt, seq, timestamp, ssrc) + payload


@pytest.mark.parametrize("suite, tagLength", [
    ("AES_CM_128_HMAC_SHA1_80", 10), ("AES_CM_128_HMAC_SHA1_32", 4),
])
@pytest.mark.parametrize("ssrc, seq", [(0, 0), (0xDEADBEEF, 1234)])
def test_protect_equals_the_packet_b3_keys_predict(suite, tagLength, ssrc, seq):
    master = B3_MASTER_KEY + B3_MASTER_SALT
    context = SRTPContext(suite, master, master)
    payload = bytes(range(160))
    plain = rtpPacket(seq, ssrc, payload)
    protected = context.protect(plain)
    encrypted = bytes(a ^ b for a, b in zip(
        payload, keystream(B3_CIPHER_KEY, B3_CIPHER_SALT, ssrc, seq, len(payload))))
    body = plain[:12] + encrypted
    tag = hmac.new(B3_AUTH_KEY, body + struct.pack("!I", 0), hashlib.sha1).digest()[:tagLength]
    assert protected == body + tag
    assert context.unprotect(protected) == plain


def test_round_trip_between_two_ends_and_tampering():
    a, b = newMasterKey(), newMasterKey()
    alice = SRTPContext("AES_CM_128_HMAC_SHA1_80", a, b)
    bob = SRTPContext("AES_CM_128_HMAC_SHA1_80", b, a)
    for seq in range(65530, 65536):
        packet = rtpPacket(seq, 42, b"\xd5" * 160, timestamp=seq * 160)
        sent = alice.protect(packet)
        assert sent != packet and len(sent) == len(packet) + 10
        assert bob.unprotect(sent) == packet
    damaged = bytearray(alice.protect(rtpPacket(1, 42, b"\x01" * 160)))
    damaged[20] ^= 0x40
    with pytest.raises(SRTPError):
        bob.unprotect(bytes(damaged))
    assert bob.failed == 1
    replay = alice.protect(rtpPacket(2, 42, b"\x02" * 160))
    assert bob.unprotect(replay)
    with pytest.raises(SRTPError):
        bob.unprotect(replay)
    with pytest.raises(SRTPError):
        bob.unprotect(b"\x80")


def test_srtcp_round_trip():
    a, b = newMasterKey("AES_CM_128_HMAC_SHA1_32"), newMasterKey("AES_CM_128_HMAC_SHA1_32")
    alice = SRTPContext("AES_CM_128_HMAC_SHA1_32", a, b)
    bob = SRTPContext("AES_CM_128_HMAC_SHA1_32", b, a)
    report = struct.pack("!BBHI", 0x80, 201, 1, 42)  # an empty receiver report
    sent = alice.protectRtcp(report)
    # SRTCP: E flag and index, then an 80-bit tag even for the _32 suite.
    assert len(sent) == len(report) + 4 + 10
    assert bob.unprotectRtcp(sent) == report


def test_bad_keys_and_suites():
    with pytest.raises(SRTPError):
        SRTPContext("AES_CM_128_HMAC_SHA1_80", b"short", newMasterKey())
    with pytest.raises(SRTPError):
        SRTPContext("F8_128_HMAC_SHA1_80", newMasterKey(), newMasterKey())
    assert set(SUITES) == {"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}


def test_dtls_keying_material_split():
    material = bytes(range(60))
    client, server = material[:16] + material[32:46], material[16:32] + material[46:60]
    assert keysFromDTLS(material, "AES_CM_128_HMAC_SHA1_80", isClient=True) == (client, server)
    assert keysFromDTLS(material, "AES_CM_128_HMAC_SHA1_80", isClient=False) == (server, client)
    with pytest.raises(SRTPError):
        keysFromDTLS(material[:59], "AES_CM_128_HMAC_SHA1_80", True)
