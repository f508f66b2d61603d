"""
An ICE-lite agent (RFC 8445 section 2.5): the PBX has a public (here: its
own) address, offers host candidates only, never sends checks, and answers
the far end's connectivity checks; the pair the far end nominates
(USE-CANDIDATE) is where media goes.

Pure: a STUN request and the address it came from go in; the response to
send and whether the address is now the selected one come out.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from pbxcore.media.stun import (
    BINDING, ERROR, ERROR_CODE, REQUEST, SUCCESS, SOFTWARE, USE_CANDIDATE, XOR_MAPPED_ADDRESS,
    STUNError, STUNMessage, encodeXorAddress, errorCodeValue, parseSTUN,
)

__all__ = ["IceLiteAgent", "CheckResult", "randomIceString"]

_ICE_CHARS = string.ascii_letters + string.digits + "+/"


def randomIceString(length: int) -> str:
    """ice-char* of C{length} (RFC 8839 section 5.4), from a CSPRNG."""
    return "".join(secrets.choice(_ICE_CHARS) for _ in range(length))


@dataclass(frozen=True)
class CheckResult:
    """What answering one datagram gave: bytes to send back, and the latch."""

    response: bytes | None
    valid: bool = False
    nominated: bool = False


class IceLiteAgent:
    """
    The lite, controlled side of one media stream's ICE session.
    C{selected} is the remote address media is latched to: the nominated
    pair, or until one is nominated the first address a valid check came from.
    """

    software = b"txpbx"

    def __init__(self, localUfrag: str | None = None, localPwd: str | None = None):
        self.localUfrag = localUfrag or randomIceString(8)
        self.localPwd = localPwd or randomIceString(24)
        self.remoteUfrag: str | None = None
        self.remotePwd: str | None = None
        self.selected: tuple[str, int] | None = None
        self.nominated = False
        self.checks = 0
        self.refused = 0

    def setRemote(self, ufrag: str, pwd: str) -> None:
        """The far end's credentials (from its SDP); an ICE restart clears the latch."""
        if self.remoteUfrag is not None and ufrag != self.remoteUfrag:
            self.selected = None
            self.nominated = False
        self.remoteUfrag, self.remotePwd = ufrag, pwd

    def receive(self, data: bytes, addr: tuple[str, int]) -> CheckResult:
        """A STUN datagram on the media port from C{addr}."""
        try:
            message = parseSTUN(data)
        except STUNError:
            self.refused += 1
            return CheckResult(None)
        if message.method != BINDING or message.cls != REQUEST:
            # Responses and indications (keepalives) need no answer.
            return CheckResult(None)
        key = self.localPwd.encode("utf-8")
        username = message.username or ""
        local, _, remote = username.partition(":")
        if local != self.localUfrag or (self.remoteUfrag and remote != self.remoteUfrag):
            self.refused += 1
            return CheckResult(self._error(message, 400, "Bad Request"))
        if not message.checkIntegrity(key):
            self.refused += 1
            return CheckResult(self._error(message, 401, "Unauthorized"))
        self.checks += 1
        nominated = message.get(USE_CANDIDATE) is not None
        host, port = addr[0], addr[1]
        response = STUNMessage(BINDING, SUCCESS, message.transactionId, (
            (XOR_MAPPED_ADDRESS, encodeXorAddress(host, port, message.transactionId)),
        )).toBytes(key, fingerprint=True)
        if nominated:
            self.selected = (host, port)
            self.nominated = True
        elif self.selected is None:
            self.selected = (host, port)
        return CheckResult(response, True, nominated)

    def _error(self, message: STUNMessage, code: int, reason: str) -> bytes:
        return STUNMessage(BINDING, ERROR, message.transactionId, (
            (ERROR_CODE, errorCodeValue(code, reason)), (SOFTWARE, self.software),
        )).toBytes(fingerprint=True)
