"""
The manager protocol's wire format, pure: bytes in, messages out, and back.

A message is a run of C{Key: Value} lines ended by an empty line. Keys are
matched case-insensitively on the way in and written as given on the way out;
repeated keys (C{Variable:}) are kept in order. Lines may end in CRLF or a bare
LF, because hand-typed telnet sessions and some clients send either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

#: Asterisk's protocol banner; clients match on the "Asterisk Call Manager/"
#: prefix, so the version must look like Asterisk's.
GREETING = b"Asterisk Call Manager/5.0.2\r\n"

#: A message larger than this without an empty line is refused.
MAX_MESSAGE_SIZE = 64 * 1024

#: Asterisk refuses more headers than this in one message.
MAX_HEADERS = 128


class FramingError(Exception):
    """The peer sent something that cannot be a manager message."""


class MessageTooLarge(FramingError):
    """A message grew past the size or header cap without ending."""


@dataclass(frozen=True)
class Message:
    """
    One manager message: ordered (key, value) pairs, duplicates kept.
    """

    fields: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value for C{key}, matched case-insensitively."""
        lowered = key.lower()
        for k, v in self.fields:
            if k.lower() == lowered:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        """Every value for C{key}, in order."""
        lowered = key.lower()
        return [v for k, v in self.fields if k.lower() == lowered]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    @property
    def action(self) -> str | None:
        """The C{Action:} value, or None."""
        value = self.get("Action")
        return value.strip() if value is not None else None

    @property
    def actionID(self) -> str | None:
        """The C{ActionID:} value, or None."""
        return self.get("ActionID")

    def variables(self) -> list[tuple[str, str]]:
        """
        C{Variable: a=b} headers as (name, value) pairs; one header may carry
        several pairs separated by commas, as Asterisk allows.
        """
        result = []
        for raw in self.getall("Variable"):
            for part in raw.split(","):
                name, sep, value = part.partition("=")
                name = name.strip()
                if name and sep:
                    result.append((name, value))
        return result


def parseLine(line: str) -> tuple[str, str] | None:
    """
    Split C{Key: Value}; a line without a colon carries nothing and is
    ignored, like Asterisk's header lookup does.
    """
    key, sep, value = line.partition(":")
    if not sep:
        return None
    key = key.strip()
    if not key:
        return None
    if value.startswith(" "):
        value = value[1:]
    return key, value.rstrip(" \t")


class MessageParser:
    """
    Incremental parser: C{feed(data)} returns the messages completed by
    C{data}. Raises L{MessageTooLarge} when a message outgrows the caps; the
    parser is then useless and the connection should be closed.
    """

    def __init__(self, maxSize: int = MAX_MESSAGE_SIZE, maxHeaders: int = MAX_HEADERS):
        self.maxSize = maxSize
        self.maxHeaders = maxHeaders
        self._buffer = b""
        self._fields: list[tuple[str, str]] = []
        self._size = 0

    def feed(self, data: bytes) -> list[Message]:
        messages = []
        buffer = self._buffer + data
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            raw = buffer[start:end]
            start = end + 1
            self._size += len(raw) + 1
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw.strip():
                if self._fields:
                    messages.append(Message(tuple(self._fields)))
                self._fields = []
                self._size = 0
                continue
            parsed = parseLine(raw.decode("utf-8", "replace"))
            if parsed is not None:
                self._fields.append(parsed)
                if len(self._fields) > self.maxHeaders:
                    raise MessageTooLarge(
                        f"more than {self.maxHeaders} headers in one message")
            if self._size > self.maxSize:
                raise MessageTooLarge(
                    f"message larger than {self.maxSize} bytes")
        self._buffer = buffer[start:]
        if self._size + len(self._buffer) > self.maxSize:
            raise MessageTooLarge(f"message larger than {self.maxSize} bytes")
        return messages


def _clean(value: object) -> str:
    """A value that cannot break framing: line breaks become spaces."""
    text = "" if value is None else str(value)
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return text


def formatMessage(fields: Iterable[tuple[str, object]]) -> bytes:
    """Serialise (key, value) pairs into one message ending in an empty line."""
    parts = [f"{key}: {_clean(value)}\r\n" for key, value in fields]
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def formatResponse(response: str, actionID: str | None = None,
                   fields: Iterable[tuple[str, object]] = ()) -> bytes:
    """C{Response:} first, then C{ActionID:} when the request had one."""
    head: list[tuple[str, object]] = [("Response", response)]
    if actionID is not None:
        head.append(("ActionID", actionID))
    return formatMessage(head + [(k, v) for k, v in fields if k.lower() != "actionid"])


def formatEvent(name: str, fields: Iterable[tuple[str, object]] = (),
                actionID: str | None = None, privilege: str | None = None,
                timestamp: float | None = None, systemName: str | None = None) -> bytes:
    """
    C{Event:} first; then C{ActionID:} for list items, C{Privilege:} for
    broadcast events, C{Timestamp:} when the session asked for it and
    C{SystemName:} (pbx.conf systemname) on broadcast events when it is set,
    in Asterisk's order.
    """
    head: list[tuple[str, object]] = [("Event", name)]
    if actionID is not None:
        head.append(("ActionID", actionID))
    if privilege is not None:
        head.append(("Privilege", privilege))
    if timestamp is not None:
        head.append(("Timestamp", f"{timestamp:.6f}"))
    if systemName:
        head.append(("SystemName", systemName))
    return formatMessage(head + list(fields))


def formatCommandOutput(output: str, actionID: str | None = None) -> bytes:
    """
    The classic C{Command} answer as Asterisk up to 13 wrote it: CRLF headers,
    then the console output verbatim with its bare LF line ends, then
    C{--END COMMAND--}. Clients built for it (pyst2, panoramisk) find the
    output as the text before the marker.
    """
    head = "Response: Follows\r\nPrivilege: Command\r\n"
    if actionID is not None:
        head += f"ActionID: {_clean(actionID)}\r\n"
    body = output.replace("\r\n", "\n").replace("\r", "\n")
    return (head + body + "--END COMMAND--\r\n\r\n").encode("utf-8")


def formatCommandLines(output: str, actionID: str | None = None) -> bytes:
    """The newer C{Command} answer: one C{Output:} header per line."""
    fields: list[tuple[str, object]] = [("Message", "Command output follows")]
    lines = output.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    fields.extend(("Output", line) for line in lines)
    return formatResponse("Success", actionID, fields)
