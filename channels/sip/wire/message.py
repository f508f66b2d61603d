"""
The SIP message model (RFC 3261 section 7): requests, responses and the
typed views of the header fields a user agent and the transaction layer
rely on.

Messages keep raw header values; typed views (C{vias}, C{cseq}, C{fromAddr},
...) are parsed on first use and cached until the headers change. A missing
header gives None (or an empty list); a malformed one raises
L{SIPParseError}. L{channels.sip.wire.parser.parseMessage} validates the views a
server needs before it hands a message over, so a parsed message's core
views do not raise.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Union

from channels.sip.wire.headers import Headers, SIPParseError, splitValues
from channels.sip.wire.uri import (
    RE_HOST,
    RE_PARAMS,
    RE_PORT,
    RE_SIPURI,
    RE_SIPURI_GROUPS,
    RE_TOKEN,
    URI,
    parseHostPort,
    parseURI,
    splitSimpleParams,
    uriFromGroups,
)

__all__ = [
    "SIPParseError", "Via", "NameAddr", "Contact", "CSeq", "Request", "Response",
    "Message", "parseVia", "parseNameAddr", "parseContacts", "parseCSeq",
    "parseParams", "makeResponse", "newBranch", "newTag", "newCallId",
    "REASONS", "MAGIC_COOKIE",
]

MAGIC_COOKIE = "z9hG4bK"
SIP_VERSION = "SIP/2.0"
MAX_CSEQ = 2**32 - 1

_TOKEN_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
)
_WS = " \t"

REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}

_CLASS_REASONS = {1: "Trying", 2: "OK", 3: "Redirect", 4: "Client Error",
                  5: "Server Error", 6: "Global Failure"}


def reasonFor(status: int) -> str:
    """The usual reason phrase for C{status}, or its class's phrase."""
    return REASONS.get(status) or _CLASS_REASONS.get(status // 100, "Unknown")


def isToken(text: str) -> bool:
    return bool(text) and _TOKEN_CHARS.issuperset(text)


Param = tuple[str, Union[str, None]]


def _splitOutsideQuotes(text: str, sep: str) -> list[str]:
    if '"' not in text:
        return text.split(sep)
    parts = []
    start = 0
    inQuote = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if inQuote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                inQuote = False
        elif ch == '"':
            inQuote = True
        elif ch == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if inQuote:
        raise SIPParseError("unterminated quoted string")
    parts.append(text[start:])
    return parts


def parseParams(text: str, where: str = "header") -> tuple[Param, ...]:
    """
    Parse generic parameters C{a = b ; c} (text after the first semicolon).
    Whitespace around names, values and C{=} is dropped; quoted values keep
    their quotes.
    """
    out = []
    for part in _splitOutsideQuotes(text, ";"):
        name, eq, value = part.partition("=")
        name = name.strip(_WS)
        if not isToken(name):
            raise SIPParseError(f"bad parameter in {where}")
        if eq:
            value = value.strip(_WS)
            if not value:
                raise SIPParseError(f"empty parameter value in {where}")
            out.append((name, value))
        else:
            out.append((name, None))
    return tuple(out)


def _param(params: tuple[Param, ...], name: str) -> str | None:
    key = name.lower()
    for pname, value in params:
        if pname.lower() == key:
            return value
    return None


def _hasParam(params: tuple[Param, ...], name: str) -> bool:
    key = name.lower()
    return any(pname.lower() == key for pname, _ in params)


def _formatParams(params: tuple[Param, ...]) -> str:
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params)


@dataclass(frozen=True)
class Via:
    """One Via value: C{SIP/2.0/UDP host:port;branch=...}."""

    protocol: str
    transport: str
    host: str
    port: int | None = None
    params: tuple[Param, ...] = ()

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def branch(self) -> str | None:
        return _param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return _param(self.params, "received")

    @property
    def rport(self) -> int | bool | None:
        """None when absent, True when present without a value, else the port."""
        if not _hasParam(self.params, "rport"):
            return None
        value = _param(self.params, "rport")
        if value is None:
            return True
        if not value.isdigit() or int(value) > 65535:
            raise SIPParseError("bad rport in Via")
        return int(value)

    @property
    def maddr(self) -> str | None:
        return _param(self.params, "maddr")

    @property
    def ttl(self) -> int | None:
        value = _param(self.params, "ttl")
        if value is None:
            return None
        if not value.isdigit() or int(value) > 255:
            raise SIPParseError("bad ttl in Via")
        return int(value)

    @property
    def sentBy(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def isRFC3261(self) -> bool:
        """True when the branch carries the RFC 3261 magic cookie."""
        branch = self.branch
        return branch is not None and branch.startswith(MAGIC_COOKIE)

    def withParams(self, **params: str | None) -> "Via":
        """A copy with parameters set or replaced (None = flag)."""
        current = list(self.params)
        for name, value in params.items():
            for i, (pname, _) in enumerate(current):
                if pname.lower() == name.lower():
                    current[i] = (pname, value)
                    break
            else:
                current.append((name, value))
        return Via(self.protocol, self.transport, self.host, self.port, tuple(current))

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sentBy}{_formatParams(self.params)}"


