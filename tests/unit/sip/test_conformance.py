"""
RFC 4475 and RFC 5118 torture messages (tests/data/conformance): every row
of expected.tsv gets the parse outcome it asks for, and the valid ones give
the values the RFCs describe.
"""

import csv
import hashlib
import os

import pytest

from channels.sip.wire.message import Request, Response, makeResponse
from channels.sip.wire.parser import SIPParseError, parseMessage
from channels.sip.wire.uri import parseURI, urisEquivalent

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "conformance")


def rows():
    with open(os.path.join(DATA, "expected.tsv"), newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


ROWS = rows()


def load(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def parse(name: str):
    return parseMessage(load(name))


def test_tableCoversEveryFile():
    files = {r["file"] for r in ROWS}
    onDisk = {
        f"{d}/{f}"
        for d in ("rfc4475", "rfc5118")
        for f in os.listdir(os.path.join(DATA, d))
    }
    assert files == onDisk
    assert len(ROWS) == 61


def _views(msg):
    """Touch every typed view a server uses."""
    msg.vias, msg.cseq, msg.fromAddr, msg.toAddr, msg.callId
    msg.maxForwards, msg.contentLength, msg.contacts
    if msg.isRequest:
        msg.requestURI


@pytest.mark.parametrize("row", [r for r in ROWS if r["parse"] == "valid"], ids=lambda r: r["file"])
def test_valid(row):
    msg = parse(row["file"])
    _views(msg)
    # A valid message survives a round trip through the serialiser.
    assert parseMessage(msg.toBytes()) == msg


@pytest.mark.parametrize("row", [r for r in ROWS if r["parse"] == "invalid"], ids=lambda r: r["file"])
def test_invalid(row):
    with pytest.raises(SIPParseError) as info:
        parse(row["file"])
    error = info.value
    answers = row["answer"].split("|")
    if "none" in answers and "400" not in answers:
        # Responses that must be dropped: nothing to answer.
        assert error.message is None
    else:
        assert str(error.status) in answers
        assert isinstance(error.message, Request)
        # The server can build its answer from what was parsed.
        response = makeResponse(error.message, error.status, error.reason)
        assert response.status == error.status
        assert response.headers.get("Call-ID") == error.message.headers.get("Call-ID")
        assert response.headers.rawValues("Via") == error.message.headers.rawValues("Via")


@pytest.mark.parametrize("row", [r for r in ROWS if r["parse"] == "either"], ids=lambda r: r["file"])
def test_either(row):
    try:
        msg = parse(row["file"])
    except SIPParseError as e:
        assert e.status == 400
        assert "400" in row["answer"].split("|")
    else:
        _views(msg)


def test_wsinv():
    msg = parse("rfc4475/wsinv.dat")
    assert msg.method == "INVITE"
    assert msg.uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert msg.requestURI.params == (("unknownparam", None),)
    assert msg.toTag == "1918181833n"
    assert msg.fromTag == "98asjd8"
    assert msg.fromAddr.displayName == 'J Rosenberg \\"'
    assert msg.maxForwards == 68
    assert msg.callId == "wsinv.ndaksdj@192.0.2.1"
    assert (msg.cseq.number, msg.cseq.method) == (9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in msg.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get("Subject") == ""
    assert msg.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert msg.routes[0].uri.host == "services.example.com"
    assert msg.routes[0].uri.param("unknownwith") == "value"
    (contact,) = msg.contacts
    assert contact.displayName == 'Quoted string ""'
    assert contact.q == 0.33
    assert contact.param("newparam") == "newvalue"
    assert contact.hasParam("secondparam")
    assert msg.contentType == "application/sdp"
    assert len(msg.body) == 150


def test_intmeth():
    msg = parse("rfc4475/intmeth.dat")
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.cseq.method == msg.method
    uri = msg.requestURI
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert msg.toAddr.displayName == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.topVia.branch == "z9hG4bK-.!%66*_+`'~"


def test_esc01():
    msg = parse("rfc4475/esc01.dat")
    assert msg.requestURI.user == "sips%3Auser%40example.com"
    assert msg.requestURI.unescapedUser == "sips:user@example.com"
    assert msg.toAddr.uri.unescapedUser == "user"
    assert msg.fromAddr.uri.unescapedUser == "I have spaces"
    assert msg.callId == "esc01.239409asdfakjkn23onasd0-3234"
    assert msg.contentType == "application/sdp"
    contact = msg.contacts[0].uri
    assert urisEquivalent(contact, parseURI("sip:caller@host5.example.net;lr;name=value%41"))


def test_escnull():
    msg = parse("rfc4475/escnull.dat")
    assert msg.toAddr.uri.unescapedUser == "null-\x00-null"
    assert msg.fromAddr.uri.user == "null-%00-null"
    assert [c.uri.unescapedUser for c in msg.contacts] == ["\x00", "\x00\x00"]
    assert not urisEquivalent(msg.contacts[0].uri, msg.contacts[1].uri)


def test_esc02():
    msg = parse("rfc4475/esc02.dat")
    assert msg.method == "RE%47IST%45R"
    assert msg.method != "REGISTER"
    assert msg.toAddr.displayName == "%Z%45"


def test_lwsdisp():
    assert parse("rfc4475/lwsdisp.dat").fromAddr.displayName == "caller"


def test_longreq():
    msg = parse("rfc4475/longreq.dat")
    assert len(msg.vias) == 34
    assert msg.vias[0].host == "sip33.example.com"
    assert msg.vias[1].host == "sip32.example.com"
    assert msg.toAddr.uri.port == 6000
    assert len(msg.toAddr.displayName) == 103
    assert msg.callId.startswith("longreq.onereally") and len(msg.callId) == 141
    assert len(msg.fromTag) == 155
    assert msg.fromAddr.uri.user.startswith("amazinglylongcallername")


def test_dblreq():
    msg = parse("rfc4475/dblreq.dat")
    assert msg.method == "REGISTER"
    assert msg.body == b""


def test_semiuri():
    uri = parse("rfc4475/semiuri.dat").requestURI
    assert uri.user == "user;par=u%40example.net"
    assert uri.unescapedUser == "user;par=u@example.net"
    assert uri.host == "example.com"
    assert uri.params == ()


def test_semiuriAccept():
    assert parse("rfc4475/semiuri.dat").headers.getall("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed",
        "multipart/signed", "message/sip", "message/sipfrag",
    ]


def test_transports():
    msg = parse("rfc4475/transports.dat")
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert msg.topVia.host == "t1.example.com"


def test_mpart01():
    msg = parse("rfc4475/mpart01.dat")
    assert len(msg.body) == 553
    assert msg.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert msg.contentType == "multipart/mixed;boundary=7a9cbec02ceef655"
    assert msg.topVia.rport is True


def test_unreason():
    msg = parse("rfc4475/unreason.dat")
    assert isinstance(msg, Response)
    assert msg.status == 200
    assert msg.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    assert parseMessage(msg.toBytes()).reason == msg.reason


def test_noreason():
    msg = parse("rfc4475/noreason.dat")
    assert (msg.status, msg.reason) == (100, "")


def test_unknownSchemes():
    """The UAS needs the scheme to answer 416."""
    uri = parse("rfc4475/unkscm.dat").requestURI
    assert (uri.scheme, uri.opaque, uri.isSIP) == ("nobodyKnowsThisScheme", "totallyopaquecontent", False)
    uri = parse("rfc4475/novelsc.dat").requestURI
    assert (uri.scheme, uri.opaque) == ("soap.beep", "//192.0.2.103:3002")


def test_unksm2():
    msg = parse("rfc4475/unksm2.dat")
    assert msg.toAddr.uri.scheme == "isbn"
    assert not msg.toAddr.uri.isSIP
    assert msg.fromAddr.uri.scheme == "http"
    assert msg.contacts[0].uri.scheme == "name"


def test_bext01():
    msg = parse("rfc4475/bext01.dat")
    assert msg.headers.getall("Require") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert msg.headers.getall("Proxy-Require") == ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]


def test_invutAndSdp01():
    assert parse("rfc4475/invut.dat").contentType == "application/unknownformat"
    assert parse("rfc4475/sdp01.dat").headers.getall("Accept") == ["text/nobodyKnowsThis"]


def test_regaut01():
    msg = parse("rfc4475/regaut01.dat")
    assert msg.headers.get("Authorization") == "NoOneKnowsThisScheme opaque-data=here"
    assert msg.headers.getall("Authorization") == ["NoOneKnowsThisScheme opaque-data=here"]


def test_bcast():
    msg = parse("rfc4475/bcast.dat")
    assert msg.vias[1].host == "255.255.255.255"


def test_zeromf():
    assert parse("rfc4475/zeromf.dat").maxForwards == 0


def test_cparam():
    (c,) = parse("rfc4475/cparam01.dat").contacts
    assert c.uri.params == ()
    assert c.params == (("unknownparam", None),)
    (c,) = parse("rfc4475/cparam02.dat").contacts
    assert c.uri.params == (("unknownparam", None),)
    assert c.params == ()


def test_regescrt():
    (c,) = parse("rfc4475/regescrt.dat").contacts
    assert c.uri.headers == (("Route", "%3Csip:sip.example.com%3E"),)
    assert str(c.uri) == "sip:user@example.com?Route=%3Csip:sip.example.com%3E"


def test_inv2543():
    msg = parse("rfc4475/inv2543.dat")
    assert msg.topVia.branch is None
    assert not msg.topVia.isRFC3261
    assert msg.fromTag is None
    assert msg.maxForwards is None
    assert msg.contentLength is None
    assert msg.body.startswith(b"v=0")


def test_badvers():
    with pytest.raises(SIPParseError) as info:
        parse("rfc4475/badvers.dat")
    assert info.value.status == 505
    assert info.value.message.version == "SIP/7.0"


def test_scalar02():
    with pytest.raises(SIPParseError) as info:
        parse("rfc4475/scalar02.dat")
    assert "CSeq" in info.value.reason


def test_ipv6():
    msg = parse("rfc5118/ipv6-good")
    assert msg.requestURI.host == "[2001:db8::10]"
    assert msg.requestURI.port is None
    assert msg.topVia.host == "[2001:db8::9:1]"
    assert msg.contacts[0].uri.host == "[2001:db8::1]"
    uri = parse("rfc5118/port-ambiguous").requestURI
    assert (uri.host, uri.port) == ("[2001:db8::10:5070]", None)
    uri = parse("rfc5118/port-unambiguous").requestURI
    assert (uri.host, uri.port) == ("[2001:db8::10]", 5070)
    assert parse("rfc5118/via-received-param-no-delim").topVia.received == "2001:db8::9:255"
    msg = parse("rfc5118/mult-ip-in-header")
    assert [(v.host, v.port) for v in msg.vias] == [
        ("[2001:db8::9:1]", 6050), ("192.0.2.1", None), ("[2001:db8::9:255]", None)
    ]
    assert msg.vias[2].received == "192.0.2.200"
    msg = parse("rfc5118/ipv4-mapped-ipv6")
    assert (msg.topVia.host, msg.topVia.port) == ("[::ffff:192.0.2.10]", 19823)
    assert parse("rfc5118/ipv6-correct-abnf-2-colons").requestURI.host == "[2001:db8::192.0.2.1]"
    assert b"c=IN IP6 2001:db8::20" in parse("rfc5118/ipv6-in-sdp").body


def test_ipv6Bad():
    with pytest.raises(SIPParseError):
        parse("rfc5118/ipv6-bad")


def test_dataUnchanged():
    """The torture messages are byte for byte those of the RFC archives."""
    digest = hashlib.sha256()
    for row in sorted(ROWS, key=lambda r: r["file"]):
        digest.update(row["file"].encode() + b"\0" + load(row["file"]))
    assert digest.hexdigest() == (
        "207984f5bc9c76131fef73d0fd2f2e2e37385a48c87c90d6b6b7b81ec7f8901e"
    )
