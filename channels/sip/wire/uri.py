"""
SIP, SIPS and other URIs (RFC 3261 section 19.1, RFC 3966 tel, RFC 5118 IPv6).

Components are stored escaped exactly as received, so a URI relayed or
echoed back (Contact, Record-Route) is byte-identical; the C{unescaped*}
properties and L{urisEquivalent} give the decoded view that comparisons and
lookups need.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Iterable, Mapping
from urllib.parse import unquote_to_bytes

from channels.sip.wire.headers import SIPParseError

__all__ = ["URI", "parseURI", "urisEquivalent", "unescape", "SIPParseError"]

_SCHEME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SCHEME_CHARS = _SCHEME_FIRST | frozenset("0123456789+-.")
_HOST_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
)
_BAD_URI_CHARS = frozenset(" \t\r\n<>\"")
_SIP_SCHEMES = ("sip", "sips")
# Parameters that, present in only one of two SIP URIs, make them differ
# (RFC 3261 section 19.1.4).
_STRICT_PARAMS = ("user", "ttl", "method", "maddr", "transport")

Pair = tuple[str, "str | None"]

# Building blocks of the fast paths: patterns for the common, simple
# spellings. A value they match is one the general code accepts with the
# same result; anything else takes the general code, which decides.
RE_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
RE_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?"
RE_PVALUE = r"[A-Za-z0-9\-.!%*_+`'~:/\[\]]+"
RE_PARAMS = rf"(?:;{RE_TOKEN}(?:={RE_PVALUE})?)*"
# A port the general parser accepts: up to five digits, at most 65535.
RE_PORT = r"(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
RE_SIPURI = rf"sips?:(?:[A-Za-z0-9\-_.!~*'()&=+$/]+@)?{RE_HOST}(?::{RE_PORT})?"
RE_SIPURI_GROUPS = (
    rf"(sips?):(?:([A-Za-z0-9\-_.!~*'()&=+$/]+)@)?({RE_HOST})(?::({RE_PORT}))?"
)
_FAST_URI = re.compile(rf"{RE_SIPURI_GROUPS}({RE_PARAMS})")


def uriFromGroups(
    scheme: str, user: str | None, host: str, port: str | None, params: str
) -> URI:
    """Build a URI from the groups of L{RE_SIPURI_GROUPS} and L{RE_PARAMS}."""
    return URI(
        scheme, user, None, host, None if port is None else int(port),
        splitSimpleParams(params) if params else (),
    )


def splitSimpleParams(text: str) -> tuple[Pair, ...]:
    """Split C{;a=b;c} already matched by L{RE_PARAMS}."""
    if not text:
        return ()
    out = []
    for part in text[1:].split(";"):
        name, eq, value = part.partition("=")
        out.append((name, value if eq else None))
    return tuple(out)


def unescape(text: str) -> str:
    """Decode %HH escapes; undecodable octets survive as surrogates."""
    if "%" not in text:
        return text
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class URI:
    """
    A parsed URI. For C{sip}/C{sips} every field applies; C{tel} keeps the
    number in C{user} and its parameters in C{params}; any other scheme keeps
    everything after the colon in C{opaque}. C{params} and C{headers} are
    tuples of (name, value) pairs in order, value None for a flag parameter.
    IPv6 hosts keep their brackets: C{"[2001:db8::1]"}.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: tuple[Pair, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    opaque: str | None = None

    @property
    def unescapedUser(self) -> str | None:
        return None if self.user is None else unescape(self.user)

    @property
    def unescapedPassword(self) -> str | None:
        return None if self.password is None else unescape(self.password)

    @property
    def isSIP(self) -> bool:
        """True for sip: and sips: URIs."""
        return self.scheme.lower() in _SIP_SCHEMES

    @property
    def hostport(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def param(self, name: str, default: str | None = None) -> str | None:
        """
        The value of parameter C{name} (case-insensitive), None for a flag
        such as C{lr}, C{default} when absent; see L{hasParam}.
        """
        key = name.lower()
        for pname, value in self.params:
            if pname.lower() == key:
                return value
        return default

    def hasParam(self, name: str) -> bool:
        key = name.lower()
        return any(pname.lower() == key for pname, _ in self.params)

    def withParams(
        self, params: Mapping[str, str | None] | Iterable[Pair] = (), **more: str | None
    ) -> "URI":
        """
        A copy with the given parameters set (replacing same-named ones in
        place, appending new ones); a value of None makes a flag parameter.
        """
        pairs = list(params.items() if isinstance(params, Mapping) else params)
        pairs.extend(more.items())
        current = list(self.params)
        for name, value in pairs:
            key = name.lower()
            for i, (pname, _) in enumerate(current):
                if pname.lower() == key:
                    current[i] = (pname, value)
                    break
            else:
                current.append((name, value))
        return replace(self, params=tuple(current))

    def withoutParams(self, *names: str) -> "URI":
        """A copy without the named parameters."""
        keys = {n.lower() for n in names}
        return replace(
            self, params=tuple(p for p in self.params if p[0].lower() not in keys)
        )

    def __str__(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out.append(":")
                out.append(self.password)
            if self.host:
                out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        for name, value in self.params:
            out.append(f";{name}" if value is None else f";{name}={value}")
        if self.headers:
            out.append("?")
            out.append("&".join(f"{n}={v}" for n, v in self.headers))
        return "".join(out)


def _parseParams(text: str, where: str) -> tuple[Pair, ...]:
    """Parse C{a=b;c} (no leading semicolon)."""
    out = []
    for part in text.split(";"):
        if not part:
            raise SIPParseError(f"empty parameter in {where}")
        name, eq, value = part.partition("=")
        if not name:
            raise SIPParseError(f"parameter without a name in {where}")
        out.append((name, value if eq else None))
    return tuple(out)


def parseHostPort(text: str, where: str = "URI") -> tuple[str, int | None]:
    """
    Split C{host[:port]}; IPv6 references must be bracketed and are checked.
    """
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SIPParseError(f"unterminated IPv6 reference in {where}")
        host = text[: end + 1]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise SIPParseError(f"bad IPv6 reference in {where}") from None
        rest = text[end + 1 :]
        if not rest:
            return host, None
        if rest[0] != ":":
            raise SIPParseError(f"junk after IPv6 reference in {where}")
        portText = rest[1:]
    else:
        host, colon, portText = text.partition(":")
        if not host:
            raise SIPParseError(f"missing host in {where}")
        if not _HOST_CHARS.issuperset(host):
            raise SIPParseError(f"bad host in {where}")
        if not colon:
            return host, None
    if not portText.isdigit() or not portText.isascii() or len(portText) > 5:
        raise SIPParseError(f"bad port in {where}")
    port = int(portText)
    if port > 65535:
        raise SIPParseError(f"port out of range in {where}")
    return host, port


def parseURI(text: str) -> URI:
    """
    Parse a URI. SIP and SIPS URIs are parsed into their parts; C{tel} into
    number and parameters; other schemes only need a valid scheme and no
    whitespace, angle brackets or quotes (a UAS answers 416 for them).
    """
    m = _FAST_URI.fullmatch(text)
    if m is not None:
        return uriFromGroups(*m.groups())
    return _parseURIGeneral(text)


def _parseURIGeneral(text: str) -> URI:
    scheme, colon, rest = text.partition(":")
    if (
        not colon
        or not scheme
        or scheme[0] not in _SCHEME_FIRST
        or not _SCHEME_CHARS.issuperset(scheme)
    ):
        raise SIPParseError("bad URI scheme")
    if not rest or not _BAD_URI_CHARS.isdisjoint(rest):
        raise SIPParseError("bad URI")
    lower = scheme.lower()
    if lower in _SIP_SCHEMES:
        return _parseSIP(scheme, rest)
    if lower == "tel":
        number, semi, paramText = rest.partition(";")
        params = _parseParams(paramText, "tel URI") if semi else ()
        return URI(scheme=scheme, user=number, params=params)
    return URI(scheme=scheme, opaque=rest)


def _parseSIP(scheme: str, rest: str) -> URI:
    user = password = None
    at = rest.rfind("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        if not userinfo:
            raise SIPParseError("empty user part in URI")
        user, colon, pw = userinfo.partition(":")
        if colon:
            password = pw
        if not user:
            raise SIPParseError("empty user part in URI")
    headers: tuple[tuple[str, str], ...] = ()
    query = rest.find("?")
    if query >= 0:
        headerText = rest[query + 1 :]
        rest = rest[:query]
        hs = []
        for part in headerText.split("&"):
            name, eq, value = part.partition("=")
            if not name or not eq:
                raise SIPParseError("bad header in URI")
            hs.append((name, value))
        headers = tuple(hs)
    params: tuple[Pair, ...] = ()
    # A bracketed IPv6 host holds colons but no semicolons.
    semi = rest.find(";")
    if semi >= 0:
        params = _parseParams(rest[semi + 1 :], "URI")
        rest = rest[:semi]
    host, port = parseHostPort(rest)
    return URI(
        scheme=scheme,
        user=user,
        password=password,
        host=host,
        port=port,
        params=params,
        headers=headers,
    )


def _paramMap(uri: URI) -> dict[str, str | None]:
    return {
        name.lower(): (None if value is None else unescape(value).lower())
        for name, value in uri.params
    }


def urisEquivalent(a: URI, b: URI) -> bool:
    """
    Compare two URIs per RFC 3261 section 19.1.4: user and password
    case-sensitive after unescaping, everything else case-insensitive, an
    absent port differs from an explicit 5060, user/ttl/method/maddr/
    transport must agree when either URI has them, other parameters only
    when both do, and header components must match as sets.
    """
    if a.scheme.lower() != b.scheme.lower():
        return False
    if not a.isSIP:
        if a.opaque is not None or b.opaque is not None:
            return a.opaque is not None and b.opaque is not None and (
                unescape(a.opaque).lower() == unescape(b.opaque).lower()
            )
        return (
            (a.unescapedUser or "").lower() == (b.unescapedUser or "").lower()
            and _paramMap(a) == _paramMap(b)
        )
    if a.unescapedUser != b.unescapedUser or a.unescapedPassword != b.unescapedPassword:
        return False
    if a.host.lower() != b.host.lower() or a.port != b.port:
        return False
    pa, pb = _paramMap(a), _paramMap(b)
    for name in _STRICT_PARAMS:
        if (name in pa or name in pb) and pa.get(name, 0) != pb.get(name, 0):
            return False
    for name in pa.keys() & pb.keys():
        if pa[name] != pb[name]:
            return False
    ha = {(n.lower(), unescape(v).lower()) for n, v in a.headers}
    hb = {(n.lower(), unescape(v).lower()) for n, v in b.headers}
    return ha == hb
