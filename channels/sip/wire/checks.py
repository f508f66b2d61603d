"""
Checks a UAS makes on a request before any method handler or authentication
runs, beyond what the parser already refuses (RFC 3261 section 8.2). Pure:
a parsed request in, the (status, reason) to answer or None out.

The parser answers 400 for malformed Via, From, To, Call-ID, CSeq and
Max-Forwards and for missing mandatory headers; here come the rules that
depend on the method: a request that creates a dialog must carry exactly
one Contact with a SIP or SIPS URI (RFC 3261 section 8.1.1.8), which is
checked for INVITE as Asterisk's SIP stacks do.
"""

from __future__ import annotations

from channels.sip.wire.headers import SIPParseError

__all__ = ["DIALOG_CREATING", "requestDefect"]

#: Out-of-dialog requests whose Contact is checked (INVITE creates the dialog).
DIALOG_CREATING = frozenset({"INVITE"})


def requestDefect(request) -> tuple[int, str] | None:
    """
    The (status, reason) a UAS answers C{request} with before anything else
    (400 before any authentication challenge), or None when it may go on.
    """
    method = request.method.upper()
    if method in DIALOG_CREATING and not request.toTag:
        return _contactDefect(request)
    return None


def _contactDefect(request) -> tuple[int, str] | None:
    if not request.headers.rawValues("Contact"):
        return 400, "Missing Contact"
    try:
        contacts = request.contacts
    except SIPParseError:
        return 400, "Bad Contact"
    if len(contacts) != 1:
        return 400, "Exactly One Contact Expected"
    contact = contacts[0]
    if getattr(contact, "wildcard", False):
        return 400, "Bad Contact"
    scheme = (getattr(contact.uri, "scheme", "") or "").lower()
    if scheme not in ("sip", "sips"):
        return 400, "Contact Is Not a SIP URI"
    return None
