"""
The SIP codec: bytes to L{Request}/L{Response} for datagrams
(L{parseMessage}) and for byte streams (L{StreamParser}), RFC 3261 sections
7 and 18.3 and RFC 5626 section 3.5.1 keep-alives.

Parsing splits the start line and header lines eagerly. L{validate}, which
every message returned here has passed (unless asked not to), checks the
headers a server relies on, with compiled patterns for the everyday
spellings and the full parsers for the rest; the typed views themselves
are built lazily on first use. So a server can rely on C{vias}, C{cseq},
C{fromAddr}, C{toAddr}, C{callId}, C{maxForwards}, C{contentLength} (and,
for requests, C{requestURI} and C{contacts}) not raising.
"""

from __future__ import annotations

import re
import sys
from itertools import repeat
from operator import itemgetter

from channels.sip.wire.grammar import isUsableCallId as _usableCallId
from channels.sip.wire.headers import COMPACT, Headers, SIPParseError
from channels.sip.wire.grammar import (
    RE_CHECK_ADDRESS,
    RE_CHECK_CSEQ,
    RE_CHECK_URI,
    RE_CHECK_VIA,
    checkContacts,
    checkCSeq,
    checkNameAddr,
    checkURI,
    checkVias,
)
from channels.sip.wire.message import Message, Request, Response, makeResponse

__all__ = [
    "parseMessage", "StreamParser", "validate", "SIPParseError", "Request",
    "Response", "makeResponse", "DEFAULT_MAX_HEADER_SIZE", "DEFAULT_MAX_BODY_SIZE",
]

DEFAULT_MAX_HEADER_SIZE = 64 * 1024
DEFAULT_MAX_BODY_SIZE = 1024 * 1024

_TOKEN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
)
# Header fields a request or response must carry exactly once.
_REQUIRED = ("via", "from", "to", "call-id", "cseq")
_REQUIRED_SET = frozenset(_REQUIRED)
_NONE = (None, None)
_LEADING = (b"\r\n", b"\n")
_SINGLE = frozenset(("from", "to", "call-id", "cseq", "max-forwards"))


def _checkVersion(version: str, request: Message | None) -> None:
    if version == "SIP/2.0":
        return
    upper = version.upper()
    if upper == "SIP/2.0":
        return
    if upper.startswith("SIP/"):
        major, dot, minor = upper[4:].partition(".")
        if dot and major.isdigit() and minor.isdigit():
            raise SIPParseError("Version Not Supported", 505, request)
    raise SIPParseError("bad SIP version", 400, request)


# Header names in their usual spelling: known tokens, stored as spelt.
_EVERYDAY = frozenset((
    "Via", "From", "To", "Call-ID", "Call-Id", "CSeq", "Cseq", "Max-Forwards", "Contact",
    "Content-Length", "Content-Type", "Route", "Record-Route", "Allow",
    "Supported", "Require", "User-Agent", "Server", "Expires", "Accept",
    "Accept-Encoding", "Accept-Language", "Authorization", "WWW-Authenticate",
    "Proxy-Authorization", "Proxy-Authenticate", "Date", "Subject", "Event",
    "Session-Expires", "Min-SE", "Allow-Events", "Content-Disposition",
    "Unsupported", "Refer-To", "Referred-By", "Replaces", "Privacy", "Timestamp",
    "P-Asserted-Identity", "Reason", "Warning", "Organization", "Subscription-State",
    "Min-Expires", "Proxy-Require", "Content-Encoding", "Content-Language",
))
# Their lookup keys, one shared string each (hash computed once).
_KEYS: dict[str, str] = {name: sys.intern(name.lower()) for name in _EVERYDAY}
_FIRST = itemgetter(0)
_THIRD = itemgetter(2)


def _storedName(name: str) -> tuple[str, str]:
    """(stored name, lookup key): compact names expand, others stay as spelt."""
    if len(name) == 1:
        full = COMPACT.get(name.lower())
        if full is not None:
            return full, full.lower()
    return name, name.lower()


def _unusualNames(names: list[str], keys: list[str | None]) -> bool:
    """
    Fill in the keys of names outside the usual set: compact forms expand
    (in C{names} too), other tokens are lower-cased. False if a name is
    not a token.
    """
    for i, key in enumerate(keys):
        if key is None:
            name = names[i]
            if not name or not _TOKEN.issuperset(name):
                return False
            names[i], keys[i] = _storedName(name)
    return True


