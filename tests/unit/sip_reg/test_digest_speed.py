"""
The fast paths of digest handling (pure) give the answers of the plain
ones: the unrolled quoted-string pattern, credentials from parsed
parameters, the single nonce-count table and the Date formatting.
"""

import re
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.sip.wire.digest import (
    Challenge, NonceCheck, NonceManager, credentialsFromParams, formatChallenge,
    parseCredentials, parseDigest,
)
from channels.sip.driver.registrar import httpDate

# The straightforward grammar the unrolled pattern replaced: the oracle.
_PLAIN = re.compile(r'[ \t,]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^,"]*))[ \t]*')


def plainParseDigest(value):
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    if scheme.lower() != "digest":
        return None
    params, position = {}, 0
    while position < len(rest):
        m = _PLAIN.match(rest, position)
        if m is None:
            if rest[position:].strip(" \t,"):
                return None
            break
        quoted = m.group(2)
        if quoted is not None:
            params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if "\\" in quoted else quoted
        else:
            params[m.group(1).lower()] = m.group(3).strip()
        position = m.end()
        if position < len(rest) and rest[position] not in ", \t":
            return None
    return params


PIECES = ["a", "B", "=", ",", " ", "\t", '"', "\\", "x1", "-", "realm", 'nonce="q"', '=""', ",,", '\\"', "é"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14))
def test_parse_digest_matches_the_plain_grammar(pieces):
    value = "Digest " + "".join(pieces)
    assert parseDigest(value) == plainParseDigest(value)


def test_parse_digest_escapes_and_long_quoted_values():
    value = 'Digest realm="a\\"b\\\\c", uri="sip:' + "x" * 5000 + '", nc=00000001'
    assert parseDigest(value) == plainParseDigest(value) == {
        "realm": 'a"b\\c', "uri": "sip:" + "x" * 5000, "nc": "00000001"}
    assert parseDigest('Digest realm="unterminated\\"') is None


def test_credentials_from_params_is_parse_credentials():
    value = ('Digest username="u1",realm="r",cnonce="c",nc=0000000a,qop=auth,'
             'uri="sip:r",nonce="n",response="ABCDEF",algorithm=MD5')
    creds = credentialsFromParams(parseDigest(value))
    assert creds == parseCredentials(value)
    assert (creds.nc, creds.response, creds.qop) == ("0000000a", "abcdef", "auth")
    for nc in ("0000000g", "1", "000000001", ""):
        assert credentialsFromParams(dict(parseDigest(value), nc=nc)) is None


def test_nonce_counts_in_one_table():
    nonces = NonceManager(b"k" * 32, lifetime=30)
    old = nonces.make(100.0, b"a" * 12, "r")
    new = nonces.make(150.0, b"b" * 12, "r")
    nonces.accept(old, "00000001", 100.0)
    nonces.accept(new, "00000003", 150.0)
    assert nonces.check(new, "r", "00000003", 150.0) is NonceCheck.REPLAYED
    assert nonces.check(new, "r", "00000004", 150.0) is NonceCheck.VALID
    # Pruning reads the issue time back from the nonce: the old one goes.
    nonces.prune(150.0)
    assert len(nonces) == 1
    assert nonces.check(new, "r", "00000002", 151.0) is NonceCheck.REPLAYED


def test_prune_keeps_the_newest_half_over_the_bound():
    nonces = NonceManager(b"k" * 32, lifetime=1000, maxTracked=4)
    made = [nonces.make(float(t), bytes([t]) * 12, "r") for t in range(10)]
    for n in reversed(made):  # insertion order is not age order
        nonces.accept(n, "00000001", 10.0)
    nonces.accept("not a nonce of ours", "00000001", 10.0)
    nonces.prune(10.0)
    assert len(nonces) == 5
    for n in made[5:]:
        assert nonces.check(n, "r", "00000001", 10.0) is NonceCheck.REPLAYED
    for n in made[:5]:
        assert nonces.check(n, "r", "00000001", 10.0) is NonceCheck.VALID


def test_nonce_issue_time_is_readable_without_the_key():
    n = NonceManager(b"k" * 32).make(1_800_000_000.25, b"r" * 12, "realm")
    assert NonceManager._claimedIssue(n) == 1_800_000_000.25
    assert NonceManager._claimedIssue("!!") == float("-inf")
    assert struct.calcsize(">d") == 8


def test_challenge_template_split_around_the_nonce():
    text = formatChallenge(Challenge("r", "\0", "SHA-256", ("auth",), True))
    before, after = text.split("\0")
    assert before + "NONCE" + after == formatChallenge(Challenge("r", "NONCE", "SHA-256", ("auth",), True))


def test_http_date():
    assert httpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert httpDate(1_800_000_000.9) == httpDate(1_800_000_000) == "Fri, 15 Jan 2027 08:00:00 GMT"
