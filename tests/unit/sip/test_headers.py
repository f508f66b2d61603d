"""Headers: order, case-insensitivity, compact forms and list splitting."""

import pytest

from channels.sip.wire.headers import Headers, splitValues


def test_compactFormsCanonicalised():
    h = Headers([("i", "abc"), ("m", "<sip:a@b>"), ("v", "SIP/2.0/UDP h"), ("l", "0"),
                 ("f", "<sip:a@b>"), ("t", "<sip:c@d>"), ("c", "application/sdp"),
                 ("k", "timer"), ("s", "hi"), ("e", "gzip"), ("o", "presence"),
                 ("u", "talk"), ("r", "<sip:x@y>"), ("b", "<sip:z@y>"), ("x", "1800")])
    assert [n for n, _ in h.items()] == [
        "Call-ID", "Contact", "Via", "Content-Length", "From", "To", "Content-Type",
        "Supported", "Subject", "Content-Encoding", "Event", "Allow-Events",
        "Refer-To", "Referred-By", "Session-Expires",
    ]
    assert h.get("call-id") == h.get("I") == "abc"
    assert "SESSION-EXPIRES" in h and "x" in h


def test_getAndGetall():
    h = Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"), ("via", "SIP/2.0/TCP c")])
    assert h.get("VIA") == "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"
    assert h.getall("Via") == ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b", "SIP/2.0/TCP c"]
    assert h.rawValues("v") == ["SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b", "SIP/2.0/TCP c"]
    assert h.get("Missing") is None and h.get("Missing", "x") == "x"
    assert h.getall("Missing") == []


def test_noSplitInsideQuotesOrBrackets():
    h = Headers([("Contact", '"Bell, Alexander" <sip:a@b;x=1,2>;q=0.5, <sip:c@d>')])
    assert h.getall("Contact") == ['"Bell, Alexander" <sip:a@b;x=1,2>;q=0.5', "<sip:c@d>"]


@pytest.mark.parametrize("name", ["WWW-Authenticate", "Authorization", "Date", "Subject", "Call-ID"])
def test_noSplitForSingleValuedHeaders(name):
    value = 'Digest realm="a", nonce="b", qop="auth"' if "Auth" in name else "Sat, 13 Nov 2010 23:29:00 GMT"
    h = Headers([(name, value)])
    assert h.getall(name) == [value]


def test_allowAndSupportedSplit():
    h = Headers([("Allow", "INVITE, ACK,BYE"), ("Supported", ""), ("k", "timer, 100rel")])
    assert h.getall("allow") == ["INVITE", "ACK", "BYE"]
    assert h.getall("Supported") == ["timer", "100rel"]


def test_splitValuesKeepsEmptyElements():
    assert splitValues("a,,b, ") == ["a", "", "b", ""]
    assert splitValues('"x\\",y", z') == ['"x\\",y"', "z"]


def test_mutation():
    h = Headers([("Via", "1"), ("To", "t"), ("Via", "2")])
    g = h.generation
    h.prepend("Via", "0")
    assert h.rawValues("Via") == ["0", "1", "2"]
    assert h.generation != g
    h.set("via", "only")
    assert h.items() == [("via", "only"), ("To", "t")]
    h.add("X-A", "1")
    h.insert(0, "X-B", "2")
    assert h.items()[0] == ("X-B", "2")
    assert h.remove("x-a") == 1 and "X-A" not in h
    assert h.remove("nothing") == 0
    h.prepend("Record-Route", "<sip:p>")
    assert h.items()[0] == ("Record-Route", "<sip:p>")


def test_copyAndEquality():
    h = Headers([("Via", "1"), ("To", "t")])
    c = h.copy()
    assert c == h and c is not h
    c.add("X", "y")
    assert c != h
    assert Headers([("via", "1"), ("TO", "t")]) == h
    assert Headers([("To", "t"), ("Via", "1")]) != h


def test_rejectsLineBreaks():
    h = Headers()
    with pytest.raises(ValueError):
        h.add("X", "a\r\nInjected: yes")
    with pytest.raises(ValueError):
        h.set("X", "a\nb")


@pytest.mark.parametrize("name", ["", "Bad Name", "X:Y", "Ümlaut"])
def test_rejectsBadNames(name):
    with pytest.raises(ValueError):
        Headers().add(name, "v")
