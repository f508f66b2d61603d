"""Typed views, serialisation and response building."""

import pytest

from channels.sip.wire.headers import Headers
from channels.sip.wire.grammar import (
    MAGIC_COOKIE,
    Contact,
    CSeq,
    parseContacts,
    parseCSeq,
    parseNameAddr,
    parseVia,
)
from channels.sip.wire.message import (
    REASONS,
    Request,
    Response,
    SIPParseError,
    makeResponse,
    newBranch,
    newCallId,
    newTag,
)
from channels.sip.wire.parser import parseMessage
from channels.sip.wire.uri import parseURI


def invite(**extra):
    h = Headers([
        ("Via", "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport"),
        ("Via", "SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bKp1;received=192.0.2.9"),
        ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@biloxi.com>"),
        ("From", "Alice <sip:alice@atlanta.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710@pc33.atlanta.com"),
        ("CSeq", "314159 INVITE"),
        ("Contact", "<sip:alice@pc33.atlanta.com>"),
        ("Timestamp", "54"),
    ])
    for k, v in extra.items():
        h.add(k, v)
    return Request("INVITE", "sip:bob@biloxi.com", h, b"v=0\r\n")


def test_views():
    r = invite()
    assert r.isRequest
    assert [v.sentBy for v in r.vias] == ["pc33.atlanta.com", "proxy.example.com:5061"]
    assert r.topVia.branch == "z9hG4bK776asdhds" and r.topVia.isRFC3261
    assert r.topVia.rport is True and r.vias[1].rport is None
    assert r.vias[1].received == "192.0.2.9"
    assert r.callId == "a84b4c76e66710@pc33.atlanta.com"
    assert r.cseq == CSeq(314159, "INVITE")
    assert r.fromAddr.displayName == "Alice" and r.fromTag == "1928301774"
    assert r.toAddr.uri == parseURI("sip:bob@biloxi.com") and r.toTag is None
    assert r.maxForwards == 70
    assert r.contentLength is None and r.contentType is None and r.expires is None
    assert r.contacts[0].uri.host == "pc33.atlanta.com"
    assert r.routes == [] and r.recordRoutes == []
    assert r.requestURI.user == "bob"


def test_viewsFollowHeaderChanges():
    r = invite()
    assert r.topVia.host == "pc33.atlanta.com"
    r.headers.prepend("Via", "SIP/2.0/UDP new.example.com;branch=z9hG4bKnew")
    assert r.topVia.host == "new.example.com"
    r.headers = Headers([("CSeq", "2 BYE")])
    assert r.cseq == CSeq(2, "BYE") and r.vias == []
    r.uri = "sip:carol@chicago.com"
    assert r.requestURI.user == "carol"


def test_malformedViewRaises():
    r = invite()
    r.headers.set("CSeq", "abc INVITE")
    with pytest.raises(SIPParseError):
        r.cseq
    r.headers.set("Expires", "soon")
    with pytest.raises(SIPParseError):
        r.expires


def test_expiresCapped():
    r = invite(Expires="99999999999")
    assert r.expires == 2**32 - 1


def test_routes():
    r = invite(**{"Record-Route": "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>", "Route": "<sip:p3;lr>"})
    assert [a.uri.host for a in r.recordRoutes] == ["p1.example.com", "p2.example.com"]
    assert r.routes[0].uri.hasParam("lr")


def test_viaParse():
    v = parseVia("SIP / 2.0 / UDP  host.example.com : 5070 ; branch = z9hG4bKabc ; rport = 5080 ; ttl=16 ; maddr=224.2.0.1")
    assert (v.protocol, v.transport, v.host, v.port) == ("SIP/2.0", "UDP", "host.example.com", 5070)
    assert (v.branch, v.rport, v.ttl, v.maddr) == ("z9hG4bKabc", 5080, 16, "224.2.0.1")
    assert str(v) == "SIP/2.0/UDP host.example.com:5070;branch=z9hG4bKabc;rport=5080;ttl=16;maddr=224.2.0.1"
    assert str(v.withParams(received="192.0.2.1", rport="5080")) == (
        "SIP/2.0/UDP host.example.com:5070;branch=z9hG4bKabc;rport=5080;ttl=16;maddr=224.2.0.1;received=192.0.2.1"
    )
    assert parseVia("SIP/2.0/UDP [::1]:5060").host == "[::1]"


@pytest.mark.parametrize("text", ["", "SIP/2.0", "SIP/2.0/UDP", "SIP/2.0/UDP h;;", "SIP/2.0/UDP h:port", "SIP/2.0/ h", "SIP/2.0/UDP h;a="])
def test_viaInvalid(text):
    with pytest.raises(SIPParseError):
        parseVia(text)


def test_viaBadRport():
    with pytest.raises(SIPParseError):
        parseVia("SIP/2.0/UDP h;rport=x").rport


