"""
SIP security: source-address ACLs and security events.

The ACL half is pure: L{ACL} is built from sip.conf's C{permit} / C{deny}
lines and answers L{ACL.allows} for an address. Rules are applied in the
order written and the last matching rule decides (Asterisk's semantics);
an address no rule matches is allowed.

The event half, L{SecurityLog}, turns every failed authentication, ACL
refusal and successful authentication into

  - one log line in the namespace C{txpbx.security}, in a fixed
    C{Key="value"} format a fail2ban filter can match, for example::

        SecurityEvent="InvalidPassword",Service="SIP",AccountID="1001",
        SessionID="a84b4c76",LocalAddress="IPV4/UDP/127.0.0.1/5060",
        RemoteAddress="IPV4/UDP/192.0.2.7/5062"

    (one line; a matching fail2ban C{failregex} is
    C{SecurityEvent="(InvalidPassword|InvalidAccountID|ChallengeResponseFailed|FailedACL)".*RemoteAddress="IPV[46]/[A-Z]+/<HOST>/\\d+"});
  - a manager event of class C{security} with the same fields
    (C{ChallengeSent}, C{ChallengeResponseFailed}, C{InvalidAccountID},
    C{SuccessfulAuth}, C{InvalidPassword}, C{FailedACL}).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import random
import re
from dataclasses import dataclass

from twisted.logger import Logger

from pbxcore.guard import AuthGuard
from channels.sip.wire.digest import (
    ALGORITHMS, Challenge, NonceCheck, NonceManager, computeHA1, computeResponse,
    credentialsFromParams, formatChallenge, parseDigest,
)

__all__ = ["ACL", "ACLRule", "parseACLRule", "SecurityLog", "formatAddress"]


@dataclass(frozen=True)
class ACLRule:
    """One C{permit} or C{deny} line: a network and whether it allows."""

    allow: bool
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    negate: bool = False

    def matches(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if address.version != self.network.version:
            inside = False
        else:
            inside = address in self.network
        return inside != self.negate

    def __str__(self) -> str:
        return f"{'permit' if self.allow else 'deny'} {'!' if self.negate else ''}{self.network}"


def parseACLRule(allow: bool, text: str) -> ACLRule:
    """
    Parse C{addr}, C{addr/bits}, C{addr/mask} (IPv4 dotted mask) or
    C{!addr/...}; raise ValueError.
    """
    text = text.strip()
    negate = text.startswith("!")
    if negate:
        text = text[1:].strip()
    if not text:
        raise ValueError("empty address")
    address, slash, mask = text.partition("/")
    address = address.strip().strip("[]")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{address!r} is not an IP address") from None
    if not slash:
        bits = ip.max_prefixlen
    else:
        mask = mask.strip()
        if mask.isdigit():
            bits = int(mask)
        else:
            try:
                maskIP = ipaddress.ip_address(mask)
            except ValueError:
                raise ValueError(f"bad netmask {mask!r}") from None
            if maskIP.version != ip.version:
                raise ValueError(f"netmask {mask!r} does not fit {address!r}")
            value = int(maskIP)
            bits = bin(value).count("1")
            full = (1 << ip.max_prefixlen) - 1
            if value != (full << (ip.max_prefixlen - bits)) & full:
                raise ValueError(f"netmask {mask!r} is not contiguous")
        if bits > ip.max_prefixlen:
            raise ValueError(f"prefix length {bits} too long")
    network = ipaddress.ip_network(f"{ip}/{bits}", strict=False)
    return ACLRule(allow, network, negate)


@dataclass(frozen=True)
class ACL:
    """An ordered list of rules; empty allows everyone."""

    rules: tuple[ACLRule, ...] = ()

    def allows(self, host: str) -> bool:
        """Whether C{host} (an IP literal) passes; a non-IP host never does when rules exist."""
        if not self.rules:
            return True
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        allowed = True
        for rule in self.rules:
            if rule.matches(address):
                allowed = rule.allow
        return allowed

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.rules) or "(none)"


def formatAddress(address) -> str:
    """C{IPV4/UDP/host/port}, the address form of Asterisk's security events."""
    if address is None:
        return "unknown"
    host = getattr(address, "host", "") or ""
    family = "IPV6" if ":" in host else "IPV4"
    transport = (getattr(address, "transport", "") or "UDP").upper()
    return f"{family}/{transport}/{host}/{getattr(address, 'port', 0)}"


