"""
res_sip_pai: network-asserted identity (RFC 3325) and Remote-Party-ID.

Incoming: a caller asking for privacy (C{Privacy: id}, or Remote-Party-ID
C{privacy=full}) gets the channel presentation C{prohib}; the asserted
identity itself becomes the caller ID in chan_sip (P-Asserted-Identity, then
Remote-Party-ID, then From).

Outgoing: a peer with C{sendrpid = pai} (or C{yes}/C{rpid} for
Remote-Party-ID) gets the caller's identity in that header on the INVITE.
A caller whose presentation is restricted (C{prohib*}) goes out with
C{Privacy: id} (or C{privacy=full}) and an anonymous From (RFC 3325 section
9.3), so only a trusted next hop learns who calls.
"""

from __future__ import annotations

from twisted.logger import Logger

from channels.sip.interfaces import SessionSupplement, registerSupplement
from channels.sip.wire.grammar import parseParams
from pbxcore.api import Module

log = Logger()

COOKIE = "res_sip_pai"
ANONYMOUS_FROM = '"Anonymous" <sip:anonymous@anonymous.invalid>'


def requestsPrivacy(request) -> bool:
    """Whether an INVITE asks to hide the caller's identity."""
    for value in request.headers.getall("Privacy"):
        if "id" in [v.strip().lower() for v in value.split(";")]:
            return True
    for value in request.headers.getall("Remote-Party-ID"):
        _, _, params = value.partition(">")
        try:
            parsed = dict((k.lower(), (v or "").lower()) for k, v in parseParams(params))
        except Exception:
            continue
        if parsed.get("privacy", "off") not in ("off", ""):
            return True
    return False


def sendRPID(peer, defaults=None) -> str:
    """The sendrpid mode of C{peer}: 'pai', 'rpid' or '' (send neither)."""
    for source in (peer, defaults):
        extra = getattr(source, "extra", None) or {}
        values = extra.get("sendrpid")
        if values:
            value = values[-1].strip().lower()
            if value == "pai":
                return "pai"
            if value in ("yes", "rpid", "true", "on", "1"):
                return "rpid"
            return ""
    return ""


def restricted(presentation: str) -> bool:
    return (presentation or "").lower().startswith("prohib")


def identityURI(number: str, host: str) -> str:
    return f"sip:{number}@{host}"


class PrivacySupplement(SessionSupplement):
    """Reads privacy from INVITEs and writes PAI/RPID and privacy on them."""

    method = "INVITE"
    priority = 90

    def incomingRequest(self, session, request):
        if session.role == "uas" and session.state == "incoming" and requestsPrivacy(request):
            session.addCookie(COOKIE, "prohib")
        return False

    def outgoingRequest(self, session, request):
        if session.role != "uac" or session.state == "confirmed":
            return
        channel = session.channel
        if channel is None:
            return
        party = channel.caller
        private = restricted(party.presentation) or callerWantsPrivacy(channel.requestor)
        stack = session.manager.stack
        peers = getattr(stack, "peers", None)
        defaults = peers.config.defaults if peers is not None else None
        mode = sendRPID(session.peer, defaults)
        host, _ = session.manager.localAddress(session.destination)
        host = f"[{host}]" if ":" in host else host
        display = f'"{party.name}" ' if party.name else ""
        if mode == "pai" and party.number:
            request.headers.set("P-Asserted-Identity",
                                f"{display}<{identityURI(party.number, host)}>")
            if private:
                request.headers.set("Privacy", "id")
        elif mode == "rpid" and party.number:
            privacy = "full" if private else "off"
            screen = "yes" if party.presentation.endswith("passed_screen") else "no"
            request.headers.set("Remote-Party-ID",
                                f"{display}<{identityURI(party.number, host)}>"
                                f";party=calling;privacy={privacy};screen={screen}")
        if private:
            tag = request.fromAddr.tag if request.fromAddr is not None else None
            request.headers.set("From", ANONYMOUS_FROM + (f";tag={tag}" if tag else ""))


def callerWantsPrivacy(channel) -> bool:
    """Whether C{channel} (a dialing caller) is restricted or came in asking for privacy."""
    if channel is None:
        return False
    if restricted(channel.caller.presentation):
        return True
    session = getattr(getattr(channel, "driver", None), "session", None)
    return session is not None and session.getCookie(COOKIE) is not None


class SIPPAIModule(Module):
    """res_sip_pai."""

    def load(self, pbx, registrar):
        self.pbx = pbx
        registerSupplement(pbx, registrar, PrivacySupplement(), "res_sip_pai")
        registrar.subscribe(self._event, ("Newchannel",))

    def _event(self, event):
        """A new SIP channel whose INVITE asked for privacy: restrict its presentation."""
        if event.name != "Newchannel":
            return
        name = dict(event.fields).get("Channel", "")
        if name.startswith("SIP/"):
            # The driver attaches the session right after Newchannel.
            self.pbx.reactor.callLater(0, self._applyPrivacy, name)

    def _applyPrivacy(self, name):
        channels = getattr(self.pbx, "channels", None)
        channel = channels.byName(name) if channels is not None else None
        if channel is None:
            return
        session = getattr(getattr(channel, "driver", None), "session", None)
        if session is not None and session.getCookie(COOKIE) is not None:
            channel.caller.presentation = "prohib"
