"""
Via stamping (RFC 3261 §18.2.1, RFC 3581) as the pure function of a
request and its source in channels.sip.wire.via; no reactor.
"""

from channels.sip.wire.parser import parseMessage
from channels.sip.wire.via import forceRport, routeResponse, stampRoute, stampVia


def request(via):
    return parseMessage(
        (f"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@b>;tag=1\r\n"
         "To: <sip:x@127.0.0.1>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
         "Content-Length: 0\r\n\r\n").encode())


def test_receivedAddedWhenSentByDiffers():
    r = request("SIP/2.0/UDP phone.example:5070;branch=z9hG4bK1")
    stampVia(r, "192.0.2.1", 5070)
    assert r.headers.get("Via") == "SIP/2.0/UDP phone.example:5070;branch=z9hG4bK1;received=192.0.2.1"


def test_nothingWhenSentByIsTheSource():
    r = request("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1")
    stampVia(r, "192.0.2.1", 5070)
    assert r.headers.get("Via") == "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1"


def test_rportFilledAndRoutedToTheSourcePort():
    r = request("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1")
    raw, route = stampRoute(r, "192.0.2.1", 40000, "UDP")
    assert raw == "SIP/2.0/UDP 10.0.0.5:5060;rport=40000;branch=z9hG4bK1;received=192.0.2.1"
    assert route is None  # the response goes back to the packet's source
    assert routeResponse(r.topVia, "UDP") == ("UDP", "192.0.2.1", 40000)


def test_forceRportWithoutRportParameter():
    r = request("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1")
    assert forceRport(r, "192.0.2.1", 40000)
    assert routeResponse(r.topVia, "UDP") == ("UDP", "192.0.2.1", 40000)


def test_forceRportKeepsAValuedRport():
    r = request("SIP/2.0/UDP 10.0.0.5:5060;rport=5062;branch=z9hG4bK1")
    assert not forceRport(r, "192.0.2.1", 40000)
