"""
Asterisk extension patterns: matching and the order of overlapping patterns.

A name starting with C{_} is a pattern: C{X} is 0-9, C{Z} 1-9, C{N} 2-9 (the
class letters are accepted in either case), C{[1-5a-c]} a set with ranges,
C{.} one or more of anything, C{!} zero or more of anything ("early match"),
and every other character matches itself, case-sensitively. Dashes are
decoration everywhere: C{555-1234} is C{5551234} and dialled dashes are
skipped. Patterns that overlap are tried most specific first, using
Asterisk's C{ext_cmp} ranking so an Asterisk dialplan picks the same
extension here.

Pure: no reactor, no I/O.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Iterable, Iterator, Sequence


class MatchMode(IntEnum):
    """What a caller wants to know about dialled digits."""

    #: Do the digits name this extension now?
    MATCH = 1
    #: Could they, now or after more digits?
    CANMATCH = 2
    #: Would more digits still match (the digits are a strict prefix)?
    MATCHMORE = 3


#: _extension_match_core's answers: no, yes, yes-and-stop-collecting.
NOMATCH = 0
MATCHED = 1
EARLYMATCH = 2


class PatternError(ValueError):
    """An extension pattern that cannot be compiled (an unclosed C{[})."""


# An element of a compiled pattern is a frozenset of characters, or one of
# these two markers; anything after a marker is never consulted.
ONE_OR_MORE = "."
ZERO_OR_MORE = "!"

_DIGITS = "0123456789"
_CLASSES = {
    "X": frozenset(_DIGITS),
    "Z": frozenset(_DIGITS[1:]),
    "N": frozenset(_DIGITS[2:]),
}


def isPattern(exten: str) -> bool:
    """Whether C{exten} is written as a pattern."""
    return exten.startswith("_")


def normalizeExten(exten: str) -> str:
    """A non-pattern extension (or dialled digits) without its dashes."""
    return exten.replace("-", "") if "-" in exten else exten


def _parseSet(text: str, start: int) -> tuple[frozenset, int]:
    """
    The characters of the set whose C{[} is at C{start}, and the index just
    past its C{]}. A C{-} between two characters is a range.
    """
    end = text.find("]", start + 1)
    if end < 0:
        raise PatternError(f"unclosed '[' in pattern {text!r}")
    chars = set()
    i = start + 1
    while i < end:
        if i + 2 < end and text[i + 1] == "-":
            lo, hi = ord(text[i]), ord(text[i + 2])
            chars.update(chr(c) for c in range(lo, hi + 1))
            i += 3
        else:
            chars.add(text[i])
            i += 1
    return frozenset(chars), end + 1


def compilePattern(pattern: str) -> tuple:
    """
    The elements of C{pattern} (with or without its leading C{_}): frozensets
    of characters, ending optionally with L{ONE_OR_MORE} or L{ZERO_OR_MORE}.
    Empty sets are dropped, as Asterisk ignores them.
    """
    text = pattern[1:] if pattern.startswith("_") else pattern
    elements: list = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "-":
            i += 1
            continue
        if c == "[":
            chars, i = _parseSet(text, i)
            if chars:
                elements.append(chars)
            continue
        if c == ".":
            elements.append(ONE_OR_MORE)
            break
        if c == "!":
            elements.append(ZERO_OR_MORE)
            break
        cls = _CLASSES.get(c.upper())
        elements.append(cls if cls is not None else frozenset(c))
        i += 1
    return tuple(elements)


def validatePattern(exten: str) -> None:
    """Raise L{PatternError} if C{exten} is a pattern that cannot compile."""
    if isPattern(exten):
        compilePattern(exten)


def matchElements(elements: Sequence, data: str, mode: MatchMode) -> int:
    """
    Match normalized dialled C{data} against compiled C{elements}: returns
    L{NOMATCH}, L{MATCHED} or L{EARLYMATCH} as Asterisk's matcher does.
    """
    i = 0
    n = len(data)
    for element in elements:
        if element is ZERO_OR_MORE:
            return EARLYMATCH
        if i == n:
            # Ran off the end of the digits with pattern left over.
            return NOMATCH if mode == MatchMode.MATCH else MATCHED
        if element is ONE_OR_MORE:
            return MATCHED
        if data[i] not in element:
            return NOMATCH
        i += 1
    if i < n:
        return NOMATCH
    return NOMATCH if mode == MatchMode.MATCHMORE else MATCHED


def extensionMatch(exten: str, data: str, mode: MatchMode = MatchMode.MATCH) -> int:
    """
    Asterisk's C{ast_extension_match} / C{ast_extension_close}: whether
    dialled C{data} matches extension C{exten} (a pattern or a plain name).
    """
    data = normalizeExten(data)
    if not isPattern(exten):
        name = normalizeExten(exten)
        if len(name) < len(data):
            return NOMATCH
        if mode == MatchMode.MATCH:
            return MATCHED if name == data else NOMATCH
        if not name.startswith(data):
            return NOMATCH
        if mode == MatchMode.MATCHMORE:
            return MATCHED if len(name) > len(data) else NOMATCH
        return MATCHED
    return matchElements(compilePattern(exten), data, mode)


def shrinkPhoneNumber(number: str) -> str:
    """
    A caller id match without its punctuation (Asterisk's
    C{ast_shrink_phone_number}): C{( ) - .} and spaces go, except that a
    C{.} is kept in a C{_} pattern.
    """
    out = []
    isPat = False
    for idx, c in enumerate(number):
        if c == "_" and idx == 0:
            isPat = True
            out.append(c)
        elif c == "." and isPat:
            out.append(c)
        elif c in "()- .":
            continue
        else:
            out.append(c)
    return "".join(out)


def callerIdMatches(cidPattern: str | None, callerid: str | None) -> bool:
    """Whether an extension's caller id match accepts C{callerid}."""
    if not cidPattern:
        return True
    if not callerid:
        return False
    return extensionMatch(cidPattern, callerid, MatchMode.MATCH) != NOMATCH


# --- ordering (ext_cmp) ---------------------------------------------------

_END = (0x30000, ())
_DOT = (0x18000, ())
_BANG = (0x28000, ())


def _cmpPositions(text: str) -> tuple:
    """
    One rank per position of a pattern body, as Asterisk's
    C{ext_cmp_pattern_pos}: the size of the character class then its lowest
    character (smaller classes first), ties broken by the members; C{.} and
    C{!} after every class and the end of the pattern after everything.
    """
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "-":
            i += 1
            continue
        if c == "[":
            end = text.find("]", i + 1)
            if end < 0:
                out.append((0x40000, ()))
                break
            chars, i = _parseSet(text, i)
            if not chars:
                continue
            members = tuple(sorted(ord(m) for m in chars))
            out.append(((len(members) << 8) | members[0], members))
            continue
        i += 1
        if c == ".":
            out.append(_DOT)
        elif c == "!":
            out.append(_BANG)
        else:
            cls = _CLASSES.get(c.upper())
            if cls is not None:
                members = tuple(sorted(ord(m) for m in cls))
                out.append(((len(members) << 8) | members[0], members))
            else:
                out.append((0x100 | (ord(c) & 0xFF), (ord(c),)))
    out.append(_END)
    return tuple(out)


def sortKey(exten: str) -> tuple:
    """
    A key ordering extensions as Asterisk's C{ext_cmp}: every plain name
    before every pattern, plain names by character, patterns most specific
    first.
    """
    if not isPattern(exten):
        return (0, normalizeExten(exten))
    return (1, _cmpPositions(exten[1:]))


def extCmp(left: str, right: str) -> int:
    """-1, 0 or 1 as Asterisk's C{ast_extension_cmp}."""
    a, b = sortKey(left), sortKey(right)
    return (a > b) - (a < b)


# --- the index ------------------------------------------------------------

@dataclass(eq=False)
class _Node:
    literal: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)
    ends: list = field(default_factory=list)
    dots: list = field(default_factory=list)
    bangs: list = field(default_factory=list)
    below: tuple = ()