def parseVia(text: str) -> Via:
    """Parse one Via value (after list splitting)."""
    m = _FAST_VIA.fullmatch(text)
    if m is not None:
        transport, host, port, params = m.groups()
        return Via(
            SIP_VERSION, transport, host, None if port is None else int(port),
            splitSimpleParams(params),
        )
    return _parseViaGeneral(text)


def _parseViaGeneral(text: str) -> Via:
    parts = text.split("/", 2)
    if len(parts) != 3:
        raise SIPParseError("bad Via")
    name = parts[0].strip(_WS)
    version = parts[1].strip(_WS)
    rest = parts[2].lstrip(_WS)
    if not isToken(name) or not isToken(version):
        raise SIPParseError("bad Via protocol")
    i = 0
    n = len(rest)
    while i < n and rest[i] not in _WS:
        i += 1
    transport = rest[:i]
    if not isToken(transport):
        raise SIPParseError("bad Via transport")
    rest = rest[i:].strip(_WS)
    sentBy, semi, paramText = rest.partition(";")
    sentBy = sentBy.strip(_WS)
    if not sentBy:
        raise SIPParseError("Via without sent-by")
    if ":" in sentBy and not sentBy.startswith("["):
        host, _, port = sentBy.partition(":")
        sentBy = host.rstrip(_WS) + ":" + port.lstrip(_WS)
    host, port = parseHostPort(sentBy, "Via")
    params = parseParams(paramText, "Via") if semi else ()
    return Via(f"{name}/{version}", transport, host, port, params)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(text: str) -> tuple[str, int]:
    """Decode the quoted string at text[0]; return it and the index after."""
    out = []
    i = 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                break
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise SIPParseError("unterminated quoted string")


@dataclass(frozen=True)
class NameAddr:
    """
    An address as in From, To, Route, Record-Route and Contact: optional
    display name (unquoted, unescaped), the URI, and the header parameters
    (those after the URI, such as C{tag}), values as received.
    """

    displayName: str | None
    uri: URI | None
    params: tuple[Param, ...] = ()

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    def hasParam(self, name: str) -> bool:
        return _hasParam(self.params, name)

    @property
    def tag(self) -> str | None:
        return _param(self.params, "tag")

    def withTag(self, tag: str) -> "NameAddr":
        params = tuple(p for p in self.params if p[0].lower() != "tag")
        return type(self)(self.displayName, self.uri, params + (("tag", tag),))

    def __str__(self) -> str:
        if self.displayName:
            head = f"{_quote(self.displayName)} <{self.uri}>"
        else:
            head = f"<{self.uri}>"
        return head + _formatParams(self.params)


@dataclass(frozen=True)
class Contact(NameAddr):
    """A Contact value; C{wildcard} is the C{Contact: *} of a REGISTER."""

    wildcard: bool = False

    @property
    def expires(self) -> int | None:
        value = _param(self.params, "expires")
        if value is None:
            return None
        if not value.isdigit():
            raise SIPParseError("bad expires in Contact")
        return min(int(value), MAX_CSEQ)

    @property
    def q(self) -> float | None:
        value = _param(self.params, "q")
        if value is None:
            return None
        try:
            q = float(value)
        except ValueError:
            raise SIPParseError("bad q in Contact") from None
        if not 0.0 <= q <= 1.0:
            raise SIPParseError("bad q in Contact")
        return q

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        return NameAddr.__str__(self)


