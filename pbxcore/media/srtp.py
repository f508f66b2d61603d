"""
SRTP and SRTCP (RFC 3711) for one stream, through libsrtp (C{pylibsrtp}).

Pure (no reactor): an L{SRTPContext} holds the inbound and outbound
libsrtp sessions of one media stream. Keys come from SDES (RFC 4568: one
master key and salt per direction, each side sends its own in a=crypto) or
from DTLS-SRTP (RFC 5764 section 4.2: the exported keying material split
into the client's and the server's key and salt).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pylibsrtp import Error as _LibError
from pylibsrtp import Policy, Session

__all__ = ["SRTPError", "SRTPContext", "SUITES", "Suite", "newMasterKey", "keysFromDTLS",
           "DTLS_SRTP_PROFILES"]


class SRTPError(ValueError):
    """A packet that did not authenticate, a replay, or a bad key."""


@dataclass(frozen=True)
class Suite:
    """An SRTP crypto suite: its SDES name, libsrtp profile and key sizes."""

    name: str
    profile: int
    keyLength: int = 16
    saltLength: int = 14

    @property
    def masterLength(self) -> int:
        return self.keyLength + self.saltLength


#: The suites we offer and accept, in our order of preference (RFC 4568 section 6.2).
SUITES = {
    "AES_CM_128_HMAC_SHA1_80": Suite("AES_CM_128_HMAC_SHA1_80",
                                     Policy.SRTP_PROFILE_AES128_CM_SHA1_80),
    "AES_CM_128_HMAC_SHA1_32": Suite("AES_CM_128_HMAC_SHA1_32",
                                     Policy.SRTP_PROFILE_AES128_CM_SHA1_32),
}

#: The DTLS use_srtp profile names (RFC 5764 section 4.1.2) and their suites.
DTLS_SRTP_PROFILES = {
    b"SRTP_AES128_CM_SHA1_80": "AES_CM_128_HMAC_SHA1_80",
    b"SRTP_AES128_CM_SHA1_32": "AES_CM_128_HMAC_SHA1_32",
}


def newMasterKey(suite: str = "AES_CM_128_HMAC_SHA1_80") -> bytes:
    """A fresh random master key and salt for C{suite}."""
    return os.urandom(SUITES[suite].masterLength)


def keysFromDTLS(material: bytes, suite: str, isClient: bool) -> tuple[bytes, bytes]:
    """
    (our key+salt, the peer's key+salt) from the keying material DTLS
    exported under "EXTRACTOR-dtls_srtp" (RFC 5764 section 4.2).
    """
    spec = SUITES[suite]
    k, s = spec.keyLength, spec.saltLength
    if len(material) < 2 * (k + s):
        raise SRTPError("not enough DTLS keying material")
    clientKey, serverKey = material[:k], material[k:2 * k]
    clientSalt, serverSalt = material[2 * k:2 * k + s], material[2 * k + s:2 * (k + s)]
    client, server = clientKey + clientSalt, serverKey + serverSalt
    return (client, server) if isClient else (server, client)


class SRTPContext:
    """
    Protect what we send with C{localKey}, unprotect what we receive with
    C{remoteKey} (master key and salt each). Counters are kept for 'sip
    show channelstats'.
    """

    def __init__(self, suite: str, localKey: bytes, remoteKey: bytes):
        spec = SUITES.get(suite)
        if spec is None:
            raise SRTPError(f"unsupported SRTP suite {suite!r}")
        for key in (localKey, remoteKey):
            if len(key) != spec.masterLength:
                raise SRTPError(f"{suite} needs a {spec.masterLength}-byte key and salt")
        self.suite = suite
        outbound = Policy(key=localKey, ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                          srtp_profile=spec.profile)
        # A relay may send a sequence number again (a duplicate passed on):
        # libsrtp would otherwise refuse it as a replay of our own.
        outbound.allow_repeat_tx = True
        self._out = Session(policy=outbound)
        self._in = Session(policy=Policy(key=remoteKey, ssrc_type=Policy.SSRC_ANY_INBOUND,
                                         srtp_profile=spec.profile))
        self.failed = 0

    def protect(self, packet: bytes) -> bytes:
        try:
            return self._out.protect(bytes(packet))
        except (_LibError, ValueError) as e:
            raise SRTPError(str(e)) from None

    def unprotect(self, packet: bytes) -> bytes:
        try:
            return self._in.unprotect(packet)
        except (_LibError, ValueError, TypeError) as e:
            self.failed += 1
            raise SRTPError(str(e)) from None

    def protectRtcp(self, packet: bytes) -> bytes:
        try:
            return self._out.protect_rtcp(bytes(packet))
        except (_LibError, ValueError) as e:
            raise SRTPError(str(e)) from None

    def unprotectRtcp(self, packet: bytes) -> bytes:
        try:
            return self._in.unprotect_rtcp(packet)
        except (_LibError, ValueError, TypeError) as e:
            self.failed += 1
            raise SRTPError(str(e)) from None