class PatternIndex:
    """
    Patterns in a trie of their elements, so a lookup walks only the
    branches the digits can follow instead of every pattern of a context.
    Candidates come back in Asterisk's order (L{sortKey}).
    """

    def __init__(self, patterns: Iterable[tuple[str, Any]]):
        """
        @param patterns: (pattern text, value) pairs; texts must be distinct
            and compile (see L{validatePattern}).
        """
        ordered = sorted(patterns, key=lambda pv: sortKey(pv[0]))
        self._texts = tuple(text for text, _ in ordered)
        self._values = tuple(value for _, value in ordered)
        self._root = _Node()
        for rank, text in enumerate(self._texts):
            node = self._root
            for element in compilePattern(text):
                if element is ONE_OR_MORE:
                    node.dots.append(rank)
                    break
                if element is ZERO_OR_MORE:
                    node.bangs.append(rank)
                    break
                if len(element) == 1:
                    (char,) = element
                    node = node.literal.setdefault(char, _Node())
                else:
                    node = node.classes.setdefault(element, _Node())
            else:
                node.ends.append(rank)
        self._finish(self._root)

    def _finish(self, node: _Node) -> list:
        """Fill in each node's sorted ranks of patterns continuing below it."""
        below: list = []
        for child in list(node.literal.values()) + list(node.classes.values()):
            below.extend(self._finish(child))
        node.below = tuple(sorted(set(below)))
        node.classes = tuple(node.classes.items())
        return below + node.ends + node.dots + node.bangs

    def __len__(self) -> int:
        return len(self._texts)

    def __iter__(self):
        return iter(zip(self._texts, self._values))

    def candidates(self, data: str, mode: MatchMode) -> list[tuple[str, Any, int]]:
        """
        (pattern text, value, result) for every pattern that matches
        normalized C{data} in C{mode}, most specific first; result is
        L{MATCHED} or L{EARLYMATCH}.
        """
        found: dict[int, int] = {}
        n = len(data)
        stack = [(self._root, 0)]
        while stack:
            node, i = stack.pop()
            for rank in node.bangs:
                found[rank] = EARLYMATCH
            if i < n:
                for rank in node.dots:
                    found[rank] = MATCHED
                c = data[i]
                child = node.literal.get(c)
                if child is not None:
                    stack.append((child, i + 1))
                for chars, child in node.classes:
                    if c in chars:
                        stack.append((child, i + 1))
            else:
                if mode != MatchMode.MATCHMORE:
                    for rank in node.ends:
                        found[rank] = MATCHED
                if mode != MatchMode.MATCH:
                    for rank in node.dots:
                        found[rank] = MATCHED
                    for rank in node.below:
                        found.setdefault(rank, MATCHED)
        return [(self._texts[r], self._values[r], found[r]) for r in sorted(found)]


class PrefixIndex:
    """Plain extension names sorted, for "could more digits match?" questions."""

    def __init__(self, names: Iterable[str]):
        self._names = sorted(set(names))

    def withPrefix(self, prefix: str) -> Iterator[str]:
        """Names starting with C{prefix}, in order, lazily."""
        names = self._names
        i = bisect.bisect_left(names, prefix)
        while i < len(names) and names[i].startswith(prefix):
            yield names[i]
            i += 1