def parseNameAddr(text: str, cls: type = NameAddr) -> NameAddr:
    """
    Parse C{"Name" <uri>;params}, C{Name <uri>;params} or the addr-spec form
    C{uri;params}, where parameters after the URI belong to the header and
    the URI may hold no C{;}, C{,} or C{?}.
    """
    m = _FAST_NAMEADDR.fullmatch(text)
    if m is not None:
        quoted, tokens, scheme, user, host, port, uriParams, params = m.groups()
        if quoted is not None:
            display = _UNESCAPE_QUOTED.sub(r"\1", quoted) if "\\" in quoted else quoted
        else:
            display = tokens
        uri = uriFromGroups(scheme, user, host, port, uriParams)
        return cls(display, uri, splitSimpleParams(params) if params else ())
    m = _FAST_ADDRSPEC.fullmatch(text)
    if m is not None:
        scheme, user, host, port, params = m.groups()
        uri = uriFromGroups(scheme, user, host, port, "")
        return cls(None, uri, splitSimpleParams(params) if params else ())
    return _parseNameAddrGeneral(text, cls)


def _parseNameAddrGeneral(text: str, cls: type = NameAddr) -> NameAddr:
    text = text.strip(_WS)
    if not text:
        raise SIPParseError("empty address")
    display: str | None = None
    if text[0] == '"':
        display, end = _unquote(text)
        rest = text[end:].lstrip(_WS)
        if not rest.startswith("<"):
            raise SIPParseError("quoted display name without <URI>")
        angle = 0
        text = rest
    else:
        angle = text.find("<")
        if angle > 0:
            display = text[:angle].strip(_WS) or None
            if display is not None and '"' in display:
                raise SIPParseError("bad display name")
    if angle >= 0:
        close = text.find(">", angle)
        if close < 0:
            raise SIPParseError("unterminated <URI>")
        uriText = text[angle + 1 : close].strip(_WS)
        rest = text[close + 1 :].strip(_WS)
        uri = parseURI(uriText)
        if rest:
            if rest[0] != ";":
                raise SIPParseError("junk after <URI>")
            params = parseParams(rest[1:])
        else:
            params = ()
        return cls(display, uri, params)
    uriText, semi, paramText = text.partition(";")
    uriText = uriText.rstrip(_WS)
    if "?" in uriText or "," in uriText:
        raise SIPParseError("URI with headers must be in <>")
    uri = parseURI(uriText)
    params = parseParams(paramText) if semi else ()
    return cls(None, uri, params)




def parseContacts(values: list[str]) -> list[Contact]:
    """
    Parse raw Contact header values (one per line; each may list several).
    A C{*} must stand alone.
    """
    out: list[Contact] = []
    for raw in values:
        for element in splitValues(raw):
            if not element:
                raise SIPParseError("empty Contact element")
            if element == "*" or (element.startswith("*") and element[1:].lstrip(_WS).startswith(";")):
                semi = element.find(";")
                params = parseParams(element[semi + 1 :]) if semi > 0 else ()
                out.append(Contact(None, None, params, True))
            else:
                out.append(parseNameAddr(element, Contact))  # type: ignore[arg-type]
    if len(out) > 1 and any(c.wildcard for c in out):
        raise SIPParseError("Contact * with other contacts")
    return out


