"""
HTTP digest authentication for SIP (RFC 3261 §22, RFC 7616 computations,
RFC 8760 algorithms), both sides.

Pure: no clock, no randomness the caller cannot supply. The server side
mints nonces bound to this server (an HMAC under a per-process key over
the issue time and random bits), recognises expired ones (to answer
C{stale=true}) and remembers the highest nonce-count seen per nonce so a
replayed request is refused. The client side answers a challenge.

Algorithms: SHA-256 and MD5 (RFC 8760 §2.1: offer the strongest first,
one WWW-Authenticate header each). A peer known only by its C{md5secret}
(the MD5 of C{user:realm:secret}) can only use MD5.
"""

from __future__ import annotations

import base64
import re
import hashlib
import hmac
import struct
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "ALGORITHMS", "Credentials", "Challenge", "parseDigest", "parseCredentials",
    "credentialsFromParams", "parseChallenge", "formatChallenge", "computeHA1", "computeResponse",
    "NonceManager", "NonceCheck", "buildAuthorization", "chooseChallenge",
]

# Preference order: strongest first.
ALGORITHMS = ("SHA-256", "MD5")

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _hash(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode("utf-8")).hexdigest()


def normaliseAlgorithm(name: str | None) -> str | None:
    """The canonical name of a supported algorithm (MD5 when absent), or None."""
    if name is None or not name.strip():
        return "MD5"
    upper = name.strip().strip('"').upper()
    return upper if upper in _HASHES else None


def computeHA1(algorithm: str, username: str, realm: str, password: str) -> str:
    return _hash(algorithm, f"{username}:{realm}:{password}")


def computeResponse(
    algorithm: str, ha1: str, method: str, uri: str, nonce: str,
    qop: str | None = None, nc: str | None = None, cnonce: str | None = None,
) -> str:
    """The request-digest for an already computed HA1."""
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")


# -- the header syntax --------------------------------------------------------

# The quoted-string alternative is written as an unrolled loop (runs of
# plain characters between escapes): it matches the same text as
# (?:[^"\\]|\\.)* at a fraction of the cost.
_PARAM = re.compile(r'[ \t,]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^,"]*))[ \t]*')
_NONCE_COUNT = re.compile(r"[0-9a-fA-F]{8}")
_ESCAPE = re.compile(r"\\(.)")


def parseDigest(value: str) -> dict[str, str] | None:
    """
    The parameters of a C{Digest k=v, k="v"} header value (keys lower-case),
    or None if it is not a Digest value or is malformed.
    """
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    position, end = 0, len(rest)
    match = _PARAM.match
    while position < end:
        m = match(rest, position)
        if m is None:
            if rest[position:].strip(" \t,"):
                return None
            break
        quoted = m.group(2)
        if quoted is not None:
            params[m.group(1).lower()] = _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
        else:
            params[m.group(1).lower()] = m.group(3).strip()
        position = m.end()
        if position < end and rest[position] not in ", \t":
            return None
    return params


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Credentials:
    """An Authorization (or Proxy-Authorization) digest value."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None


def parseCredentials(value: str) -> Credentials | None:
    """
    A L{Credentials}, or None when the value is not a usable digest answer
    (missing fields, an unsupported algorithm, a bad nonce-count).
    """
    params = parseDigest(value)
    if params is None:
        return None
    return credentialsFromParams(params)


def credentialsFromParams(params: dict[str, str]) -> Credentials | None:
    """L{parseCredentials} for a value already split by L{parseDigest}."""
    algorithm = normaliseAlgorithm(params.get("algorithm"))
    if algorithm is None:
        return None
    try:
        username, realm, nonce = params["username"], params["realm"], params["nonce"]
        uri, response = params["uri"], params["response"]
    except KeyError:
        return None
    qop = params.get("qop")
    nc = params.get("nc")
    cnonce = params.get("cnonce")
    if qop is not None:
        qop = qop.lower()
        if qop != "auth" or not nc or not cnonce:
            return None
        if _NONCE_COUNT.fullmatch(nc) is None:
            return None
    return Credentials(username, realm, nonce, uri, response.lower(), algorithm, qop, nc, cnonce, params.get("opaque"))


@dataclass(frozen=True)
class Challenge:
    """A WWW-Authenticate (or Proxy-Authenticate) digest challenge."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    stale: bool = False
    opaque: str | None = None

    def __str__(self) -> str:
        return formatChallenge(self)


def formatChallenge(challenge: Challenge) -> str:
    parts = [f"realm={_q(challenge.realm)}", f"nonce={_q(challenge.nonce)}"]
    if challenge.opaque is not None:
        parts.append(f"opaque={_q(challenge.opaque)}")
    if challenge.stale:
        parts.append("stale=true")
    parts.append(f"algorithm={challenge.algorithm}")
    if challenge.qop:
        parts.append(f"qop={_q(','.join(challenge.qop))}")
    return "Digest " + ", ".join(parts)


def parseChallenge(value: str) -> Challenge | None:
    params = parseDigest(value)
    if params is None or "nonce" not in params:
        return None
    algorithm = normaliseAlgorithm(params.get("algorithm"))
    if algorithm is None:
        return None
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    stale = params.get("stale", "").lower() == "true"
    return Challenge(params.get("realm", ""), params["nonce"], algorithm, qop, stale, params.get("opaque"))


def chooseChallenge(values: list[str]) -> Challenge | None:
    """The strongest challenge we can answer among header values."""
    found = [c for c in (parseChallenge(v) for v in values) if c is not None]
    for algorithm in ALGORITHMS:
        for challenge in found:
            if challenge.algorithm == algorithm:
                return challenge
    return None


