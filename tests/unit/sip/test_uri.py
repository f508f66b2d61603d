"""URIs: parsing, serialising, escaping and RFC 3261 section 19.1.4 comparison."""

import pytest

from channels.sip.wire.uri import URI, SIPParseError, parseURI, urisEquivalent


def test_full():
    uri = parseURI("sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent")
    assert uri == URI(
        "sips", "alice", "secret", "atlanta.example.com", 5061,
        (("transport", "tcp"), ("lr", None)),
        (("subject", "project%20x"), ("priority", "urgent")),
    )
    assert str(uri) == "sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent"
    assert uri.param("TRANSPORT") == "tcp"
    assert uri.param("lr") is None and uri.hasParam("lr")
    assert uri.param("maddr", "none") == "none" and not uri.hasParam("maddr")
    assert uri.isSIP and uri.hostport == "atlanta.example.com:5061"


def test_hostOnlyAndIPv6():
    assert parseURI("sip:example.com") == URI("sip", host="example.com")
    uri = parseURI("sip:[2001:db8::1]:5070;maddr=[2001:db8::2]")
    assert (uri.host, uri.port, uri.param("maddr")) == ("[2001:db8::1]", 5070, "[2001:db8::2]")
    assert str(uri) == "sip:[2001:db8::1]:5070;maddr=[2001:db8::2]"


def test_tel():
    uri = parseURI("tel:+1-201-555-0123;phone-context=example.com")
    assert (uri.scheme, uri.user, uri.param("phone-context")) == ("tel", "+1-201-555-0123", "example.com")
    assert str(uri) == "tel:+1-201-555-0123;phone-context=example.com"


def test_escapedStoredAsReceived():
    uri = parseURI("sip:%61lice%20b@example.com")
    assert uri.user == "%61lice%20b"
    assert uri.unescapedUser == "alice b"
    assert str(uri) == "sip:%61lice%20b@example.com"


@pytest.mark.parametrize("text", [
    "", "sip:", "example.com", "<sip:a@b>", "sip:a@b c", "sip:a@", "sip:@b",
    "sip:a@b:99999", "sip:a@b:x", "sip:a@[::1", "sip:a@[zz::1]", "sip:2001:db8::10",
    "sip:a@b;;lr", "sip:a@b;=x", "sip:a@b?x", "1sip:a@b", "sip:a@b\"",
])
def test_invalid(text):
    with pytest.raises(SIPParseError):
        parseURI(text)


def test_withParams():
    uri = parseURI("sip:a@b;transport=udp")
    assert str(uri.withParams(transport="tcp", lr=None)) == "sip:a@b;transport=tcp;lr"
    assert str(uri.withParams({"maddr": "1.2.3.4"})) == "sip:a@b;transport=udp;maddr=1.2.3.4"
    assert str(uri.withoutParams("TRANSPORT")) == "sip:a@b"


@pytest.mark.parametrize("a, b", [
    ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
    ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"),
    ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"),
    ("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
     "sip:alice@atlanta.com?priority=urgent&subject=project%20x"),
])
def test_equivalent(a, b):
    """The equal pairs of RFC 3261 section 19.1.4."""
    assert urisEquivalent(parseURI(a), parseURI(b))
    assert urisEquivalent(parseURI(b), parseURI(a))


@pytest.mark.parametrize("a, b", [
    ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
    ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
    ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
    ("sip:a@b", "sips:a@b"),
])
def test_notEquivalent(a, b):
    """The unequal pairs of RFC 3261 section 19.1.4."""
    assert not urisEquivalent(parseURI(a), parseURI(b))


def test_otherSchemes():
    assert urisEquivalent(parseURI("urn:foo:Bar"), parseURI("URN:foo:bar"))
    assert not urisEquivalent(parseURI("urn:foo:a"), parseURI("urn:foo:b"))
    assert urisEquivalent(parseURI("tel:+123;a=b"), parseURI("tel:+123;A=B"))