def test_nameAddrForms():
    a = parseNameAddr('"Bob \\"B\\"" <sip:bob@biloxi.com;transport=tcp>;tag=x')
    assert a.displayName == 'Bob "B"' and a.uri.param("transport") == "tcp" and a.tag == "x"
    assert str(a) == '"Bob \\"B\\"" <sip:bob@biloxi.com;transport=tcp>;tag=x'
    b = parseNameAddr("sip:bob@biloxi.com;tag=x;foo")
    assert b.displayName is None and b.uri.params == () and b.params == (("tag", "x"), ("foo", None))
    c = parseNameAddr("The Operator <tel:+1555>")
    assert c.displayName == "The Operator" and c.uri.scheme == "tel"
    assert parseNameAddr("<sip:a@b>").withTag("t").tag == "t"
    assert parseNameAddr("<sip:a@b>;tag=1").withTag("2").params == (("tag", "2"),)


@pytest.mark.parametrize("text", ['"unterminated <sip:a@b>', "<sip:a@b", "sip:a@b?x=y", "<sip:a@b> junk", "", '"x" sip:a@b'])
def test_nameAddrInvalid(text):
    with pytest.raises(SIPParseError):
        parseNameAddr(text)


def test_contacts():
    cs = parseContacts(['<sip:a@b>;expires=60;q=0.5, "X" <sip:c@d>', "sip:e@f;expires=10"])
    assert [c.uri.user for c in cs] == ["a", "c", "e"]
    assert (cs[0].expires, cs[0].q, cs[1].expires, cs[2].expires) == (60, 0.5, None, 10)
    star = parseContacts(["*"])
    assert star[0].wildcard and str(star[0]) == "*"
    assert isinstance(star[0], Contact)
    with pytest.raises(SIPParseError):
        parseContacts(["*, <sip:a@b>"])
    with pytest.raises(SIPParseError):
        parseContacts(["<sip:a@b>,,"])
    with pytest.raises(SIPParseError):
        parseContacts(["<sip:a@b>;q=2"])[0].q


def test_cseq():
    assert parseCSeq("  0009   INVITE ") == CSeq(9, "INVITE")
    assert str(CSeq(1, "BYE")) == "1 BYE"
    for bad in ("1", "x INVITE", "4294967296 INVITE", "1 INV ITE", "-1 BYE"):
        with pytest.raises(SIPParseError):
            parseCSeq(bad)
    assert parseCSeq("4294967295 ACK").number == 2**32 - 1


def test_toBytesRecomputesContentLength():
    r = invite(**{"Content-Length": "999"})
    wire = r.toBytes()
    assert wire.startswith(b"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: ")
    assert b"Content-Length: 5\r\n" in wire and b"999" not in wire
    assert wire.endswith(b"\r\n\r\nv=0\r\n")
    r.headers.remove("Content-Length")
    assert r.toBytes().count(b"Content-Length: 5") == 1


def test_equalityAndCopy():
    r = invite()
    c = r.copy()
    assert c == r and c is not r and c.headers is not r.headers
    c.headers.add("X", "1")
    assert c != r
    assert Response(200) == Response(200, "OK")
    assert Response(200) != Response(200, "Fine")
    assert Response(200).isRequest is False
    assert r != Response(200)


def test_makeResponse():
    r = invite()
    resp = makeResponse(r, 180, toTag="abc")
    assert (resp.status, resp.reason) == (180, "Ringing")
    assert resp.headers.rawValues("Via") == r.headers.rawValues("Via")
    assert resp.headers.get("From") == r.headers.get("From")
    assert resp.toTag == "abc"
    assert resp.callId == r.callId and resp.cseq == r.cseq
    assert resp.headers.get("Content-Length") == "0"
    assert "Timestamp" not in resp.headers
    assert makeResponse(r, 100).headers.get("Timestamp") == "54"
    assert makeResponse(r, 486, "Busy Now").reason == "Busy Now"
    # an existing To tag is kept
    r.headers.set("To", "<sip:bob@biloxi.com>;tag=old")
    assert makeResponse(r, 200, toTag="new").toTag == "old"
    assert parseMessage(resp.toBytes()) == resp


def test_reasons():
    for code in (100, 180, 181, 182, 183, 200, 300, 301, 302, 305, 380, 400, 401, 402, 403,
                 404, 405, 406, 407, 408, 410, 413, 414, 415, 416, 420, 421, 423, 480, 481,
                 482, 483, 484, 485, 486, 487, 488, 491, 493, 500, 501, 502, 503, 504, 505,
                 513, 600, 603, 604, 606):
        assert REASONS[code]
    assert Response(499).reason == "Client Error"


def test_identifiers():
    branches = {newBranch() for _ in range(100)}
    assert len(branches) == 100
    assert all(b.startswith(MAGIC_COOKIE) and len(b) > len(MAGIC_COOKIE) + 8 for b in branches)
    assert newTag() != newTag() and len(newCallId()) >= 32