_UNSAFE = re.compile(r'[\x00-\x1f"\x7f]')


def _quoted(value) -> str:
    """A double-quoted value with no quote or control character (one line, parseable)."""
    text = "" if value is None else str(value)
    return '"' + _UNSAFE.sub("", text) + '"'


class SecurityLog:
    """
    Writes security events: one log line each and a manager event.

    C{emit(name, fields, category)} is the PBX's event emitter (or None);
    C{localAddress} is a callable giving the local address string.
    """

    log = Logger(namespace="txpbx.security")

    SEVERITY = {
        "ChallengeSent": "Informational",
        "SuccessfulAuth": "Informational",
        "InvalidPassword": "Error",
        "InvalidAccountID": "Error",
        "ChallengeResponseFailed": "Error",
        "FailedACL": "Error",
        "RequestNotAllowed": "Error",
        "SourceBlocked": "Error",
    }

    def __init__(self, emit=None, localAddress: str = "", service: str = "SIP"):
        self.emit = emit
        self.localAddress = localAddress
        self.service = service
        self.counts: dict[str, int] = {}

    def line(self, event: str, fields) -> str:
        """The one-line, fail2ban-friendly text of an event."""
        parts = [f"SecurityEvent={_quoted(event)}", f"Service={_quoted(self.service)}"]
        parts.extend(f"{key}={_quoted(value)}" for key, value in fields)
        return ",".join(parts)

    def event(self, name: str, account: str | None, remote, sessionID: str | None = None, **extra) -> str:
        """Record security event C{name} for C{account} from C{remote}; return its line."""
        self.counts[name] = self.counts.get(name, 0) + 1
        severity = self.SEVERITY.get(name, "Error")
        emit = self.emit
        if emit is None and severity != "Error":
            return ""  # nothing to log and nobody to tell
        fields = [
            ("AccountID", account or ""),
            ("SessionID", sessionID or ""),
            ("LocalAddress", self.localAddress),
            ("RemoteAddress", formatAddress(remote)),
        ]
        for key, value in extra.items():
            if value is not None and value != "":
                fields.append((key, value))
        text = ""
        if severity == "Error":
            # Only failures are logged (one line each, for fail2ban);
            # challenges and successes go to the manager only.
            text = self.line(name, fields)
            self.log.warn("{securityLine}", securityLine=text, securityEvent=name)
        if emit is not None:
            emit(name, [("Severity", severity), ("Service", self.service), ("EventVersion", "1"), *fields], "security")
        return text


# -- digest authentication of requests ---------------------------------------------

