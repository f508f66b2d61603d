"""
The SDP of a message body (RFC 5621): plain application/sdp, multipart/mixed,
multipart/alternative and nested bodies; what carries no SDP.
"""

import os

from channels.sip.wire.body import ACCEPT, mediaType, sdpOf, sdpPart, unusableBody
from channels.sip.wire.parser import parseMessage

SDP = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=audio 4000 RTP/AVP 0\r\n")
SDP2 = SDP.replace(b"4000", b"5000")
ISUP = b"\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10\x00\x33\x63\x21\x43\x00\x00\x03\r\n--x\r\n"


def multipart(boundary, *parts, preamble=b""):
    out = preamble
    for headers, body in parts:
        out += b"--" + boundary + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def test_plainSDPIsTheBody():
    assert sdpPart("application/sdp", SDP) is SDP
    assert sdpPart("Application/SDP ; charset=x", SDP) is SDP


def test_noContentTypeIsReadAsSDP():
    assert sdpPart(None, SDP) is SDP


def test_emptyBodyHasNoSDP():
    assert sdpPart("application/sdp", b"") is None
    assert sdpPart(None, None) is None


def test_otherTypeHasNoSDP():
    assert sdpPart("text/plain", b"hello") is None
    assert sdpPart("application/isup", ISUP) is None


def test_mixedTakesTheSDPPartAndIgnoresTheRest():
    body = multipart(b"b1", ([b"Content-Type: application/isup"], ISUP),
                     ([b"Content-Type: application/sdp"], SDP),
                     preamble=b"This is a preamble\r\n")
    assert sdpPart("multipart/mixed; boundary=b1", body) == SDP


def test_quotedBoundary():
    body = multipart(b"a b:c", ([b"Content-Type: application/sdp"], SDP))
    assert sdpPart('multipart/mixed;boundary="a b:c"', body) == SDP


def test_alternativePrefersTheLastSDP():
    body = multipart(b"alt", ([b"Content-Type: text/plain"], b"call me"),
                     ([b"Content-Type: application/sdp"], SDP),
                     ([b"Content-Type: application/sdp"], SDP2),
                     ([b"Content-Type: application/x-unknown"], b"??"))
    assert sdpPart("multipart/alternative;boundary=alt", body) == SDP2


def test_mixedTakesTheFirstSDP():
    body = multipart(b"m", ([b"Content-Type: application/sdp"], SDP),
                     ([b"Content-Type: application/sdp"], SDP2))
    assert sdpPart("multipart/mixed;boundary=m", body) == SDP


def test_nestedAlternativeInsideMixed():
    inner = multipart(b"inner", ([b"Content-Type: application/sdp"], SDP2))
    body = multipart(b"outer", ([b"Content-Type: application/resource-lists+xml"], b"<x/>"),
                     ([b"Content-Type: multipart/alternative; boundary=inner"], inner))
    assert sdpPart("multipart/mixed; boundary=outer", body) == SDP2


def test_partWithRenderDispositionIsNotTheSession():
    body = multipart(b"m", ([b"Content-Type: application/sdp", b"Content-Disposition: render"], SDP2),
                     ([b"Content-Type: application/sdp", b"Content-Disposition: session;handling=required"], SDP))
    assert sdpPart("multipart/mixed;boundary=m", body) == SDP


def test_binaryPartsAreKeptAsSent():
    body = multipart(b"m", ([b"Content-Type: application/octet-stream"], bytes(range(256))),
                     ([b"Content-Type: application/sdp"], SDP))
    assert sdpPart("multipart/mixed;boundary=m", body) == SDP


def test_multipartWithoutSDP():
    body = multipart(b"m", ([b"Content-Type: text/plain"], b"hello"))
    assert sdpPart("multipart/mixed;boundary=m", body) is None


def test_multipartWithoutBoundaryOrFraming():
    assert sdpPart("multipart/mixed", SDP) is None
    assert sdpPart("multipart/mixed;boundary=zz", SDP) is None
    assert sdpPart("multipart/mixed;boundary=zz", b"--zz\r\n\x00\xff") is None


def test_mpart01FromRFC4475():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conformance", "rfc4475", "mpart01.dat")
    with open(path, "rb") as f:
        message = parseMessage(f.read())
    assert sdpOf(message) is None
    assert unusableBody(message)


def test_messageHelpers():
    data = (b"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n"
            b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
            b"Contact: <sip:a@127.0.0.1:5062>\r\nContent-Type: multipart/mixed;boundary=m\r\n")
    body = multipart(b"m", ([b"Content-Type: application/sdp"], SDP))
    message = parseMessage(data + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert sdpOf(message) == SDP
    assert not unusableBody(message)


def test_acceptAndMediaType():
    assert ACCEPT.split(", ")[0] == "application/sdp"
    assert "multipart/mixed" in ACCEPT and "multipart/alternative" in ACCEPT
    assert mediaType(" Multipart/Mixed ; boundary=x") == "multipart/mixed"
    assert mediaType(None) == ""


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([
    "multipart/mixed;boundary=b", "multipart/alternative; boundary=\"b\"", "multipart/related;boundary=",
    "multipart/mixed", "application/sdp", "text/plain", None]))
def test_anyBodyGivesBytesOrNone(body, contentType):
    framed = b"--b\r\nContent-Type: application/sdp\r\n\r\n" + body + b"\r\n--b--\r\n"
    for candidate in (body, framed):
        found = sdpPart(contentType, candidate)
        assert found is None or isinstance(found, bytes)
