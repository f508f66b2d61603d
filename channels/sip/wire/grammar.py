"""
Header-value grammars of RFC 3261 and its extensions that the message model
does not parse itself: Call-ID (RFC 3261 section 25.1, C{callid}) and
Replaces (RFC 3891 section 6.1), including a Replaces carried escaped in a
URI header (the C{Refer-To} of an attended transfer). Pure: text in, values
or L{SIPParseError} out.

    Replaces        = "Replaces" HCOLON callid *(SEMI replaces-param)
    replaces-param  = to-tag / from-tag / early-flag / generic-param
    to-tag          = "to-tag" EQUAL token
    from-tag        = "from-tag" EQUAL token
    early-flag      = "early-only"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from channels.sip.wire.headers import SIPParseError
from channels.sip.wire.message import isToken, parseParams
from channels.sip.wire.uri import unescape

__all__ = ["isCallId", "isUsableCallId", "Replaces", "parseReplaces", "replacesOf", "replacesFromURI",
           "formatReplaces", "replacesURIHeader"]

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