def _headerLines(lines: list[str]) -> tuple[list[str], list[tuple[str, str]], str | None]:
    """Unfold and split header lines; collect the first syntax problem."""
    keys: list[str] = []
    items: list[tuple[str, str]] = []
    error = None
    for line in lines:
        if not line:
            error = error or "empty header line"
            continue
        ch = line[0]
        if ch == " " or ch == "\t":
            if not items:
                error = error or "continuation line before any header"
                continue
            name, value = items[-1]
            extra = line.strip(" \t")
            if extra:
                items[-1] = (name, f"{value} {extra}" if value else extra)
            continue
        name, colon, value = line.partition(":")
        if not colon:
            error = error or "header line without a colon"
            continue
        name = name.rstrip(" \t")
        if not name or not _TOKEN.issuperset(name):
            error = error or "bad header name"
            continue
        known = _storedName(name)
        keys.append(known[1])
        items.append((known[0], value.strip(" \t")))
    return keys, items, error


def _parseHead(head: bytes) -> Message:
    """
    Build a message (empty body) from everything before the blank line.
    Raises L{SIPParseError}; once the request line is known, the error
    carries the request so that it can be answered.
    """
    text = head.decode("utf-8", "surrogateescape")
    lines = text.split("\r\n")
    count = len(lines) - 1
    first = lines[0]
    headers = None
    if count and "\n" not in first and "\r" not in first:
        # Everyday form: every header line partitions at its first ": "
        # into a usual name (or a token) and a value, with no CR or LF
        # left in any value (so no bare line break and no folding). These
        # checks and the splitting are C-level maps, nothing per line in
        # Python.
        del lines[0]
        triples = list(map(str.partition, lines, repeat(": ")))
        names = list(map(_FIRST, triples))
        values = list(map(str.strip, map(_THIRD, triples), repeat(" \t")))
        keys = list(map(_KEYS.get, names))
        if all(values) and (all(keys) or _unusualNames(names, keys)):
            joined = "".join(values)
            if "\n" not in joined and "\r" not in joined:
                index = dict(zip(keys, values))
                if len(index) != count:
                    index = dict(zip(reversed(keys), reversed(values)))
                headers = Headers.fromLines(keys, list(zip(names, values)), index)
    error = None
    if headers is None:
        if text.count("\n") != count or text.count("\r") != count:
            lines = text.replace("\r\n", "\n").split("\n")
            error = "bare CR in a header" if "\r" in text.replace("\r\n", "") else None
        else:
            lines = text.split("\r\n")
        first = lines[0]
        del lines[0]
        keys, items, lineError = _headerLines(lines)
        error = error or lineError
        headers = Headers.fromLines(keys, items)

    if first[:4] == "SIP/":
        return _response(first, headers, error)
    parts = first.rstrip(" \t").split(" ")
    if len(parts) != 3:
        if len(parts) > 3 and parts[0] and _TOKEN.issuperset(parts[0]):
            # Whitespace inside the Request-URI or between the elements:
            # keep the request so that it can be answered with a 400.
            bad = Request(parts[0], " ".join(parts[1:-1]), headers, b"", parts[-1])
            raise SIPParseError("bad request line", 400, bad)
        raise SIPParseError("bad request line")
    method, uri, version = parts
    if not method or not _TOKEN.issuperset(method):
        raise SIPParseError("bad method")
    if not uri:
        raise SIPParseError("bad Request-URI")
    message = Request(method, uri, headers, b"", version)
    if error:
        raise SIPParseError(error, 400, message)
    _checkVersion(version, message)
    return message


def _response(first: str, headers: Headers, error: str | None) -> Response:
    """The response of status line C{first}; L{SIPParseError} for a bad one."""
    parts = first.split(" ", 2)
    if len(parts) == 3:
        version, code, reason = parts
    elif len(parts) == 2:
        version, code = parts
        reason = ""
    else:
        raise SIPParseError("bad status line")
    if len(code) != 3 or not code.isdigit() or not code.isascii():
        raise SIPParseError("bad status code")
    if version != "SIP/2.0":
        _checkVersion(version, None)
    status = int(code)
    if not 100 <= status <= 699:
        raise SIPParseError("status code out of range")
    if error:
        raise SIPParseError(error)
    # Built without the constructor's defaults (every field is known).
    message = _newMessage(Response)
    message.status = status
    message.reason = reason
    message.headers = headers
    message.body = b""
    message.version = version
    return message


_newMessage = object.__new__