@dataclass(frozen=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parseCSeq(text: str) -> CSeq:
    m = _FAST_CSEQ.fullmatch(text)
    if m is not None:
        return CSeq(int(m.group(1)), m.group(2))
    return _parseCSeqGeneral(text)


def _parseCSeqGeneral(text: str) -> CSeq:
    parts = text.split()
    if len(parts) != 2:
        raise SIPParseError("bad CSeq")
    number, method = parts
    if not number.isdigit() or not number.isascii() or len(number) > 10:
        raise SIPParseError("bad CSeq number")
    value = int(number)
    if value > MAX_CSEQ:
        raise SIPParseError("CSeq number too large")
    if not isToken(method):
        raise SIPParseError("bad CSeq method")
    return CSeq(value, method)


def _parseInt(text: str, name: str, maximum: int) -> int:
    text = text.strip(_WS)
    if not text.isdigit() or not text.isascii():
        raise SIPParseError(f"bad {name}")
    value = int(text)
    if value > maximum:
        raise SIPParseError(f"{name} too large")
    return value


_MISSING = object()


# Fast acceptance: compiled patterns for the common, simple spellings of
# each grammar. A value they match is one the parse functions above accept;
# anything else goes through those functions, which decide. This keeps the
# validation of a received message in C for everyday traffic.
_FAST_URI = re.compile(rf"{RE_SIPURI}{RE_PARAMS}")
_FAST_VIA = re.compile(
    rf"SIP/2\.0/([A-Za-z]+) ({RE_HOST})(?::({RE_PORT}))?({RE_PARAMS})"
)
_FAST_NAMEADDR = re.compile(
    rf'(?:"((?:[^"\\\r\n]|\\[^\r\n])*)"|({RE_TOKEN}(?: {RE_TOKEN})*))? ?'
    rf"<{RE_SIPURI_GROUPS}({RE_PARAMS})>({RE_PARAMS})"
)
_FAST_ADDRSPEC = re.compile(rf"{RE_SIPURI_GROUPS}({RE_PARAMS})")
_FAST_CSEQ = re.compile(rf"([0-9]{{1,9}}) ({RE_TOKEN})")
_UNESCAPE_QUOTED = re.compile(r"\\(.)")

# The same grammars without groups, for validation only, with possessive
# quantifiers (nothing to give back) and the host as loose as the general
# parser's (letters, digits, "-", "." and "_"). None of them can match a
# line break, so several values joined with "\n" are checked by one
# fullmatch with no ambiguity about where each value ends.
_CK_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]++"
_CK_HOST = r"[A-Za-z0-9\-._]++"
# "(?:x|)" rather than "(?:x)?": the same language, fewer steps in sre.
_CK_PORT = rf"(?::{RE_PORT}|)"
_CK_PARAMS = rf"(?:;{_CK_TOKEN}(?:=[A-Za-z0-9\-.!%*_+`'~:/\[\]]++|))*+"
_CK_URI = rf"sips?:(?:[A-Za-z0-9\-_.!~*'()&=+$/]++@|){_CK_HOST}{_CK_PORT}"
RE_CHECK_URI = rf"{_CK_URI}{_CK_PARAMS}"
RE_CHECK_VIA = rf"SIP/2\.0/[A-Za-z]++ {_CK_HOST}{_CK_PORT}{_CK_PARAMS}"
RE_CHECK_ADDRESS = (
    # The quoted string unrolled: runs of plain characters between escapes.
    rf'(?:(?:"[^"\\\r\n]*+(?:\\[^\r\n][^"\\\r\n]*+)*+"|{_CK_TOKEN}(?: {_CK_TOKEN})*+)? ?'
    rf"<{_CK_URI}{_CK_PARAMS}>{_CK_PARAMS}|{_CK_URI}{_CK_PARAMS})"
)
RE_CHECK_CSEQ = rf"[0-9]{{1,9}} {_CK_TOKEN}"


def checkURI(text: str) -> None:
    """Raise L{SIPParseError} unless C{text} is a URI L{parseURI} accepts."""
    if _FAST_URI.fullmatch(text) is None:
        parseURI(text)


def checkVias(values: list[str]) -> None:
    """Raise unless every element of these raw Via values parses."""
    for raw in values:
        if _FAST_VIA.fullmatch(raw) is None:
            if "," not in raw:
                # As the view parses it: one value, not stripped further.
                parseVia(raw)
                continue
            for element in splitValues(raw):
                if not element:
                    raise SIPParseError("empty Via element")
                parseVia(element)


def checkNameAddr(text: str) -> None:
    """Raise unless L{parseNameAddr} accepts C{text}."""
    if _FAST_NAMEADDR.fullmatch(text) is None and _FAST_ADDRSPEC.fullmatch(text) is None:
        parseNameAddr(text)


def checkContacts(values: list[str]) -> None:
    """Raise unless L{parseContacts} accepts these raw Contact values."""
    for raw in values:
        if _FAST_NAMEADDR.fullmatch(raw) is None and _FAST_ADDRSPEC.fullmatch(raw) is None:
            parseContacts(values)
            return


def checkCSeq(text: str) -> None:
    if _FAST_CSEQ.fullmatch(text) is None:
        parseCSeq(text)


