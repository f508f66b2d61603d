"""The pattern trie agrees with matching each pattern on its own, in ext_cmp order."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pbxcore.dialplan.pattern import (
    NOMATCH,
    MatchMode,
    PatternIndex,
    extensionMatch,
    sortKey,
)

element = st.sampled_from(["1", "2", "5", "9", "X", "N", "Z", "x", "[1-3]", "[25]", "-", "*"])
patterns = st.lists(element, min_size=1, max_size=5).map("".join).flatmap(
    lambda body: st.sampled_from(["", ".", "!"]).map(lambda tail: "_" + body + tail))
digits = st.text(alphabet="0123456789*-", max_size=7)


@settings(max_examples=200, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=12, unique=True), digits,
       st.sampled_from(list(MatchMode)))
def test_indexAgreesWithLinearScan(texts, data, mode):
    index = PatternIndex([(t, t) for t in texts])
    expected = [(t, t, extensionMatch(t, data, mode))
                for t in sorted(texts, key=sortKey)]
    expected = [e for e in expected if e[2] != NOMATCH]
    found = index.candidates(data.replace("-", ""), mode)
    # Patterns that normalise to the same text rank equal: compare as sets
    # within equal keys, and the whole sequence of keys.
    assert [sortKey(t) for t, _, _ in found] == [sortKey(t) for t, _, _ in expected]
    assert sorted(found) == sorted(expected)
