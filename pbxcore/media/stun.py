"""
STUN (RFC 8489) messages: the codec an ICE-lite agent needs.

Pure: bytes in, L{STUNMessage} out, and back. Attributes are kept in order
as (type, value) pairs; the address attributes (MAPPED-ADDRESS,
XOR-MAPPED-ADDRESS), MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to it,
RFC 8489 section 14.5) and FINGERPRINT (CRC-32 xor 0x5354554e, section 14.7)
are computed and checked here. The keys: short-term credentials use the
password itself, long-term credentials MD5(username:realm:password).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
import zlib
from dataclasses import dataclass, field

__all__ = [
    "STUNError", "STUNMessage", "parseSTUN", "isSTUN", "MAGIC_COOKIE",
    "BINDING", "REQUEST", "INDICATION", "SUCCESS", "ERROR",
    "MAPPED_ADDRESS", "USERNAME", "MESSAGE_INTEGRITY", "ERROR_CODE", "UNKNOWN_ATTRIBUTES",
    "REALM", "NONCE", "XOR_MAPPED_ADDRESS", "PRIORITY", "USE_CANDIDATE", "SOFTWARE",
    "FINGERPRINT", "ICE_CONTROLLED", "ICE_CONTROLLING",
    "longTermKey", "encodeXorAddress", "decodeXorAddress", "errorCodeValue",
]

MAGIC_COOKIE = 0x2112A442
_FINGERPRINT_XOR = 0x5354554E
_HEADER = struct.Struct("!HHI12s")

BINDING = 0x001
REQUEST, INDICATION, SUCCESS, ERROR = 0b00, 0b01, 0b10, 0b11

MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
REALM = 0x0014
NONCE = 0x0015
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A


class STUNError(ValueError):
    """Bytes that are not a well-formed STUN message; C{str()} says why."""


def _messageType(method: int, cls: int) -> int:
    # M11..M7 C1 M6..M4 C0 M3..M0 (RFC 8489 section 5)
    return ((method & 0xF80) << 2) | ((method & 0x070) << 1) | (method & 0x00F) \
        | ((cls & 0b10) << 7) | ((cls & 0b01) << 4)


def _splitType(value: int) -> tuple[int, int]:
    method = ((value & 0x3E00) >> 2) | ((value & 0x00E0) >> 1) | (value & 0x000F)
    cls = ((value & 0x0100) >> 7) | ((value & 0x0010) >> 4)
    return method, cls


def _pad(length: int) -> int:
    return (4 - length % 4) % 4


def longTermKey(username: str, realm: str, password: str) -> bytes:
    """The long-term credential key (RFC 8489 section 9.2.2), the password already SASLprepped."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode("utf-8")).digest()


def encodeXorAddress(host: str, port: int, transactionId: bytes) -> bytes:
    """An XOR-MAPPED-ADDRESS value for (host, port)."""
    address = ipaddress.ip_address(host)
    xport = port ^ (MAGIC_COOKIE >> 16)
    if address.version == 4:
        raw = int(address) ^ MAGIC_COOKIE
        return struct.pack("!BBHI", 0, 1, xport, raw)
    mask = int.from_bytes(struct.pack("!I", MAGIC_COOKIE) + transactionId, "big")
    return struct.pack("!BBH", 0, 2, xport) + (int(address) ^ mask).to_bytes(16, "big")


def decodeXorAddress(value: bytes, transactionId: bytes) -> tuple[str, int]:
    """(host, port) of an XOR-MAPPED-ADDRESS value."""
    if len(value) < 4:
        raise STUNError("XOR-MAPPED-ADDRESS too short")
    _, family, xport = struct.unpack_from("!BBH", value)
    port = xport ^ (MAGIC_COOKIE >> 16)
    if family == 1 and len(value) == 8:
        raw = struct.unpack_from("!I", value, 4)[0] ^ MAGIC_COOKIE
        return str(ipaddress.IPv4Address(raw)), port
    if family == 2 and len(value) == 20:
        mask = int.from_bytes(struct.pack("!I", MAGIC_COOKIE) + transactionId, "big")
        raw = int.from_bytes(value[4:], "big") ^ mask
        return str(ipaddress.IPv6Address(raw)), port
    raise STUNError(f"bad XOR-MAPPED-ADDRESS family {family} or length {len(value)}")


def errorCodeValue(code: int, reason: str = "") -> bytes:
    """An ERROR-CODE value (class and number, then the reason phrase)."""
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode("utf-8")


