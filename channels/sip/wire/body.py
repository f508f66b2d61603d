"""
Message bodies (RFC 5621): the session description a SIP message carries,
whether the body is C{application/sdp} itself or a C{multipart/mixed},
C{multipart/alternative} or C{multipart/related} body (RFC 2046) holding it,
possibly nested. Pure: bytes in, bytes out; MIME framing is left to the
standard library's C{email} parser, which keeps each part's octets as sent.

Where an SDP is needed and the body holds none (another type, or a
multipart body without an SDP part), a UAS answers 415 with C{Accept:
ACCEPT} (RFC 3261 section 21.4.13, RFC 5621 section 3.3).
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

__all__ = ["SDP_TYPE", "ACCEPT", "ACCEPTED_TYPES", "mediaType", "sdpPart", "sdpOf",
           "unusableBody"]

SDP_TYPE = "application/sdp"
#: The body types this stack reads, for Accept headers (415 answers, OPTIONS).
ACCEPTED_TYPES = (SDP_TYPE, "multipart/mixed", "multipart/alternative")
ACCEPT = ", ".join(ACCEPTED_TYPES)

_MULTIPART = ("multipart/mixed", "multipart/alternative", "multipart/related")
_PARSER = BytesParser(policy=policy.HTTP)


def mediaType(value: str | None) -> str:
    """The lower-case type/subtype of a Content-Type value ('' when absent)."""
    if not value:
        return ""
    return value.split(";", 1)[0].strip().lower()


def _sessionDisposition(part) -> bool:
    """A part whose disposition is absent or C{session} (RFC 3261 section 20.11)."""
    value = part.get("Content-Disposition")
    return value is None or mediaType(str(value)) in ("", "session")


def _fromPart(part) -> bytes | None:
    kind = part.get_content_type()
    if part.is_multipart():
        children = list(part.iter_parts())
        if kind == "multipart/alternative":
            # RFC 2046 section 5.1.4: the last alternative is the preferred one.
            children.reverse()
        for child in children:
            found = _fromPart(child)
            if found is not None:
                return found
        return None
    if kind == SDP_TYPE and _sessionDisposition(part):
        payload = part.get_payload(decode=True)
        return payload if payload else None
    return None


def sdpPart(contentType: str | None, body: bytes | None) -> bytes | None:
    """
    The SDP octets of a body of type C{contentType}: the body itself for
    C{application/sdp} (or for a body without a Content-Type, as many
    phones send), the chosen part of a multipart body, None when there is
    no SDP (empty body, another type, multipart without an SDP part, or
    multipart framing that cannot be read).
    """
    if not body:
        return None
    kind = mediaType(contentType)
    if kind in ("", SDP_TYPE):
        return body
    if kind not in _MULTIPART:
        return None
    if "boundary=" not in contentType.lower():
        return None
    try:
        message = _PARSER.parsebytes(b"Content-Type: " + contentType.encode("utf-8", "replace")
                                     + b"\r\n\r\n" + body)
    except Exception:  # the email package's own errors on hopeless framing
        return None
    if not message.is_multipart():
        return None
    return _fromPart(message)


def sdpOf(message) -> bytes | None:
    """The SDP octets a SIP message carries (see L{sdpPart}), None without."""
    return sdpPart(message.contentType, message.body)


def unusableBody(message) -> bool:
    """True when C{message} has a body but no SDP in it: 415 where an SDP is needed."""
    return bool(message.body) and sdpOf(message) is None
