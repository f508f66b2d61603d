"""
SIP header fields: an ordered, case-insensitive multimap of raw values.

Values are kept as received (folding already collapsed to single spaces by
the parser) so that a message relayed or re-serialised stays faithful; typed
views over them live in L{channels.sip.wire.message}.
"""

from __future__ import annotations

from typing import Iterable, Iterator

# RFC 3261 section 7.3.3 plus the compact forms of RFC 3265 (o, u),
# RFC 3515 / 3892 (r, b), RFC 4028 (x) and RFC 3841 / 4474 / 3903 extras.
COMPACT: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "y": "Identity",
    "n": "Identity-Info",
}

# Header fields whose grammar is a comma-separated list (RFC 3261 section 7.3.1
# and the extensions above); getall() splits these and nothing else.
MULTIVALUED: frozenset[str] = frozenset(
    name.lower()
    for name in (
        "Via", "Route", "Record-Route", "Contact", "Allow", "Supported",
        "Require", "Proxy-Require", "Unsupported", "Accept",
        "Accept-Encoding", "Accept-Language", "Allow-Events", "Alert-Info",
        "Call-Info", "Error-Info", "Content-Encoding", "Content-Language",
        "In-Reply-To", "Warning", "Path", "Service-Route", "Reason",
        "P-Asserted-Identity", "P-Preferred-Identity", "Accept-Contact",
        "Reject-Contact", "Request-Disposition", "History-Info",
        "Security-Client", "Security-Server", "Security-Verify",
        "P-Associated-URI", "Privacy",
    )
)


class SIPParseError(ValueError):
    """
    A SIP message, header or URI is malformed.

    C{reason} is a short phrase fit for the reason phrase of the answer;
    C{status} is the code a server should answer with (400, or 505 for an
    unsupported version); C{message} is the partially parsed request when
    its start line, headers and top Via were readable, so that the answer
    can be built with L{channels.sip.wire.message.makeResponse}, else None.
    The public home of this class is L{channels.sip.wire.message}.
    """

    def __init__(self, reason: str, status: int = 400, message: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.message = message


def canonicalName(name: str) -> str:
    """
    Expand a compact header name to its full form; other names are kept as
    given (header names compare case-insensitively anyway).
    """
    if len(name) == 1:
        return COMPACT.get(name.lower(), name)
    return name


def splitValues(value: str) -> list[str]:
    """
    Split a header value on the commas that separate list elements, never
    inside a quoted string or an angle-bracketed URI. Empty elements are
    kept (stripped) so that callers can reject them.
    """
    if "," not in value:
        return [value.strip()]
    if '"' not in value and "<" not in value:
        return [part.strip() for part in value.split(",")]
    parts = []
    start = 0
    inQuote = False
    inAngle = False
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if inQuote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                inQuote = False
        elif ch == '"':
            inQuote = True
        elif ch == "<":
            inAngle = True
        elif ch == ">":
            inAngle = False
        elif ch == "," and not inAngle:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    parts.append(value[start:].strip())
    return parts


_NAME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
)


def _checkName(name: str) -> str:
    name = canonicalName(name)
    if not name or not _NAME_CHARS.issuperset(name):
        raise ValueError(f"not a header name: {name!r}")
    return name


# Names stored as spelt (full names in their usual spelling): no check needed.
_USUAL_KEYS: dict[str, str] = {
    name: name.lower()
    for name in (
        "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Contact",
        "Content-Length", "Content-Type", "Route", "Record-Route", "Allow",
        "Supported", "Require", "User-Agent", "Server", "Expires", "Accept",
        "Accept-Encoding", "Accept-Language", "Authorization", "WWW-Authenticate",
        "Proxy-Authorization", "Proxy-Authenticate", "Date", "Event",
        "Session-Expires", "Min-SE", "Allow-Events", "Unsupported", "Timestamp",
        "Refer-To", "Referred-By", "Subscription-State", "Reason", "Warning",
    )
}