def buildAuthorization(
    challenge: Challenge, method: str, uri: str, username: str, password: str,
    cnonce: str, nc: int = 1,
) -> str:
    """The Authorization value answering C{challenge} (qop=auth when offered)."""
    ha1 = computeHA1(challenge.algorithm, username, challenge.realm, password)
    parts = [
        f"username={_q(username)}", f"realm={_q(challenge.realm)}",
        f"nonce={_q(challenge.nonce)}", f"uri={_q(uri)}",
    ]
    if "auth" in challenge.qop:
        ncText = f"{nc:08x}"
        response = computeResponse(challenge.algorithm, ha1, method, uri, challenge.nonce, "auth", ncText, cnonce)
        parts.append(f"response={_q(response)}")
        parts.append(f"cnonce={_q(cnonce)}")
        parts.append("qop=auth")
        parts.append(f"nc={ncText}")
    else:
        response = computeResponse(challenge.algorithm, ha1, method, uri, challenge.nonce)
        parts.append(f"response={_q(response)}")
    parts.append(f"algorithm={challenge.algorithm}")
    if challenge.opaque is not None:
        parts.append(f"opaque={_q(challenge.opaque)}")
    return "Digest " + ", ".join(parts)


# -- server nonces ----------------------------------------------------------------

class NonceCheck(Enum):
    VALID = "valid"
    STALE = "stale"  # ours, but too old
    INVALID = "invalid"  # not ours, or tampered with
    REPLAYED = "replayed"  # nonce-count not above the last one seen


class NonceManager:
    """
    Mints and checks nonces: C{base64(issued || random || MAC(key, issued
    || random || realm))}, the MAC being keyed BLAKE2b, so a nonce is only ever valid at the server (and
    realm) that made it, and its age is read back without storing it.

    Nonce-counts are remembered per nonce until the nonce expires (bounded
    by C{maxTracked}); without qop, a nonce is single-use.
    """

    def __init__(self, key: bytes, lifetime: float = 30.0, maxTracked: int = 200_000):
        # BLAKE2b takes keys of up to 64 bytes: a longer one is hashed down.
        self._key = key if len(key) <= 64 else hashlib.blake2b(key).digest()
        self.lifetime = lifetime
        self.maxTracked = maxTracked
        # nonce -> highest nonce-count accepted. The issue time needed to
        # prune is read back from the nonce itself, so one table is enough.
        self._counts: dict[str, int] = {}
        self._nextPrune = 1024

    def _mac(self, body: bytes, realm: str) -> bytes:
        # Keyed BLAKE2b is a MAC by design (RFC 7693 section 2.9), and one
        # C call: a third of the cost of an HMAC per nonce.
        return hashlib.blake2b(body + realm.encode("utf-8"), key=self._key, digest_size=16).digest()

    def make(self, now: float, randomBytes: bytes, realm: str) -> str:
        body = struct.pack(">d", now) + randomBytes[:12].ljust(12, b"\0")
        return base64.urlsafe_b64encode(body + self._mac(body, realm)).decode("ascii").rstrip("=")

    def issuedAt(self, nonce: str, realm: str) -> float | None:
        """When C{nonce} was made here, or None if it was not."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return None
        if len(raw) != 36:
            return None
        body, mac = raw[:20], raw[20:]
        if not hmac.compare_digest(mac, self._mac(body, realm)):
            return None
        return struct.unpack(">d", body[:8])[0]

    @staticmethod
    def _claimedIssue(nonce: str) -> float:
        """
        The issue time written in C{nonce}, unverified: only for nonces
        already accepted (so verified). Anything unreadable counts as oldest.
        """
        try:
            return struct.unpack(">d", base64.urlsafe_b64decode(nonce[:12])[:8])[0]
        except (ValueError, TypeError, struct.error):
            return float("-inf")

    def check(self, nonce: str, realm: str, nc: str | None, now: float) -> NonceCheck:
        """Whether C{nonce} is good for a request with nonce-count C{nc}; records the count."""
        issued = self.issuedAt(nonce, realm)
        if issued is None or issued > now + 1.0:
            return NonceCheck.INVALID
        if now - issued > self.lifetime:
            return NonceCheck.STALE
        count = int(nc, 16) if nc else 0
        last = self._counts.get(nonce)
        if last is not None and (count <= last or count == 0):
            return NonceCheck.REPLAYED
        return NonceCheck.VALID

    def accept(self, nonce: str, nc: str | None, now: float) -> None:
        """Remember that a request with C{nc} under C{nonce} was accepted."""
        self._counts[nonce] = int(nc, 16) if nc else 0
        if len(self._counts) >= self._nextPrune:
            # Amortised: prune when the table doubled since the last pass.
            self.prune(now)
            self._nextPrune = max(1024, 2 * len(self._counts))

    def prune(self, now: float) -> None:
        """Forget counts of nonces old enough to be stale anyway."""
        horizon = now - self.lifetime - 1.0
        claimed = self._claimedIssue
        issued = {n: claimed(n) for n in self._counts}
        for n, t in issued.items():
            if t < horizon:
                del self._counts[n]
        if len(self._counts) > self.maxTracked:  # still too many: drop the oldest half
            ordered = sorted(self._counts, key=issued.__getitem__)
            for n in ordered[: len(ordered) // 2]:
                del self._counts[n]

    def __len__(self) -> int:
        return len(self._counts)
