"""
The bodies of the SIP event packages chan_sip serves, and the pure rules of
a subscription's lifetime.

    dialog           application/dialog-info+xml (RFC 4235), busy lamps
    presence         application/pidf+xml (RFC 3863)
    message-summary  application/simple-message-summary (RFC 3842), MWI

Pure: states and counts in, bytes out. Extension states are Asterisk's
numbers (L{pbxcore.devicestate.aggregation.ExtensionState}), so this module needs
nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "PACKAGES", "Remote", "dialogInfo", "dialogState", "pidf", "presenceOf",
    "messageSummary", "parseMessageSummary", "chooseExpiry", "TooBrief",
    "subscriptionState",
]

#: Event package -> the body type its NOTIFYs carry.
PACKAGES = {
    "dialog": "application/dialog-info+xml",
    "presence": "application/pidf+xml",
    "message-summary": "application/simple-message-summary",
}

# Asterisk's extension state bits (pbxcore.devicestate.aggregation.ExtensionState).
_REMOVED, _DEACTIVATED = -1, -2
_INUSE, _BUSY, _UNAVAILABLE, _RINGING, _ONHOLD = 1, 2, 4, 8, 16


@dataclass(frozen=True)
class Remote:
    """The other party of the hinted device's call, when known."""

    uri: str
    display: str = ""
    direction: str = "recipient"  # the hinted device was called


def dialogState(extensionState: int, notifyRinging: bool = True) -> str:
    """
    The RFC 4235 dialog state for an extension state, following chan_sip:
    ringing is C{early}, in use / busy / on hold C{confirmed}, the rest
    C{terminated}.
    """
    if extensionState < 0:
        return "terminated"
    if extensionState & _RINGING and notifyRinging:
        return "early"
    if extensionState & (_INUSE | _BUSY | _ONHOLD):
        return "confirmed"
    return "terminated"


def dialogInfo(entity: str, version: int, extensionState: int, exten: str,
               remote: Optional[Remote] = None, local: Optional[str] = None,
               notifyRinging: bool = True, state: Optional[str] = None) -> bytes:
    """
    A full dialog-info document for C{entity} (the hinted extension's URI).
    C{state} overrides the state derived from C{extensionState} (C{trying}
    for a device placing a call that has not rung yet).
    """
    dstate = state or dialogState(extensionState, notifyRinging)
    direction = remote.direction if remote is not None and dstate != "terminated" else None
    attrs = f" id={quoteattr(exten or 'dialog')}"
    if direction:
        attrs += f" direction={quoteattr(direction)}"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" '
             f'version="{int(version)}" state="full" entity={quoteattr(entity)}>',
             f"<dialog{attrs}>", f"<state>{dstate}</state>"]
    if dstate != "terminated":
        if remote is not None:
            display = f" display={quoteattr(remote.display)}" if remote.display else ""
            lines += ["<remote>", f"<identity{display}>{escape(remote.uri)}</identity>",
                      f"<target uri={quoteattr(remote.uri)}/>", "</remote>"]
        target = local or entity
        lines += ["<local>", f"<identity>{escape(target)}</identity>",
                  f"<target uri={quoteattr(target)}>"]
        if extensionState & _ONHOLD:
            lines.append('<param pname="+sip.rendering" pvalue="no"/>')
        lines += ["</target>", "</local>"]
    lines += ["</dialog>", "</dialog-info>", ""]
    return "\n".join(lines).encode("utf-8")


#: PRESENCE_STATE values that read as closed (not reachable).
_CLOSED_PRESENCE = frozenset(("unavailable", "xa", "dnd"))

_NOTES = {
    0: "Ready", _INUSE: "On the phone", _BUSY: "On the phone", _RINGING: "Ringing",
    _INUSE | _RINGING: "On the phone", _ONHOLD: "On hold", _INUSE | _ONHOLD: "On hold",
    _UNAVAILABLE: "Unavailable",
}


def presenceOf(extensionState: int, presence: str = "", message: str = "") -> tuple[str, str]:
    """
    (basic status, note) for PIDF: C{closed} when the extension is
    unavailable or gone, or its custom presence is unavailable / xa / dnd;
    the note is the custom presence message, else a word for the state.
    """
    presence = (presence or "").strip().lower()
    closed = extensionState < 0 or extensionState == _UNAVAILABLE or presence in _CLOSED_PRESENCE
    if message:
        note = message
    elif presence and presence not in ("not_set", "invalid"):
        note = {"available": "Ready", "unavailable": "Unavailable", "away": "Away",
                "xa": "Extended away", "chat": "Available to chat",
                "dnd": "Do not disturb"}.get(presence, presence)
    elif extensionState < 0:
        note = "Unavailable"
    else:
        note = _NOTES.get(extensionState, "Unknown")
    return ("closed" if closed else "open"), note


def pidf(entity: str, exten: str, extensionState: int, presence: str = "",
         message: str = "", contact: Optional[str] = None) -> bytes:
    """A PIDF document (RFC 3863) with one tuple for the hinted extension."""
    basic, note = presenceOf(extensionState, presence, message)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity={quoteattr(entity)}>',
             f"<tuple id={quoteattr(exten or 'tuple')}>",
             f"<status><basic>{basic}</basic></status>",
             f'<contact priority="1">{escape(contact or entity)}</contact>',
             f"<note>{escape(note)}</note>",
             "</tuple>", "</presence>", ""]
    return "\n".join(lines).encode("utf-8")


def messageSummary(new: int, old: int, account: Optional[str] = None,
                   urgentNew: int = 0, urgentOld: int = 0) -> bytes:
    """A message-summary body (RFC 3842) for C{new}/C{old} voice messages."""
    lines = [f"Messages-Waiting: {'yes' if new else 'no'}"]
    if account:
        lines.append(f"Message-Account: {account}")
    voice = f"Voice-Message: {int(new)}/{int(old)}"
    if urgentNew or urgentOld:
        voice += f" ({int(urgentNew)}/{int(urgentOld)})"
    lines.append(voice)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def parseMessageSummary(body: bytes) -> dict:
    """
    C{{'waiting': bool, 'account': str|None, 'voice': (new, old)|None}} of a
    message-summary body; ValueError when Messages-Waiting is missing.
    """
    result = {"waiting": None, "account": None, "voice": None}
    for raw in body.decode("utf-8", "replace").splitlines():
        name, sep, value = raw.partition(":")
        if not sep:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == "messages-waiting":
            result["waiting"] = value.lower() == "yes"
        elif name == "message-account":
            result["account"] = value
        elif name == "voice-message":
            counts = value.split("(")[0].strip()
            new, _, old = counts.partition("/")
            result["voice"] = (int(new), int(old))
    if result["waiting"] is None:
        raise ValueError("no Messages-Waiting line")
    return result


@dataclass(frozen=True)
class TooBrief:
    """The requested expiry is under the minimum: answer 423 with C{minimum}."""

    minimum: int


def chooseExpiry(requested: Optional[int], minimum: int, maximum: int, default: int):
    """
    The expiry to grant (RFC 6665 §4.2.1): the default when none is asked,
    0 to unsubscribe, at most C{maximum}; L{TooBrief} under C{minimum}.
    """
    if requested is None:
        return min(default, maximum)
    if requested == 0:
        return 0
    if requested < minimum:
        return TooBrief(minimum)
    return min(requested, maximum)


def subscriptionState(expires: int, terminated: bool = False,
                      reason: str = "timeout") -> str:
    """The Subscription-State header value of a NOTIFY."""
    if terminated:
        return f"terminated;reason={reason}"
    return f"active;expires={max(int(expires), 0)}"
