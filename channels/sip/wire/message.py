"""
The SIP message model (RFC 3261 section 7): requests, responses and the
typed views of the header fields a user agent and the transaction layer
rely on.

Messages keep raw header values; typed views (C{vias}, C{cseq}, C{fromAddr},
...) are parsed on first use, with the grammars of
L{channels.sip.wire.grammar}, and cached until the headers change. A missing
header gives None (or an empty list); a malformed one raises
L{SIPParseError}. L{channels.sip.wire.parser.parseMessage} validates the views a
server needs before it hands a message over, so a parsed message's core
views do not raise.
"""

from __future__ import annotations

import secrets

from channels.sip.wire.grammar import (
    MAGIC_COOKIE,
    MAX_CSEQ,
    SIP_VERSION,
    Contact,
    CSeq,
    NameAddr,
    Via,
    parseBoundedInt,
    parseContacts,
    parseCSeq,
    parseNameAddr,
    parseVia,
)
from channels.sip.wire.headers import Headers, SIPParseError, splitValues
from channels.sip.wire.uri import URI, parseURI

__all__ = [
    "SIPParseError", "Request", "Response", "Message", "makeResponse", "newBranch", "newTag",
    "newCallId", "REASONS", "reasonFor",
]

_WS = " \t"
_MISSING = object()


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
            for key, (_, raw) in zip(headers.lineKeys, headers.lines):
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
        return None if raw is None else parseBoundedInt(raw, "Max-Forwards", 255)

    @property
    def contentLength(self) -> int | None:
        """The Content-Length header's value (all copies must agree)."""
        headers = self.headers
        keys = headers.lineKeys
        if keys.count("content-length") <= 1:
            raw = headers.first("content-length")
            if raw is None:
                return None
            if raw.isdigit() and len(raw) < 10:
                return int(raw)
            return parseBoundedInt(raw, "Content-Length", 2**31)
        numbers = {parseBoundedInt(v, "Content-Length", 2**31) for v in headers.rawValues("Content-Length")}
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
        if headers.hasOnly("content-length", length):
            head = "\r\n".join([startLine, *map(": ".join, headers.lines), "", ""])
        else:
            lines = [startLine]
            wroteLength = False
            for (name, value), key in zip(headers.lines, headers.lineKeys):
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
            and self.headers.comparable(skip) == other.headers.comparable(skip)
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
    for key, item in zip(src.lineKeys, src.lines):
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
    return Response(status, reason, Headers.fromLines(keys, items))


def newBranch() -> str:
    """A fresh RFC 3261 branch: the magic cookie and 80 random bits."""
    return MAGIC_COOKIE + secrets.token_hex(10)


def newTag() -> str:
    """A fresh From/To tag (64 random bits)."""
    return secrets.token_hex(8)


def newCallId() -> str:
    """A fresh, globally unique Call-ID (128 random bits)."""
    return secrets.token_hex(16)