def validate(message: Message) -> None:
    """
    Check what a UAS or the transaction layer relies on: the mandatory
    headers present (and single where they must be), every Via, CSeq,
    From, To, Max-Forwards, Content-Length and (for requests) Contact and
    the Request-URI well formed, and the CSeq method equal to the request
    method. Afterwards those typed views do not raise. Raises
    L{SIPParseError} carrying the request, if it is one.

    A response gets the checks RFC 3261 needs to match and use it: the
    top Via (client transaction branch and sent-by, section 18.1.2), CSeq
    (transaction method), From and To (dialog tags) and Call-ID; the
    Request-URI, Contact and the CSeq method check are for requests only.

    Everyday messages (each header once, usual spellings) are accepted by
    one compiled pattern over the values that matter; anything else, and
    every error, goes through the full checks.
    """
    headers = message.headers
    index = headers.firstValues()
    if len(index) == len(headers.lineKeys):
        try:
            cseq = index["cseq"]
            joined = f"{cseq}\n{index['via']}\n{index['from']}\n{index['to']}"
            callId = index["call-id"]
        except KeyError:
            pass
        else:
            if message.isRequest:
                contact = index.get("contact")
                if contact is None:
                    accepted = _CHECK_REQUEST.fullmatch(f"{joined}\n{message.uri}")  # type: ignore[attr-defined]
                else:
                    accepted = _CHECK_REQUEST_CONTACT.fullmatch(
                        f"{joined}\n{message.uri}\n{contact}"  # type: ignore[attr-defined]
                    )
                accepted = accepted is not None and cseq.rpartition(" ")[2] == message.method  # type: ignore[attr-defined]
            else:
                accepted = _CHECK_RESPONSE.fullmatch(joined) is not None
            if accepted and callId and _usableCallId(callId):
                maxForwards = index.get("max-forwards")
                length = index.get("content-length")
                if (
                    maxForwards is None
                    or (maxForwards.isdigit() and len(maxForwards) <= 3 and int(maxForwards) <= 255)
                ) and (length is None or (length.isdigit() and len(length) < 10)):
                    return
    _validateGeneral(message)


_CHECK_RESPONSE = re.compile(rf"{RE_CHECK_CSEQ}\n{RE_CHECK_VIA}\n{RE_CHECK_ADDRESS}\n{RE_CHECK_ADDRESS}")
_CHECK_REQUEST = re.compile(
    rf"{RE_CHECK_CSEQ}\n{RE_CHECK_VIA}\n{RE_CHECK_ADDRESS}\n{RE_CHECK_ADDRESS}\n{RE_CHECK_URI}"
)
_CHECK_REQUEST_CONTACT = re.compile(
    rf"{RE_CHECK_CSEQ}\n{RE_CHECK_VIA}\n{RE_CHECK_ADDRESS}\n{RE_CHECK_ADDRESS}\n{RE_CHECK_URI}"
    rf"\n{RE_CHECK_ADDRESS}"
)


def _validateGeneral(message: Message) -> None:
    """The full checks behind L{validate}, with precise errors."""
    headers = message.headers
    keys = headers.lineKeys
    lines = headers.lines
    try:
        # First value of each header (reversed so that the first one wins).
        first = dict(zip(keys, lines))
        unique = len(first) == len(keys)
        if not unique:
            first = dict(zip(reversed(keys), reversed(lines)))
        if not _REQUIRED_SET <= first.keys():
            for key in _REQUIRED:
                if key not in first:
                    raise SIPParseError(f"missing {_CANONICAL[key]} header")
        if not unique:
            for key in _SINGLE:
                if keys.count(key) > 1:
                    raise SIPParseError(f"more than one {_CANONICAL[key]} header")
        cseq = first["cseq"][1]
        checkCSeq(cseq)
        checkNameAddr(first["from"][1])
        checkNameAddr(first["to"][1])
        callId = first["call-id"][1]
        if not callId:
            raise SIPParseError("empty Call-ID")
        if not _usableCallId(callId):
            raise SIPParseError("bad Call-ID")
        maxForwards = first.get("max-forwards", _NONE)[1]
        if maxForwards is not None and not (
            maxForwards.isdigit() and len(maxForwards) <= 3 and int(maxForwards) <= 255
        ):
            message.maxForwards
        if unique:
            checkVias((first["via"][1],))
        else:
            checkVias(headers.rawValues("Via"))
        length = first.get("content-length", _NONE)[1]
        if length is not None and not (unique and length.isdigit() and len(length) < 10):
            message.contentLength
        if message.isRequest:
            assert isinstance(message, Request)
            checkURI(message.uri)
            contact = first.get("contact", _NONE)[1]
            if contact is not None:
                checkContacts((contact,) if unique else headers.rawValues("Contact"))
            if cseq.rpartition(" ")[2] != message.method:
                parsed = message.cseq
                if parsed is not None and parsed.method != message.method:
                    raise SIPParseError("CSeq method does not match the request method")
    except SIPParseError as e:
        if e.message is None and message.isRequest:
            e.message = message
        raise


_validate = validate

_CANONICAL = {
    "via": "Via", "from": "From", "to": "To", "call-id": "Call-ID",
    "cseq": "CSeq", "max-forwards": "Max-Forwards",
}


