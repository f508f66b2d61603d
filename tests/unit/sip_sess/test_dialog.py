"""Dialog state (pure): creation, CSeq order, routing, requests."""

from channels.sip.machines.dialog import Dialog
from channels.sip.wire.parser import parseMessage

INVITE = (
    b"INVITE sip:100@pbx.example SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n"
    b"From: \"Alice\" <sip:alice@example.com>;tag=ftag\r\n"
    b"To: <sip:100@pbx.example>\r\n"
    b"Call-ID: call-1\r\n"
    b"CSeq: 10 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.1:5060>\r\n"
    b"Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def request(method, cseq):
    text = INVITE.replace(b"CSeq: 10 INVITE", f"CSeq: {cseq} {method}".encode())
    return parseMessage(text.replace(b"INVITE sip:", method.encode() + b" sip:", 1))


def test_uasDialog():
    d = Dialog.asUAS(parseMessage(INVITE), "ltag")
    assert d.key == ("call-1", "ltag", "ftag")
    assert d.remoteTarget == "sip:alice@192.0.2.1:5060"
    assert d.routeSet == ("<sip:p2.example;lr>", "<sip:p1.example;lr>")
    assert d.remoteSeq == 10


def test_lowerCSeqIsRefused():
    d = Dialog.asUAS(parseMessage(INVITE), "ltag")
    assert d.acceptRemoteCSeq(request("BYE", 11))
    assert not d.acceptRemoteCSeq(request("OPTIONS", 9))
    assert d.acceptRemoteCSeq(request("ACK", 1))  # ACK and CANCEL keep older numbers


def test_requestInDialogUsesTheRouteSet():
    d = Dialog.asUAS(parseMessage(INVITE), "ltag")
    seq = d.localSeq
    bye = parseMessage(d.makeRequest("BYE", "SIP/2.0/UDP 198.51.100.1:5060").toBytes())
    assert bye.uri == "sip:alice@192.0.2.1:5060"
    assert [str(r.uri) for r in bye.routes] == ["sip:p2.example;lr", "sip:p1.example;lr"]
    assert bye.fromTag == "ltag" and bye.toTag == "ftag"
    assert bye.cseq.number == seq + 1
    assert d.nextHop() == "sip:p2.example;lr"


def test_strictRouting():
    d = Dialog.asUAS(parseMessage(INVITE.replace(b";lr>, <sip:p1.example;lr>", b">")), "ltag")
    bye = d.makeRequest("BYE", "SIP/2.0/UDP 198.51.100.1:5060")
    assert bye.uri == "sip:p2.example"
    assert bye.headers.getall("Route")[-1] == "<sip:alice@192.0.2.1:5060>"


def test_uacDialogFromResponse():
    invite = parseMessage(INVITE)
    response = parseMessage(
        b"SIP/2.0 200 OK\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n"
        b"From: \"Alice\" <sip:alice@example.com>;tag=ftag\r\n"
        b"To: <sip:100@pbx.example>;tag=ttag\r\n"
        b"Call-ID: call-1\r\n"
        b"CSeq: 10 INVITE\r\n"
        b"Contact: <sip:100@203.0.113.5>\r\n"
        b"Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\r\n"
        b"Content-Length: 0\r\n\r\n")
    d = Dialog.asUAC(invite, response)
    assert d.key == ("call-1", "ftag", "ttag")
    assert d.routeSet == ("<sip:p1.example;lr>", "<sip:p2.example;lr>")
    assert d.remoteTarget == "sip:100@203.0.113.5"
    ack = d.makeRequest("ACK", "SIP/2.0/UDP 192.0.2.1:5060", cseq=10)
    assert ack.cseq.number == 10 and d.localSeq == 10
