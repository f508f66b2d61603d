"""Call-ID and Replaces (RFC 3891) grammars."""

import pytest

from channels.sip.wire.grammar import (
    Replaces,
    formatReplaces,
    isCallId,
    parseReplaces,
    replacesFromURI,
    replacesOf,
    replacesURIHeader,
)
from channels.sip.wire.headers import SIPParseError
from channels.sip.wire.message import Request
from channels.sip.wire.headers import Headers


@pytest.mark.parametrize("text", [
    "a84b4c76e66710", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com",
    "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..", "wsinv.ndaksdj@192.0.2.1",
    "x@[2001:db8::10]", "a(b)<c>:d\\e\"f/g[h]?i{j}`'~%*_+!.-",
])
def test_callIds(text):
    assert isCallId(text)


@pytest.mark.parametrize("text", ["", "a b", "a@b@c", "a;b", "a,b", "@b", "a@", "caf\u00e9"])
def test_notCallIds(text):
    assert not isCallId(text)


def test_rfc3891Example():
    r = parseReplaces("98732@sip.example.com ;from-tag=r33th4x0r ;to-tag=ff87ff")
    assert r == Replaces("98732@sip.example.com", "ff87ff", "r33th4x0r", False)


def test_earlyOnlyAndGenericParams():
    r = parseReplaces("425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only;foo=bar")
    assert (r.callId, r.toTag, r.fromTag, r.earlyOnly) == ("425928@bobster.example.org", "7743", "6472", True)
    assert r.params == (("foo", "bar"),)


def test_paramNamesAreCaseInsensitive():
    r = parseReplaces("abc;To-Tag=1;FROM-TAG=2;Early-Only")
    assert (r.toTag, r.fromTag, r.earlyOnly) == ("1", "2", True)


@pytest.mark.parametrize("value", [
    "abc;to-tag=1",                    # no from-tag
    "abc;from-tag=2",                  # no to-tag
    "abc",                             # neither
    "abc;to-tag=1;to-tag=3;from-tag=2",  # two to-tags
    "abc;to-tag=1;from-tag=2;from-tag=4",
    "abc;to-tag;from-tag=2",           # to-tag without a value
    "abc;to-tag=\"1\";from-tag=2",     # not a token
    "a b;to-tag=1;from-tag=2",         # bad Call-ID
    ";to-tag=1;from-tag=2",            # empty Call-ID
    "abc;to-tag=1;from-tag=2;early-only=yes",
    "abc;;to-tag=1;from-tag=2",
])
def test_malformed(value):
    with pytest.raises(SIPParseError) as info:
        parseReplaces(value)
    assert info.value.status == 400


def _request(*replaces):
    h = Headers()
    for value in replaces:
        h.add("Replaces", value)
    return Request("INVITE", "sip:bob@example.org", h)


def test_replacesOfARequest():
    assert replacesOf(_request()) is None
    assert replacesOf(_request("c1;to-tag=a;from-tag=b")).callId == "c1"


def test_moreThanOneReplacesIs400():
    with pytest.raises(SIPParseError) as info:
        replacesOf(_request("c1;to-tag=a;from-tag=b", "c2;to-tag=a;from-tag=b"))
    assert info.value.status == 400
    with pytest.raises(SIPParseError):
        replacesOf(_request("c1;to-tag=a;from-tag=b, c2;to-tag=a;from-tag=b"))


def test_roundTrip():
    r = Replaces("12345@192.168.118.3", "12345", "5FFE-3994", True, (("x", None),))
    assert parseReplaces(formatReplaces(r)) == r


def test_inAReferToURI():
    # RFC 3891 section 6.1 / RFC 5589: the Replaces escaped in a Refer-To URI.
    uri = ("sip:dave@denver.example.org?Replaces=12345%40192.168.118.3%3B"
           "to-tag%3D12345%3Bfrom-tag%3D5FFE-3994")
    r = replacesFromURI(uri)
    assert r == Replaces("12345@192.168.118.3", "12345", "5FFE-3994")
    assert replacesFromURI("sip:dave@denver.example.org") is None
    assert replacesFromURI("sip:dave@example.org?Subject=hi") is None
    built = "sip:dave@denver.example.org?" + replacesURIHeader(r)
    assert replacesFromURI(built) == r
    assert ";" not in built and "@" not in built.partition("?")[2]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab@;=,-\" \t%tofrmgealy", max_size=60))
def test_replacesParsesOrRaises400(value):
    try:
        r = parseReplaces(value)
    except SIPParseError as e:
        assert e.status == 400
    else:
        assert parseReplaces(formatReplaces(r)) == r