def parseMessage(data: bytes, validate: bool = True) -> Request | Response:
    """
    Parse one datagram. A Content-Length shorter than the body truncates
    it (the rest is ignored); a longer one is an error; without one the
    body is the rest of the datagram. Leading CRLFs are skipped.

    With C{validate} false only the start line, the header lines and
    Content-Length are checked (the codec alone, e.g. for a proxy path or a
    benchmark); typed views may then raise L{SIPParseError} when used.
    """
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("parseMessage takes bytes")
        data = bytes(data)
    if data.startswith(_LEADING):
        data = data.lstrip(b"\r\n")
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        rest = data[end + 4 :]
    else:
        end = data.find(b"\n\n")
        if end < 0:
            if not data:
                raise SIPParseError("empty message")
            # Tolerate a datagram that ends right after its last header.
            end = len(data)
            while end and data[end - 1 : end] in (b"\r", b"\n"):
                end -= 1
            rest = b""
        else:
            rest = data[end + 2 :]
    message = _parseHead(data[:end])
    if validate:
        _validate(message)
    headers = message.headers
    index = headers.firstValues()
    length = index.get("content-length")
    if length is not None:
        if length.isdigit() and len(length) < 10 and len(index) == len(headers.lineKeys):
            length = int(length)
        else:
            length = message.contentLength
    if length is None:
        message.body = rest
    elif length == len(rest):
        message.body = rest
    elif length > len(rest):
        raise SIPParseError(
            "Content-Length larger than the body", 400, message if message.isRequest else None
        )
    else:
        message.body = rest[:length]
    return message


class StreamParser:
    """
    Frame SIP messages out of a TCP or TLS byte stream.

    L{feed} returns the complete messages found so far (possibly none;
    pipelined ones in order) and keeps any partial message for the next
    call. Content-Length is mandatory. CRLFs between messages are skipped;
    each CRLFCRLF keep-alive ping (RFC 5626 section 3.5.1) increments
    C{pongNeeded}: the shell should send one CRLF per ping, e.g.
    C{transport.write(parser.takePongs())}.

    A framing error (bad start line or headers, missing or bad
    Content-Length, headers or body over the limits) raises
    L{SIPParseError}: the stream is unusable and the shell must close it,
    after answering C{error.message} if set. A message that is well framed
    but invalid (e.g. a bad CSeq) also raises, at once or, when complete
    messages preceded it in the same data, on the next call to L{feed};
    the buffer is then past the bad message, so the shell may keep the
    connection after answering it.
    """

    def __init__(
        self,
        maxHeaderSize: int = DEFAULT_MAX_HEADER_SIZE,
        maxBodySize: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self.maxHeaderSize = maxHeaderSize
        self.maxBodySize = maxBodySize
        self.pongNeeded = 0
        self._buffer = bytearray()
        self._scanned = 0
        self._pending: Message | None = None
        self._bodyLength = 0
        self._error: SIPParseError | None = None

    def takePongs(self) -> bytes:
        """The CRLFs owed for the pings seen so far; resets the count."""
        pongs = b"\r\n" * self.pongNeeded
        self.pongNeeded = 0
        return pongs

    def feed(self, data: bytes) -> list[Request | Response]:
        """Add bytes; return the messages they completed."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        buf = self._buffer
        buf += data
        out: list[Request | Response] = []
        while True:
            if self._pending is None:
                # Between messages: skip CRLF pongs, count CRLFCRLF pings.
                while buf[:2] == b"\r\n":
                    if buf[:4] == b"\r\n\r\n":
                        self.pongNeeded += 1
                        del buf[:4]
                    elif len(buf) == 2 or buf[:3] == b"\r\n\r":
                        # Could still become a ping: wait for more bytes.
                        return self._finish(out)
                    else:
                        del buf[:2]
                if not buf:
                    self._scanned = 0
                    return out
                end = buf.find(b"\r\n\r\n", max(0, self._scanned - 3))
                if end < 0:
                    if len(buf) > self.maxHeaderSize:
                        raise SIPParseError("message headers too large", 513)
                    self._scanned = len(buf)
                    return out
                if end > self.maxHeaderSize:
                    raise SIPParseError("message headers too large", 513)
                head = bytes(buf[:end])
                del buf[: end + 4]
                self._scanned = 0
                message = _parseHead(head)
                attached = message if message.isRequest else None
                keys = message.headers.lineKeys
                if "content-length" not in keys:
                    raise SIPParseError("missing Content-Length on a stream", 400, attached)
                try:
                    length = message.contentLength
                except SIPParseError as e:
                    e.message = attached
                    raise
                assert length is not None
                if length > self.maxBodySize:
                    raise SIPParseError("message body too large", 513, attached)
                self._pending = message
                self._bodyLength = length
            message = self._pending
            length = self._bodyLength
            if len(buf) < length:
                return out
            message.body = bytes(buf[:length])
            del buf[:length]
            self._pending = None
            try:
                _validate(message)
            except SIPParseError as e:
                if out:
                    self._error = e
                    return out
                raise
            out.append(message)  # type: ignore[arg-type]

    def _finish(self, out: list) -> list:
        self._scanned = 0
        return out