class Message:
    """Common base of L{Request} and L{Response}."""

    isRequest: bool = False
    version: str
    headers: Headers
    body: bytes

    # Typed views: parsed on first use, cached in the Headers they come from
    # (which drop them on any change).

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top first."""
        return list(self._vias())

    def _vias(self) -> tuple[Via, ...]:
        headers = self.headers
        views = headers.views
        value = views.get("vias")
        if value is None:
            out = []
            for key, (_, raw) in zip(headers._keys, headers._items):
                if key == "via":
                    if "," in raw:
                        for element in splitValues(raw):
                            if not element:
                                raise SIPParseError("empty Via element")
                            out.append(parseVia(element))
                    else:
                        out.append(parseVia(raw))
            value = views["vias"] = tuple(out)
        return value

    @property
    def topVia(self) -> Via | None:
        vias = self._vias()
        return vias[0] if vias else None

    @property
    def callId(self) -> str | None:
        return self.headers.first("call-id")

    @property
    def cseq(self) -> CSeq | None:
        views = self.headers.views
        value = views.get("cseq", _MISSING)
        if value is _MISSING:
            raw = self.headers.first("cseq")
            value = views["cseq"] = None if raw is None else parseCSeq(raw)
        return value

    def _address(self, key: str) -> NameAddr | None:
        views = self.headers.views
        value = views.get(key, _MISSING)
        if value is _MISSING:
            raw = self.headers.first(key)
            value = views[key] = None if raw is None else parseNameAddr(raw)
        return value

    @property
    def fromAddr(self) -> NameAddr | None:
        return self._address("from")

    @property
    def toAddr(self) -> NameAddr | None:
        return self._address("to")

    @property
    def fromTag(self) -> str | None:
        addr = self._address("from")
        return None if addr is None else addr.tag

    @property
    def toTag(self) -> str | None:
        addr = self._address("to")
        return None if addr is None else addr.tag

    @property
    def maxForwards(self) -> int | None:
        raw = self.headers.first("max-forwards")
        return None if raw is None else _parseInt(raw, "Max-Forwards", 255)

    @property
    def contentLength(self) -> int | None:
        """The Content-Length header's value (all copies must agree)."""
        headers = self.headers
        keys = headers._keys
        if keys.count("content-length") <= 1:
            raw = headers.first("content-length")
            if raw is None:
                return None
            if raw.isdigit() and len(raw) < 10:
                return int(raw)
            return _parseInt(raw, "Content-Length", 2**31)
        numbers = {_parseInt(v, "Content-Length", 2**31) for v in headers.rawValues("Content-Length")}
        if len(numbers) > 1:
            raise SIPParseError("conflicting Content-Length headers")
        return numbers.pop()

    @property
    def contentType(self) -> str | None:
        return self.headers.first("content-type")

    @property
    def expires(self) -> int | None:
        """The Expires header in seconds; larger values are capped (RFC 3261 20.19)."""
        raw = self.headers.first("expires")
        if raw is None:
            return None
        raw = raw.strip(_WS)
        if not raw.isdigit() or not raw.isascii():
            raise SIPParseError("bad Expires")
        return min(int(raw), MAX_CSEQ)

    @property
    def contacts(self) -> list[Contact]:
        views = self.headers.views
        value = views.get("contacts")
        if value is None:
            value = views["contacts"] = tuple(parseContacts(self.headers.rawValues("Contact")))
        return list(value)

    def _routeList(self, name: str) -> tuple[NameAddr, ...]:
        views = self.headers.views
        value = views.get(name)
        if value is None:
            out = []
            for raw in self.headers.rawValues(name):
                for element in splitValues(raw):
                    if not element:
                        raise SIPParseError(f"empty {name} element")
                    out.append(parseNameAddr(element))
            value = views[name] = tuple(out)
        return value

    @property
    def routes(self) -> list[NameAddr]:
        return list(self._routeList("Route"))

    @property
    def recordRoutes(self) -> list[NameAddr]:
        return list(self._routeList("Record-Route"))

    # Serialisation ------------------------------------------------------

    def startLine(self) -> str:
        raise NotImplementedError()

    def toBytes(self) -> bytes:
        """The wire form; Content-Length is always written, from the body."""
        return self._serialise(self.startLine())

    def _serialise(self, startLine: str) -> bytes:
        headers = self.headers
        body = self.body
        length = str(len(body)) if body else "0"
        index = headers._index
        if index is not None:
            # One lookup, and the length of the index says no header repeats.
            same = index.get("content-length") == length and len(index) == len(headers._keys)
        else:
            keys = headers._keys
            same = keys.count("content-length") == 1 and headers._items[keys.index("content-length")][1] == length
        if same:
            head = "\r\n".join([startLine, *map(": ".join, headers._items), "", ""])
        else:
            lines = [startLine]
            wroteLength = False
            for (name, value), key in zip(headers._items, headers._keys):
                if key == "content-length":
                    if not wroteLength:
                        wroteLength = True
                        lines.append(f"Content-Length: {length}")
                else:
                    lines.append(f"{name}: {value}")
            if not wroteLength:
                lines.append(f"Content-Length: {length}")
            lines.append("\r\n")
            head = "\r\n".join(lines)
        # str.encode() with no arguments is a copy for ASCII text.
        data = head.encode() if head.isascii() else head.encode("utf-8", "surrogateescape")
        return data + body if body else data

    def _sameAs(self, other: "Message") -> bool:
        skip = frozenset(("content-length",))
        return (
            self.version == other.version
            and self.body == other.body
            and self.headers._comparable(skip) == other.headers._comparable(skip)
        )


