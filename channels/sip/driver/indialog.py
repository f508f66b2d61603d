"""
The requests a far end sends inside an INVITE dialog, as Asterisk answers
them: BYE, re-INVITE (hold, unhold, new offer), INFO (DTMF), MESSAGE,
REFER, NOTIFY, UPDATE, PRACK, OPTIONS. L{InDialogRequests} is a base of
L{channels.sip.driver.session.InviteSession}: the machine has already
refused what its state forbids (481, 491, 500) before these run.
"""

from __future__ import annotations

from twisted.logger import Logger

from channels.sip.wire.body import ACCEPT as BODY_ACCEPT
from channels.sip.wire.body import sdpOf, unusableBody
from channels.sip.wire.sdp import SDPError, parseSDP

__all__ = ["InDialogRequests", "parseDTMFInfo"]


class InDialogRequests:
    """The C{sip_METHOD} handlers of a session."""

    log = Logger()

    def sip_PRACK(self, request, st):
        self._run(self.machine.receivePrack(request, self._now()), st=st)

    def sip_BYE(self, request, st):
        self._run(self.machine.receiveBye(request, self._now()), st=st)

    def sip_OPTIONS(self, request, st):
        self.respond(request, 200, "OK", st=st, headers=self.manager.capabilityHeaders())

    def sip_INVITE(self, request, st):
        """A re-INVITE (the machine already refused it with 491 while an offer is open)."""
        if unusableBody(request):
            self.respond(request, 415, "Unsupported Media Type", st=st, headers=[("Accept", BODY_ACCEPT)])
            return
        body = sdpOf(request) or b""
        held = self.held
        if body:
            try:
                offer = parseSDP(body)
                answer = self.negotiateOffer(offer)
            except SDPError as e:
                status = 488 if "no media" in str(e) else 400
                self.respond(request, status, "Not Acceptable Here" if status == 488 else "Bad SDP", st=st)
                return
            held = any(m.direction in ("sendonly", "inactive") or (offer.connectionFor(m) or "") in ("0.0.0.0", "::")
                       for m in offer.media if m.port)
            if not held and offer.attribute("sendonly") is not None:
                held = True
        else:
            answer = self._nextDescription([s.local for s in self.streams if s.local is not None])
            self.localSDP = answer
        self.respond(request, 200, "OK", body=answer.toBytes(), st=st)
        if body:
            self.applyStreams()
            if held != self.held:
                self.held = held
                self._tellOwner("sessionHold", held)

    def sip_INFO(self, request, st):
        body = request.body or b""
        if not body:
            self.respond(request, 200, "OK", st=st)
            return
        contentType = (request.contentType or "").split(";")[0].strip().lower()
        if contentType in ("application/dtmf-relay", "application/dtmf"):
            digit, duration = parseDTMFInfo(contentType, body)
            if digit is None:
                self.respond(request, 400, "Bad DTMF", st=st)
                return
            self.respond(request, 200, "OK", st=st)
            self._tellOwner("sessionDigit", digit, duration)
            return
        if self._tellOwner("sessionRequest", request, st, default=False):
            return
        self.respond(request, 415, "Unsupported Media Type", st=st,
                     headers=[("Accept", "application/dtmf-relay, application/dtmf")])

    def sip_MESSAGE(self, request, st):
        self.respond(request, 200, "OK", st=st)
        self._tellOwner("sessionMessage", request)

    def sip_REFER(self, request, st):
        if not request.headers.get("Refer-To"):
            self.respond(request, 400, "Missing Refer-To", st=st)
            return
        if not self._tellOwner("sessionRefer", request, st, default=False):
            self.respond(request, 603, "Declined", st=st)

    def sip_NOTIFY(self, request, st):
        self.respond(request, 200, "OK", st=st)
        self._tellOwner("sessionNotify", request)

    def sip_UPDATE(self, request, st):
        self.respond(request, 200, "OK", st=st)

    def notifyRefer(self, statusLine: str, final: bool):
        """A NOTIFY with a message/sipfrag of the transfer's progress (RFC 3515)."""
        state = "terminated;reason=noresource" if final else "active;expires=60"
        body = (statusLine + "\r\n").encode()
        try:
            self.sendRequest("NOTIFY", body=body, contentType="message/sipfrag;version=2.0",
                             headers=[("Event", "refer"), ("Subscription-State", state)])
        except Exception:
            self.log.failure("could not send NOTIFY for REFER")


def parseDTMFInfo(contentType: str, body: bytes) -> tuple[str | None, int]:
    """(digit, duration ms) of an INFO body in application/dtmf-relay or application/dtmf."""
    text = body.decode("utf-8", "replace").strip()
    digit = None
    duration = 100
    if contentType == "application/dtmf":
        digit = text[:1] if text else None
    else:
        for line in text.splitlines():
            key, _, value = line.partition("=")
            key = key.strip().lower()
            value = value.strip()
            if key == "signal":
                digit = value[:1] if value else None
                if value == "10":
                    digit = "*"
                elif value == "11":
                    digit = "#"
                elif value == "16":
                    digit = "!"
            elif key == "duration":
                try:
                    duration = int(value)
                except ValueError:
                    pass
    if digit is not None:
        digit = digit.upper()
        if digit not in "0123456789*#ABCD!":
            return None, duration
    return digit, duration
