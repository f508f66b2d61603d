"""Datagram and stream framing."""

import pytest

from channels.sip.wire.message import Request, Response
from channels.sip.wire.parser import SIPParseError, StreamParser, parseMessage

HEAD = (
    b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP client.example.com;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@example.com>;tag=1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
)


def msg(body=b"", length=None, head=HEAD):
    length = len(body) if length is None else length
    return head + b"Content-Length: %d\r\n\r\n" % length + body


def test_datagramBody():
    assert parseMessage(msg(b"hello")).body == b"hello"
    # a shorter Content-Length truncates
    assert parseMessage(msg(b"hello", 2)).body == b"he"
    # no Content-Length: the rest of the datagram
    assert parseMessage(HEAD + b"\r\nabc").body == b"abc"
    with pytest.raises(SIPParseError) as info:
        parseMessage(msg(b"hi", 10))
    assert isinstance(info.value.message, Request)


def test_datagramTolerance():
    # leading CRLFs, LF-only line ends, no blank line at the very end
    assert parseMessage(b"\r\n\r\n" + msg()).method == "OPTIONS"
    assert parseMessage(msg().replace(b"\r\n", b"\n")).callId == "c1"
    assert parseMessage(HEAD).callId == "c1"


@pytest.mark.parametrize("data", [
    b"", b"\r\n", b"garbage\r\n\r\n", b"SIP/2.0 2000 OK\r\n\r\n", b"SIP/2.0 099 x\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n",
    b"OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
    b" Folded: before anything\r\n\r\n",
])
def test_datagramErrors(data):
    with pytest.raises(SIPParseError):
        parseMessage(data)


def test_versions():
    with pytest.raises(SIPParseError) as info:
        parseMessage(msg(head=HEAD.replace(b"SIP/2.0\r\n", b"SIP/3.1\r\n", 1)))
    assert info.value.status == 505 and info.value.message.method == "OPTIONS"
    with pytest.raises(SIPParseError) as info:
        parseMessage(msg(head=HEAD.replace(b"SIP/2.0\r\n", b"HTTP/1.1\r\n", 1)))
    assert info.value.status == 400
    assert parseMessage(msg(head=HEAD.replace(b"SIP/2.0\r\n", b"sip/2.0\r\n", 1))).method == "OPTIONS"


def test_unvalidated():
    bad = msg(head=HEAD.replace(b"CSeq: 1 OPTIONS", b"CSeq: x"))
    with pytest.raises(SIPParseError):
        parseMessage(bad)
    m = parseMessage(bad, validate=False)
    with pytest.raises(SIPParseError):
        m.cseq


def test_streamPipelinedAndPartial():
    one, two = msg(b"abc"), msg()
    p = StreamParser()
    wire = one + two
    got = []
    for i in range(len(wire)):
        got.extend(p.feed(wire[i:i + 1]))
    assert [m.body for m in got] == [b"abc", b""]
    assert StreamParser().feed(wire) == got


def test_streamKeepAlives():
    p = StreamParser()
    assert p.feed(b"\r\n\r\n") == []
    assert p.pongNeeded == 1
    assert p.takePongs() == b"\r\n" and p.pongNeeded == 0
    # a pong (single CRLF) from the peer is skipped silently
    assert p.feed(b"\r\n") == []
    got = p.feed(msg() + b"\r\n\r\n\r\n\r\n")
    assert len(got) == 1 and p.pongNeeded == 2
    # a ping split across reads is still one ping
    p = StreamParser()
    p.feed(b"\r\n")
    p.feed(b"\r\n")
    assert p.pongNeeded == 1


def test_streamNeedsContentLength():
    with pytest.raises(SIPParseError) as info:
        StreamParser().feed(HEAD + b"\r\n")
    assert isinstance(info.value.message, Request)


def test_streamLimits():
    p = StreamParser(maxHeaderSize=100)
    with pytest.raises(SIPParseError):
        p.feed(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 40)
    p = StreamParser(maxBodySize=10)
    with pytest.raises(SIPParseError):
        p.feed(msg(length=11))


def test_streamInvalidAfterValid():
    bad = msg(head=HEAD.replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 BYE"))
    p = StreamParser()
    got = p.feed(msg() + bad)
    assert len(got) == 1
    with pytest.raises(SIPParseError) as info:
        p.feed(b"")
    assert "CSeq" in info.value.reason
    # the parser is past the bad message and keeps going
    assert len(p.feed(msg())) == 1


def test_streamResponse():
    resp = b"SIP/2.0 200 OK\r\n" + HEAD.split(b"\r\n", 1)[1] + b"Content-Length: 0\r\n\r\n"
    (r,) = StreamParser().feed(resp)
    assert isinstance(r, Response) and r.status == 200


@pytest.mark.parametrize("callId", [b"a b", b"caf\xc3\xa9", b"x\x01y"])
def test_malformedCallIdIs400WithTheRequest(callId):
    with pytest.raises(SIPParseError) as info:
        parseMessage(msg(head=HEAD.replace(b"Call-ID: c1", b"Call-ID: " + callId)))
    assert info.value.status == 400
    assert isinstance(info.value.message, Request)


def test_looseCallIdsAreKept():
    # Not RFC 3261 words, but seen from real phones (base64 padding).
    for callId in (b"YWJj==", b"a=b#c@host"):
        assert parseMessage(msg(head=HEAD.replace(b"Call-ID: c1", b"Call-ID: " + callId))).callId == callId.decode()