@dataclass(frozen=True)
class STUNMessage:
    """
    One STUN message. C{raw} is the wire form it was parsed from (integrity
    and fingerprint are checked against it); built messages have none until
    L{toBytes}.
    """

    method: int
    cls: int
    transactionId: bytes
    attributes: tuple[tuple[int, bytes], ...] = ()
    raw: bytes = field(default=b"", compare=False, repr=False)

    def get(self, attrType: int) -> bytes | None:
        """The value of the first attribute of C{attrType}, or None."""
        for key, value in self.attributes:
            if key == attrType:
                return value
        return None

    @property
    def username(self) -> str | None:
        value = self.get(USERNAME)
        return None if value is None else value.decode("utf-8", "replace")

    @property
    def xorMappedAddress(self) -> tuple[str, int] | None:
        value = self.get(XOR_MAPPED_ADDRESS)
        return None if value is None else decodeXorAddress(value, self.transactionId)

    def toBytes(self, integrityKey: bytes | None = None, fingerprint: bool = False) -> bytes:
        """
        The wire form; with C{integrityKey} a MESSAGE-INTEGRITY is appended,
        with C{fingerprint} a FINGERPRINT after it (any of either already in
        C{attributes} is left out).
        """
        if len(self.transactionId) != 12:
            raise STUNError("a transaction id is 12 bytes")
        body = bytearray()
        for key, value in self.attributes:
            if key in (MESSAGE_INTEGRITY, FINGERPRINT):
                continue
            body += struct.pack("!HH", key, len(value)) + value + b"\x00" * _pad(len(value))
        mtype = _messageType(self.method, self.cls)
        if integrityKey is not None:
            header = _HEADER.pack(mtype, len(body) + 24, MAGIC_COOKIE, self.transactionId)
            mac = hmac.new(integrityKey, header + body, hashlib.sha1).digest()
            body += struct.pack("!HH", MESSAGE_INTEGRITY, 20) + mac
        if fingerprint:
            header = _HEADER.pack(mtype, len(body) + 8, MAGIC_COOKIE, self.transactionId)
            crc = (zlib.crc32(header + body) ^ _FINGERPRINT_XOR) & 0xFFFFFFFF
            body += struct.pack("!HHI", FINGERPRINT, 4, crc)
        return _HEADER.pack(mtype, len(body), MAGIC_COOKIE, self.transactionId) + bytes(body)

    def _offsetOf(self, attrType: int) -> int | None:
        raw = self.raw
        offset = 20
        while offset + 4 <= len(raw):
            key, length = struct.unpack_from("!HH", raw, offset)
            if key == attrType:
                return offset
            offset += 4 + length + _pad(length)
        return None

    def checkIntegrity(self, key: bytes) -> bool:
        """True when the message's MESSAGE-INTEGRITY was made with C{key}."""
        offset = self._offsetOf(MESSAGE_INTEGRITY)
        if offset is None or offset + 24 > len(self.raw):
            return False
        raw = self.raw
        header = raw[:2] + struct.pack("!H", offset + 24 - 20) + raw[4:20]
        mac = hmac.new(key, header + raw[20:offset], hashlib.sha1).digest()
        return hmac.compare_digest(mac, raw[offset + 4:offset + 24])

    def checkFingerprint(self) -> bool:
        """True when a FINGERPRINT is present, last, and matches."""
        raw = self.raw
        offset = self._offsetOf(FINGERPRINT)
        if offset is None or offset + 8 != len(raw):
            return False
        crc = (zlib.crc32(raw[:offset]) ^ _FINGERPRINT_XOR) & 0xFFFFFFFF
        return struct.unpack_from("!I", raw, offset + 4)[0] == crc


def isSTUN(data: bytes) -> bool:
    """A cheap test: the first two bits zero, a STUN length and the magic cookie."""
    return (len(data) >= 20 and data[0] < 4
            and struct.unpack_from("!I", data, 4)[0] == MAGIC_COOKIE
            and struct.unpack_from("!H", data, 2)[0] % 4 == 0)


def parseSTUN(data: bytes) -> STUNMessage:
    """Parse one STUN message (a datagram); raises L{STUNError}."""
    if len(data) < 20:
        raise STUNError("shorter than a STUN header")
    mtype, length, cookie, transactionId = _HEADER.unpack_from(data)
    if mtype & 0xC000:
        raise STUNError("the first two bits of a STUN message are zero")
    if cookie != MAGIC_COOKIE:
        raise STUNError("no STUN magic cookie")
    if length % 4 or 20 + length > len(data):
        raise STUNError(f"bad STUN message length {length}")
    raw = bytes(data[:20 + length])
    attributes = []
    offset = 20
    seenIntegrity = False
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise STUNError("truncated STUN attribute header")
        key, size = struct.unpack_from("!HH", raw, offset)
        end = offset + 4 + size
        if end > len(raw):
            raise STUNError(f"STUN attribute 0x{key:04x} overruns the message")
        # After MESSAGE-INTEGRITY only FINGERPRINT counts (RFC 8489 section 14.5).
        if not seenIntegrity or key == FINGERPRINT:
            attributes.append((key, raw[offset + 4:end]))
        if key == MESSAGE_INTEGRITY:
            seenIntegrity = True
        offset = end + _pad(size)
    method, cls = _splitType(mtype)
    return STUNMessage(method, cls, transactionId, tuple(attributes), raw)
