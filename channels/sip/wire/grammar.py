"""
The grammars of the SIP header values (RFC 3261 section 25.1 and its
extensions): Via, name-addr (From, To, Route, Record-Route), Contact, CSeq
and generic parameters, as frozen values with their parse functions, and
the validation patterns the parser checks whole messages with; Call-ID and
Replaces (RFC 3891 section 6.1), including a Replaces carried escaped in a
URI header (the C{Refer-To} of an attended transfer). Pure: text in, values
or L{SIPParseError} out.

    Replaces        = "Replaces" HCOLON callid *(SEMI replaces-param)
    replaces-param  = to-tag / from-tag / early-flag / generic-param
    to-tag          = "to-tag" EQUAL token
    from-tag        = "from-tag" EQUAL token
    early-flag      = "early-only"

The message classes that hold these values as typed views are in
L{channels.sip.wire.message}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union
from urllib.parse import quote

from channels.sip.wire.headers import SIPParseError, splitValues
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
    unescape,
    uriFromGroups,
)

__all__ = [
    "Via", "NameAddr", "Contact", "CSeq", "parseVia", "parseNameAddr", "parseContacts",
    "parseCSeq", "parseParams", "parseBoundedInt", "isToken", "MAGIC_COOKIE", "SIP_VERSION",
    "MAX_CSEQ", "checkURI", "checkVias", "checkNameAddr", "checkContacts", "checkCSeq",
    "RE_CHECK_URI", "RE_CHECK_VIA", "RE_CHECK_ADDRESS", "RE_CHECK_CSEQ",
    "isCallId", "isUsableCallId", "Replaces", "parseReplaces", "replacesOf", "replacesFromURI",
    "formatReplaces", "replacesURIHeader",
]


MAGIC_COOKIE = "z9hG4bK"
SIP_VERSION = "SIP/2.0"
MAX_CSEQ = 2**32 - 1

_TOKEN_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
)
_WS = " \t"


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


def parseBoundedInt(text: str, name: str, maximum: int) -> int:
    text = text.strip(_WS)
    if not text.isdigit() or not text.isascii():
        raise SIPParseError(f"bad {name}")
    value = int(text)
    if value > maximum:
        raise SIPParseError(f"{name} too large")
    return value




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


# -- Call-ID and Replaces (RFC 3891) ---------------------------------------------------

# word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" /
#           "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
_WORD = r"""[A-Za-z0-9\-.!%*_+`'~()<>:\\"/\[\]?{}]+"""
_CALLID = re.compile(rf"{_WORD}(?:@{_WORD})?")


_VISIBLE = re.compile(r"[\x21-\x7e]+")


def isCallId(text: str) -> bool:
    """True when C{text} is a Call-ID as RFC 3261 writes it: word ["@" word]."""
    return _CALLID.fullmatch(text) is not None


def isUsableCallId(text: str) -> bool:
    """
    True when C{text} can serve as a Call-ID: one or more visible ASCII
    characters. Looser than L{isCallId}, as servers are in practice (some
    phones put base64 with C{=} in theirs); empty values, whitespace
    inside, control characters and non-ASCII are malformed (400).
    """
    return _VISIBLE.fullmatch(text) is not None


@dataclass(frozen=True)
class Replaces:
    """
    The dialog a Replaces header names (RFC 3891), as seen from the UA that
    receives the INVITE: C{toTag} is that UA's own tag in the dialog,
    C{fromTag} the remote one; C{earlyOnly} asks to replace only an early
    dialog (486 otherwise).
    """

    callId: str
    toTag: str
    fromTag: str
    earlyOnly: bool = False
    params: tuple[tuple[str, str | None], ...] = ()


def parseReplaces(value: str) -> Replaces:
    """
    Parse one Replaces header value; L{SIPParseError} (400) unless it holds
    a Call-ID and exactly one to-tag and one from-tag (RFC 3891 section 6.1).
    """
    callId, semi, rest = value.strip(" \t").partition(";")
    callId = callId.strip(" \t")
    if not isUsableCallId(callId):
        raise SIPParseError("bad Call-ID in Replaces")
    params = parseParams(rest, "Replaces") if semi else ()
    tags: dict[str, list[str]] = {"to-tag": [], "from-tag": []}
    earlyOnly = False
    others = []
    for name, param in params:
        key = name.lower()
        if key in tags:
            if param is None or not isToken(param):
                raise SIPParseError(f"bad {key} in Replaces")
            tags[key].append(param)
        elif key == "early-only":
            if param is not None:
                raise SIPParseError("early-only in Replaces takes no value")
            earlyOnly = True
        else:
            others.append((name, param))
    for key, found in tags.items():
        if len(found) != 1:
            raise SIPParseError(f"Replaces needs exactly one {key}")
    return Replaces(callId, tags["to-tag"][0], tags["from-tag"][0], earlyOnly, tuple(others))


def replacesOf(message) -> Replaces | None:
    """
    The Replaces of a request, None without one; L{SIPParseError} (400) for
    more than one Replaces value (RFC 3891 section 3) or a malformed one.
    """
    headers = message.headers
    if "Replaces" not in headers:
        return None
    values = headers.rawValues("Replaces")
    if len(values) != 1 or _splitsOnComma(values[0]):
        raise SIPParseError("more than one Replaces header")
    return parseReplaces(values[0])


def _splitsOnComma(value: str) -> bool:
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            return True
    return False


def replacesFromURI(uri: str) -> Replaces | None:
    """
    The Replaces carried in the headers part of a URI (C{?Replaces=...},
    escaped as RFC 3261 section 19.1.1 says), as a Refer-To names the
    dialog an attended transfer completes; None without one.
    """
    _, question, query = uri.partition("?")
    if not question:
        return None
    found = [unescape(value) for name, _, value in (item.partition("=") for item in query.split("&"))
             if name.lower() == "replaces"]
    if not found:
        return None
    if len(found) > 1:
        raise SIPParseError("more than one Replaces in the URI")
    return parseReplaces(found[0])


def formatReplaces(replaces: Replaces) -> str:
    """The header value naming C{replaces} (the inverse of L{parseReplaces})."""
    text = f"{replaces.callId};to-tag={replaces.toTag};from-tag={replaces.fromTag}"
    if replaces.earlyOnly:
        text += ";early-only"
    for name, value in replaces.params:
        text += f";{name}" if value is None else f";{name}={value}"
    return text


def replacesURIHeader(replaces: Replaces) -> str:
    """C{Replaces=...} escaped for the headers part of a URI (a Refer-To)."""
    return "Replaces=" + quote(formatReplaces(replaces), safe="-_.!~*'()")
