"""Small message fixtures shared by the transaction tests."""

from channels.sip.net.address import Address
from channels.sip.wire.headers import Headers
from channels.sip.wire.message import Request, makeResponse

UAC = Address("UDP", "192.0.2.1", 5060)
UAS = Address("UDP", "192.0.2.2", 5060)
UAC_TCP = Address("TCP", "192.0.2.1", 5060)


def request(
    method="INVITE",
    branch="z9hG4bKbranch1",
    cseq=1,
    cseqMethod=None,
    toTag=None,
    sentBy="192.0.2.1:5060",
    transport="UDP",
    uri="sip:bob@example.com",
    routes=(),
    extraVias=(),
    callId="call-1@example.com",
    fromTag="alicetag",
):
    headers = Headers()
    params = f";branch={branch}" if branch else ""
    headers.add("Via", f"SIP/2.0/{transport} {sentBy}{params}")
    for via in extraVias:
        headers.add("Via", via)
    headers.add("Max-Forwards", "70")
    for route in routes:
        headers.add("Route", route)
    headers.add("From", f'"Alice" <sip:alice@example.com>;tag={fromTag}')
    headers.add("To", "<sip:bob@example.com>" + (f";tag={toTag}" if toTag else ""))
    headers.add("Call-ID", callId)
    headers.add("CSeq", f"{cseq} {cseqMethod or method}")
    headers.add("Contact", "<sip:alice@192.0.2.1>")
    headers.add("Content-Length", "0")
    return Request(method, uri, headers)


def response(req, status, toTag="bobtag"):
    return makeResponse(req, status, toTag=None if status == 100 else toTag)


def kinds(effects):
    """Effect class names, for compact assertions."""
    return [type(e).__name__ for e in effects]