class Authenticator:
    """
    Digest authentication of incoming requests, shared by REGISTER and (in
    the call layer) INVITE: L{authenticateRequest} returns the peer when the
    request carries valid credentials, and otherwise has already answered
    it (401 with a fresh challenge, 401 with C{stale=true}, or 403) and
    returns None. Challenges are always 401 / WWW-Authenticate (what phones
    registered to a PBX expect), never 407.

    C{peers} is the peer service: C{peerFor(name)}, C{config.settings},
    C{stack.userAgent}, C{now()}. An unknown user gets exactly what a wrong
    password gets (C{alwaysauthreject}, the default).
    """

    log = Logger()

    def __init__(self, peers, security: SecurityLog, key: bytes | None = None, randomBytes=None):
        self.peers = peers
        self.security = security
        if randomBytes is None:
            # Nonces are unforgeable through their HMAC; the random part only
            # makes them unique, so a seeded generator is enough (and cheap).
            generator = random.Random(os.urandom(32))
            randomBytes = lambda n: generator.getrandbits(8 * n).to_bytes(n, "big")  # noqa: E731
        self._random = randomBytes
        self.nonces = NonceManager(key or os.urandom(32), lifetime=peers.config.settings.nonceLifetime)
        # (realm, algorithms, stale) -> [(text before the nonce, text after)]
        self._challengeTemplates: dict[tuple, list[tuple[str, str]]] = {}
        self.guard = AuthGuard(peers.config.settings.guard)

    def _failed(self, host: str, account: str | None, source, callId) -> None:
        """Count a failed authentication; block the source after too many."""
        block = self.guard.failed(host, account, self.peers.now())
        if block is not None:
            self.security.event("SourceBlocked", account, source, callId,
                                BlockedFor=str(int(block.until - block.since)), BlockCount=str(block.level),
                                Reason=f"{self.guard.settings.failures} failed authentications")

    def _blocked(self, request, st, account: str | None, peerHint) -> bool:
        """
        While its source is blocked a request gets exactly what a wrong
        password gets (a 401 with a fresh challenge), whatever it carries.
        """
        guard = self.guard
        guard.settings = self.peers.config.settings.guard  # follows sip reload
        if not guard.isBlocked(getattr(st.source, "host", ""), self.peers.now()):
            return False
        self.security.event("RequestNotAllowed", account, st.source, request.callId,
                            RequestType=request.method, Reason="source blocked after failed authentications")
        self.challenge(request, st, account, peer=peerHint)
        return True

    @property
    def realm(self) -> str:
        return self.peers.config.settings.realm

    def challengeHeaders(self, stale: bool = False, algorithms=None) -> list[tuple[str, str]]:
        """One WWW-Authenticate per algorithm, in the order C{authalgorithms} gives (RFC 8760)."""
        return self._challenge(stale, algorithms)[0]

    def _offered(self, peer) -> tuple[str, ...]:
        """The algorithms offered to C{peer} (or to an unknown caller): its C{authalgorithms}."""
        if peer is None:
            return self.peers.config.settings.authAlgorithms or ("MD5",)
        if peer.md5secret and not peer.secret:
            return ("MD5",)  # an md5secret is an MD5 HA1: nothing else can be checked
        return peer.authAlgorithms or ("MD5",)

    def _challenge(self, stale: bool, algorithms) -> tuple[list[tuple[str, str]], str]:
        """The WWW-Authenticate headers of a fresh challenge, and its nonce."""
        settings = self.peers.config.settings
        realm = settings.realm
        nonce = self.nonces.make(self.peers.now(), self._random(12), realm)
        offered = tuple(algorithms) if algorithms else (settings.authAlgorithms or ALGORITHMS)
        key = (realm, tuple(offered), stale)
        templates = self._challengeTemplates.get(key)
        if templates is None:
            # Everything but the nonce is the same for every challenge. A
            # nonce is base64url: nothing in it needs quoting.
            if len(self._challengeTemplates) > 32:
                self._challengeTemplates.clear()
            templates = self._challengeTemplates[key] = [
                tuple(formatChallenge(Challenge(realm, "\0", algorithm, ("auth",), stale)).split("\0", 1))
                for algorithm in offered
            ]
        return [("WWW-Authenticate", before + nonce + after) for before, after in templates], nonce

    def challenge(self, request, st, account: str | None, stale: bool = False, peer=None) -> None:
        headers, nonce = self._challenge(stale, self._offered(peer))
        self.security.event("ChallengeSent", account, st.source, request.callId, Challenge=nonce)
        self.peers.stack.userAgent.respond(st, request, 401, "Unauthorized", headers)

    def _refuse(self, request, st, status: int, reason: str) -> None:
        self.peers.stack.userAgent.respond(st, request, status, reason)

    def _credentials(self, request):
        """The first digest answer for our realm, and whether a malformed one was seen."""
        malformed = False
        realm = self.realm
        for raw in request.headers.rawValues("Authorization"):
            params = parseDigest(raw)
            if params is None or params.get("realm") != realm:
                continue
            creds = credentialsFromParams(params)
            if creds is None:
                malformed = True
                continue
            return creds, malformed
        return None, malformed

    def _digestMatches(self, request, peer, creds) -> bool:
        """True when C{creds} answer the challenge with C{peer}'s secret."""
        if creds.algorithm not in self._offered(peer):
            # Only what authalgorithms offers is accepted: a peer set to
            # sha-256 must not be reachable through an MD5 answer.
            return False
        if peer.secret:
            ha1 = computeHA1(creds.algorithm, creds.username, self.realm, peer.secret)
        elif creds.algorithm == "MD5":
            ha1 = peer.md5secret  # _offered() is MD5 alone for such a peer
        else:
            ha1 = None
        if not ha1:
            return False
        expected = computeResponse(creds.algorithm, ha1, request.method, creds.uri, creds.nonce,
                                   creds.qop, creds.nc, creds.cnonce)
        return hmac.compare_digest(expected, creds.response)

    def authenticateRequest(self, request, serverTransaction, peerHint=None, expectedUser: str | None = None):
        """
        The authenticated L{channels.sip.driver.peers.Peer}, or None after answering.
        C{peerHint} is the peer the request claims to be (the To user of a
        REGISTER, the From user of an INVITE): one without a secret is let in
        without a challenge if its ACL allows the source. C{expectedUser},
        when given, must be the peer's name or default user.
        """
        st = serverTransaction
        source = st.source
        host = getattr(source, "host", "")
        callId = request.callId
        settings = self.peers.config.settings
        if settings.acl and not settings.acl.allows(host):
            self.security.event("FailedACL", expectedUser, source, callId, ACLName="general")
            self._refuse(request, st, 403, "Forbidden")
            return None
        if peerHint is not None and not peerHint.hasSecret():
            if not peerHint.acl.allows(host):
                self.security.event("FailedACL", peerHint.name, source, callId, ACLName=peerHint.name)
                self._refuse(request, st, 403, "Forbidden")
                return None
            self.security.event("SuccessfulAuth", peerHint.name, source, callId, UsingPassword="0")
            return peerHint
        creds, malformed = self._credentials(request)
        if self._blocked(request, st, creds.username if creds is not None else expectedUser, peerHint):
            return None
        if creds is None:
            if malformed:
                self.security.event("ChallengeResponseFailed", expectedUser, source, callId, Reason="malformed credentials")
            self.challenge(request, st, expectedUser, peer=peerHint)
            return None
        now = self.peers.now()
        nonceState = self.nonces.check(creds.nonce, self.realm, creds.nc, now)
        if nonceState is NonceCheck.INVALID:
            self.security.event("ChallengeResponseFailed", creds.username, source, callId,
                                Challenge="", Response=creds.nonce, Reason="nonce not issued here")
            self.challenge(request, st, creds.username, peer=peerHint)
            return None
        peer = self.peers.peerFor(creds.username)
        if peer is None and peerHint is not None and peerHint.authUser == creds.username:
            peer = peerHint
        if peer is None or not peer.hasSecret() or not peer.acceptsCalls and request.method != "REGISTER":
            computeHA1(creds.algorithm, creds.username, self.realm, "")  # the same work as a real check
            self.security.event("InvalidAccountID", creds.username, source, callId)
            self._failed(host, creds.username, source, callId)
            if settings.alwaysauthreject:
                self.challenge(request, st, creds.username)
            else:
                self._refuse(request, st, 404, "Not Found")
            return None
        if expectedUser and expectedUser not in (peer.name, peer.defaultuser):
            self.security.event("InvalidAccountID", creds.username, source, callId,
                                Reason=f"credentials of {peer.name} used for {expectedUser}")
            self._refuse(request, st, 403, "Authentication Username Mismatch")
            return None
        if not peer.acl.allows(host):
            self.security.event("FailedACL", peer.name, source, callId, ACLName=peer.name)
            self._refuse(request, st, 403, "Forbidden")
            return None
        if not self._digestMatches(request, peer, creds):
            self.security.event("InvalidPassword", creds.username, source, callId,
                                Challenge=creds.nonce, ReceivedChallenge=creds.nonce, ReceivedHash=creds.response)
            self._failed(host, creds.username, source, callId)
            self.challenge(request, st, creds.username, peer=peer)
            return None
        if nonceState is NonceCheck.STALE:
            self.challenge(request, st, creds.username, stale=True, peer=peer)
            return None
        if nonceState is NonceCheck.REPLAYED:
            self.security.event("ChallengeResponseFailed", creds.username, source, callId,
                                Response=creds.nc or "", Reason="replayed nonce-count")
            self.challenge(request, st, creds.username, peer=peer)
            return None
        self.nonces.accept(creds.nonce, creds.nc, now)
        self.guard.succeeded(host, creds.username, now)
        self.security.event("SuccessfulAuth", peer.name, source, callId, UsingPassword="1")
        return peer

