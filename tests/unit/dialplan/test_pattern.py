"""Asterisk extension patterns: matching and ext_cmp ordering."""

import random

import pytest

from pbxcore.dialplan.pattern import (
    EARLYMATCH,
    MATCHED,
    NOMATCH,
    MatchMode,
    PatternError,
    PatternIndex,
    PrefixIndex,
    callerIdMatches,
    compilePattern,
    extCmp,
    extensionMatch,
    shrinkPhoneNumber,
    sortKey,
)

M, C, MM = MatchMode.MATCH, MatchMode.CANMATCH, MatchMode.MATCHMORE

MATCH_TABLE = [
    # pattern, data, mode, expected
    ("_X.", "1", M, NOMATCH),          # '.' needs at least one more
    ("_X.", "12", M, MATCHED),
    ("_X.", "12345", M, MATCHED),
    ("_X!", "1", M, EARLYMATCH),
    ("_X!", "123", M, EARLYMATCH),
    ("_X!", "", M, NOMATCH),
    ("_NXX", "200", M, MATCHED),
    ("_NXX", "100", M, NOMATCH),
    ("_ZXX", "100", M, MATCHED),
    ("_ZXX", "000", M, NOMATCH),
    ("_NXX", "20", M, NOMATCH),
    ("_NXX", "2000", M, NOMATCH),
    ("_nxx", "234", M, MATCHED),        # class letters in either case
    ("_[1-3]5", "25", M, MATCHED),
    ("_[1-3]5", "45", M, NOMATCH),
    ("_[135]", "3", M, MATCHED),
    ("_[135]", "2", M, NOMATCH),
    ("_[a-c]X", "b1", M, MATCHED),
    ("_[a-c]X", "B1", M, NOMATCH),      # sets are case-sensitive
    ("_abc", "abc", M, MATCHED),
    ("_abc", "ABC", M, NOMATCH),        # literals are case-sensitive
    ("_555-XXXX", "5551234", M, MATCHED),
    ("_555XXXX", "555-1234", M, MATCHED),  # dialled dashes are skipped
    ("_[]1", "1", M, MATCHED),          # empty sets are ignored
    ("555-1234", "5551234", M, MATCHED),
    ("5551234", "555-12-34", M, MATCHED),
    ("100", "100", M, MATCHED),
    ("100", "1000", M, NOMATCH),
    ("s", "S", M, NOMATCH),
    # partial matches
    ("_1XX", "1", C, MATCHED),
    ("_1XX", "1", M, NOMATCH),
    ("_1XX", "1", MM, MATCHED),
    ("_1XX", "123", MM, NOMATCH),
    ("_1XX", "123", C, MATCHED),
    ("_1XX", "2", C, NOMATCH),
    ("_X.", "1", C, MATCHED),
    ("_X.", "12", MM, MATCHED),
    ("_1!", "1", MM, EARLYMATCH),
    ("100", "10", MM, MATCHED),
    ("100", "100", MM, NOMATCH),
    ("100", "100", C, MATCHED),
    ("100", "", C, MATCHED),
    ("100", "2", C, NOMATCH),
]


@pytest.mark.parametrize("pattern,data,mode,expected", MATCH_TABLE)
def test_extensionMatch(pattern, data, mode, expected):
    assert extensionMatch(pattern, data, mode) == expected


@pytest.mark.parametrize("pattern,data,mode,expected", MATCH_TABLE)
def test_indexAgreesWithMatcher(pattern, data, mode, expected):
    """The trie gives the same answer as matching the pattern alone."""
    if not pattern.startswith("_"):
        return
    index = PatternIndex([(pattern, "v")])
    found = index.candidates(data.replace("-", ""), mode)
    if expected == NOMATCH:
        assert found == []
    else:
        assert found == [(pattern, "v", expected)]


def test_unclosedSet():
    with pytest.raises(PatternError, match=r"unclosed '\['"):
        compilePattern("_[12")


# Asterisk's ext_cmp ordering: each pair is (more specific, less specific).
ORDER_TABLE = [
    ("100", "_1XX"),          # plain names before every pattern
    ("_1XX", "_XXX"),         # a literal before a class
    ("_NXX", "_XXX"),         # N (8 digits) before X (10)
    ("_NXX", "_ZXX"),         # N (8) before Z (9)
    ("_ZXX", "_XXX"),
    ("_[12]X", "_NX"),        # a two-character set before N
    ("_[12]X", "_[13]X"),     # equal sizes: the lower characters first
    ("_[0-5]X", "_NX"),       # six characters before eight
    ("_XXX", "_X."),          # any class before '.'
    ("_X.", "_X!"),           # '.' before '!'
    ("_XXX", "_XX"),          # a class before the end of the pattern
    ("_.", "_!"),
    ("_9X.", "_X."),
    ("_1NXXNXXXXXX", "_NXXNXXXXXX"),
    ("_011.", "_0X."),
    ("_[a-c]", "_X"),         # three letters before ten digits
]


@pytest.mark.parametrize("first,second", ORDER_TABLE)
def test_extCmpOrdering(first, second):
    assert extCmp(first, second) == -1
    assert extCmp(second, first) == 1


def test_extCmpEquivalents():
    assert extCmp("_1-800-NXX", "_1800NXX") == 0
    assert extCmp("555-1234", "5551234") == 0
    assert extCmp("_X", "_x") == 0


def test_sortedTable():
    expected = ["100", "200", "_1NXXNXXXXXX", "_1XX", "_[0-5]XX", "_NXXXXXX", "_NXX",
                "_X.", "_X!", "_."]
    shuffled = list(expected)
    random.Random(4).shuffle(shuffled)
    assert sorted(shuffled, key=sortKey) == expected


def test_indexOrdersCandidates():
    patterns = ["_X.", "_1XX", "_NXX", "_1!", "_[1-2]XX", "_XXX"]
    index = PatternIndex([(p, p.upper()) for p in patterns])
    names = [text for text, _, _ in index.candidates("123", M)]
    # '1' is a literal before any set, '!' after any class, the end last.
    assert names == ["_1XX", "_1!", "_[1-2]XX", "_XXX", "_X."]
    results = {text: r for text, _, r in index.candidates("123", M)}
    assert results["_1!"] == EARLYMATCH


def test_indexPartialAtEndOfDigits():
    index = PatternIndex([("_12X", 1), ("_13X", 2), ("_2XX", 3), ("_1", 4)])
    # The end of a pattern ranks after any character: "_1" comes last.
    assert [t for t, _, _ in index.candidates("1", C)] == ["_12X", "_13X", "_1"]
    assert [t for t, _, _ in index.candidates("1", MM)] == ["_12X", "_13X"]
    assert [t for t, _, _ in index.candidates("1", M)] == ["_1"]
    assert [t for t, _, _ in index.candidates("", C)] == ["_12X", "_13X", "_1", "_2XX"]


def test_prefixIndex():
    index = PrefixIndex(["100", "1001", "101", "200"])
    assert list(index.withPrefix("10")) == ["100", "1001", "101"]
    assert list(index.withPrefix("3")) == []


def test_shrinkPhoneNumber():
    assert shrinkPhoneNumber("(555) 123-4567") == "5551234567"
    assert shrinkPhoneNumber("_555.") == "_555."
    assert shrinkPhoneNumber("555.1234") == "5551234"


def test_callerIdMatches():
    assert callerIdMatches(None, None)
    assert callerIdMatches("", "123")
    assert not callerIdMatches("5551234", None)
    assert callerIdMatches("5551234", "555-1234")
    assert callerIdMatches("_555XXXX", "5559999")
    assert not callerIdMatches("_555XXXX", "5569999")
