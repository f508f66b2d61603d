"""
Out-of-dialog requests of ours (RFC 3261 §8.1.1): the one builder behind
the initial INVITE of a call, qualify's OPTIONS, outbound REGISTER,
unsolicited MWI NOTIFY and MESSAGE. Pure: the caller knows our Via sent-by
and Contact (L{channels.sip.net.localaddress}).
"""

from __future__ import annotations

from channels.sip.wire.headers import Headers
from channels.sip.wire.message import Request, newBranch, newCallId, newTag

__all__ = ["outOfDialogRequest"]


def outOfDialogRequest(method: str, uri: str, via: str, contact: str | None, fromValue: str,
                       toValue: str, callId: str | None = None, cseq: int = 1,
                       fromTag: str | None = None, userAgent: str | None = None, headers=(),
                       body: bytes = b"", contentType: str | None = None) -> Request:
    """
    A request outside any dialog. C{via} is the sent-by with transport (a
    fresh branch and C{rport} are added); C{fromValue} and C{toValue} are
    name-addrs (the From tag is added); header values that are empty
    strings in C{headers} are left out.
    """
    h = Headers()
    h.add("Via", f"{via};branch={newBranch()};rport")
    h.add("Max-Forwards", "70")
    h.add("From", f"{fromValue};tag={fromTag or newTag()}")
    h.add("To", toValue)
    h.add("Call-ID", callId or newCallId())
    h.add("CSeq", f"{cseq} {method}")
    if contact is not None:
        h.add("Contact", contact)
    if userAgent:
        h.add("User-Agent", userAgent)
    for name, value in headers:
        if value != "":
            h.add(name, value)
    if body:
        h.add("Content-Type", contentType or "application/sdp")
        h.add("Content-Length", str(len(body)))
    return Request(method, uri, h, body)