class Request(Message):
    """
    A SIP request. C{uri} is the Request-URI text as received;
    C{requestURI} is its parsed form.
    """

    isRequest = True

    def __init__(
        self,
        method: str,
        uri: str | URI,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        self.method = method
        self.uri = str(uri)
        self.headers = Headers() if headers is None else headers
        self.body = body
        self.version = version
        self._uriCache: tuple[str, URI] | None = None

    @property
    def requestURI(self) -> URI:
        cached = self._uriCache
        if cached is None or cached[0] != self.uri:
            cached = self._uriCache = (self.uri, parseURI(self.uri))
        return cached[1]

    def startLine(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def copy(self) -> "Request":
        return Request(self.method, self.uri, self.headers.copy(), self.body, self.version)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        return self.method == other.method and self.uri == other.uri and self._sameAs(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} call-id={self.callId!r}>"


class Response(Message):
    """A SIP response; C{reason} defaults to the usual phrase for C{status}."""

    isRequest = False

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        self.status = status
        self.reason = reasonFor(status) if reason is None else reason
        self.headers = Headers() if headers is None else headers
        self.body = body
        self.version = version

    def startLine(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def copy(self) -> "Response":
        return Response(self.status, self.reason, self.headers.copy(), self.body, self.version)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return (
            self.status == other.status
            and self.reason == other.reason
            and self._sameAs(other)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} call-id={self.callId!r}>"


_RESPONSE_COPY = (("via", "Via"), ("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq"))
_RESPONSE_KEYS = frozenset(key for key, _ in _RESPONSE_COPY) | {"timestamp"}


def _taggedTo(value: str, toTag: str) -> str:
    """C{value} with C{;tag=toTag} added unless it has a tag (or is unreadable)."""
    if "tag" in value.lower():
        try:
            if parseNameAddr(value).tag is not None:
                return value
        except SIPParseError:
            return value
    return f"{value};tag={toTag}"


def makeResponse(
    request: Request, status: int, reason: str | None = None, toTag: str | None = None
) -> Response:
    """
    A response to C{request} per RFC 3261 section 8.2.6: Via (every value,
    in order), From, To (with C{;tag=toTag} added if given and To has no
    tag), Call-ID, CSeq, a Timestamp for 100, and Content-Length 0.
    Raw values are copied, so this works for a request whose From or To
    could not be parsed (the 400 case).
    """
    src = request.headers
    keys: list[str] = []
    items: list[tuple[str, str]] = []
    found: dict[str, list[str]] = {}
    for key, item in zip(src._keys, src._items):
        if key in _RESPONSE_KEYS:
            values = found.get(key)
            if values is None:
                found[key] = [item[1]]
            else:
                values.append(item[1])
    for key, name in _RESPONSE_COPY:
        values = found.get(key)
        if values is None:
            continue
        for value in values:
            if toTag is not None and key == "to":
                value = _taggedTo(value, toTag)
            keys.append(key)
            items.append((name, value))
    if status == 100:
        for value in found.get("timestamp", ()):
            keys.append("timestamp")
            items.append(("Timestamp", value))
    keys.append("content-length")
    items.append(("Content-Length", "0"))
    return Response(status, reason, Headers._trusted(keys, items))


def newBranch() -> str:
    """A fresh RFC 3261 branch: the magic cookie and 80 random bits."""
    return MAGIC_COOKIE + secrets.token_hex(10)


def newTag() -> str:
    """A fresh From/To tag (64 random bits)."""
    return secrets.token_hex(8)


def newCallId() -> str:
    """A fresh, globally unique Call-ID (128 random bits)."""
    return secrets.token_hex(16)