def _checkValue(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("a header value may not contain CR or LF")
    return value


class Headers:
    """
    Ordered, case-insensitive multimap of raw (name, value) pairs.

    Compact names are stored under their full names. C{views} holds typed
    views that messages parse from these values; every mutation empties it
    and bumps C{generation}. L{firstValues} maps each key to its first raw
    value (built by the parser, or on first lookup, and dropped on any
    change): it makes the lookups of validation and of the typed views one
    dict access, and C{len(firstValues()) == len(lineKeys)} says no header
    repeats.

    The codec (parser, messages) reads the lines without copies through
    L{lineKeys} and L{lines} and builds from trusted lines with
    L{fromLines}; everyone else uses the methods.
    """

    __slots__ = ("_keys", "_items", "_index", "generation", "views")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._keys: list[str] = []
        self._items: list[tuple[str, str]] = []
        self._index: dict[str, str] | None = None
        self.generation = 0
        self.views: dict = {}
        for name, value in items:
            self.add(name, value)

    @classmethod
    def fromLines(
        cls,
        keys: list[str],
        items: list[tuple[str, str]],
        index: dict[str, str] | None = None,
    ) -> "Headers":
        """
        Build from already canonical lists, taken over without checks or
        copies (the parser's fast path): C{keys} the lower-case full name
        of each line, C{items} its (name, value); C{index}, if given, must
        map each key to its first value.
        """
        self = cls.__new__(cls)
        self._keys = keys
        self._items = items
        self._index = index
        self.generation = 0
        self.views = {}
        return self

    @property
    def lineKeys(self) -> list[str]:
        """The lower-case full name of every line, in order (do not modify)."""
        return self._keys

    @property
    def lines(self) -> list[tuple[str, str]]:
        """Every (name, value) line, in order, uncopied (do not modify)."""
        return self._items

    def firstValues(self) -> dict[str, str]:
        """Each lower-case full name mapped to its first raw value."""
        index = self._index
        if index is None:
            index = self._buildIndex()
        return index

    def _changed(self) -> None:
        self.generation += 1
        self._index = None
        if self.views:
            self.views = {}

    def _buildIndex(self) -> dict[str, str]:
        """Map each key to its first value (the first one wins)."""
        keys = self._keys
        values = [item[1] for item in self._items]
        index = dict(zip(keys, values))
        if len(index) != len(keys):
            index = dict(zip(reversed(keys), reversed(values)))
        self._index = index
        return index

    def first(self, key: str) -> str | None:
        """The first raw value for a lower-case full header name."""
        index = self._index
        if index is not None:
            return index.get(key)
        keys = self._keys
        if key in keys:
            return self._items[keys.index(key)][1]
        return None

    def hasOnly(self, key: str, value: str) -> bool:
        """True when exactly one line has C{key} (a lower-case full name), with C{value}."""
        index = self._index
        if index is not None and len(index) == len(self._keys):
            return index.get(key) == value
        keys = self._keys
        return keys.count(key) == 1 and self._items[keys.index(key)][1] == value

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first raw value of C{name}, or C{default}."""
        key = canonicalName(name).lower()
        index = self._index
        if index is not None:
            return index.get(key, default)
        keys = self._keys
        if key in keys:
            return self._items[keys.index(key)][1]
        return default

    def rawValues(self, name: str) -> list[str]:
        """Every raw value of C{name}, one per header line, unsplit."""
        key = canonicalName(name).lower()
        return [item[1] for k, item in zip(self._keys, self._items) if k == key]

    def getall(self, name: str) -> list[str]:
        """
        All values of C{name}; for list-valued headers each line is split on
        its separating commas (empty elements dropped).
        """
        key = canonicalName(name).lower()
        values = [item[1] for k, item in zip(self._keys, self._items) if k == key]
        if key not in MULTIVALUED:
            return values
        out = []
        for value in values:
            out.extend(v for v in splitValues(value) if v)
        return out

    def count(self, name: str) -> int:
        """How many header lines carry C{name}."""
        return self._keys.count(canonicalName(name).lower())

    def set(self, name: str, value: str) -> None:
        """Replace every C{name} line with one, where the first one stood."""
        name = _checkName(name)
        key = name.lower()
        _checkValue(value)
        try:
            index = self._keys.index(key)
        except ValueError:
            self._keys.append(key)
            self._items.append((name, value))
        else:
            self._items[index] = (name, value)
            i = len(self._keys) - 1
            while i > index:
                if self._keys[i] == key:
                    del self._keys[i]
                    del self._items[i]
                i -= 1
        self._changed()

    def add(self, name: str, value: str) -> None:
        """Append a C{name} line after all others."""
        key = _USUAL_KEYS.get(name)
        if key is None:
            name = _checkName(name)
            key = name.lower()
        if "\r" in value or "\n" in value:
            _checkValue(value)
        self._keys.append(key)
        self._items.append((name, value))
        self._changed()

    def insert(self, index: int, name: str, value: str) -> None:
        """Insert a line at a position among all lines (0 is the top)."""
        name = _checkName(name)
        self._keys.insert(index, name.lower())
        self._items.insert(index, (name, _checkValue(value)))
        self._changed()

    def prepend(self, name: str, value: str) -> None:
        """
        Put a value before every other C{name} value, e.g. a new top Via or
        Record-Route.
        """
        key = canonicalName(name).lower()
        try:
            index = self._keys.index(key)
        except ValueError:
            index = 0
        self.insert(index, name, value)

    def remove(self, name: str) -> int:
        """Drop every C{name} line; return how many there were."""
        key = canonicalName(name).lower()
        keep = [(k, item) for k, item in zip(self._keys, self._items) if k != key]
        removed = len(self._keys) - len(keep)
        if removed:
            self._keys = [k for k, _ in keep]
            self._items = [item for _, item in keep]
            self._changed()
        return removed

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) line in order."""
        return list(self._items)

    def copy(self) -> "Headers":
        return Headers.fromLines(list(self._keys), list(self._items))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return canonicalName(name).lower() in self._keys

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def comparable(self, skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        """(key, value) of every line whose key is not in C{skip}: equal for equal headers."""
        return [
            (k, item[1]) for k, item in zip(self._keys, self._items) if k not in skip
        ]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self.comparable() == other.comparable()

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"
