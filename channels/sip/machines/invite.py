"""
The INVITE session machine: one call leg as a pure state machine (RFC 3261
§13-15, RFC 3264 / RFC 6337 offer and answer, RFC 3262 reliable provisional
responses, RFC 4028 session timers, RFC 3261 §14.1 glare back-off).

Like L{channels.sip.transaction} it is driven by messages and the time:
every input takes C{now} and returns a list of I{effects} -- messages to
send and events for the channel -- and the owner re-arms one timer to
L{InviteMachine.nextDeadline} after each call. No reactor, no socket, no
transaction: the session shell (L{channels.sip.driver.session.InviteSession})
sends the messages on transactions, runs the supplements and tells the
channel.

Inputs, UAS side: L{InviteMachine.receiveInvite}, L{respond} (provisional,
2xx, failure), L{receiveAck}, L{receiveCancel}, L{receivePrack}; UAC side:
L{startInvite}, L{receiveResponse}, L{cancel}; both: L{checkRequest} (481,
491, 500 decisions for in-dialog requests), L{receiveBye}, L{request},
L{reinvite}, L{hangup}, L{answerRejected}, L{startSessionTimer},
L{handleTimer}.
"""

from __future__ import annotations

import enum
import random as _random
from dataclasses import dataclass, field
from typing import Callable, Optional

from channels.sip.machines.dialog import Dialog, DialogError
from channels.sip.wire.digest import buildAuthorization, chooseChallenge
from channels.sip.wire.message import Request, makeResponse, newBranch, newTag

__all__ = ["State", "OfferAnswer", "Local", "InviteMachine", "SendResponse", "Resend",
           "SendRequest", "SendInvite", "SendAck", "CancelInvite", "Ringing", "Progress",
           "Answered", "Failed", "Ended", "AnswerReceived", "RefreshDue", "SessionTimer",
           "buildResponse", "reasonHeader", "optionTags"]


class State(enum.Enum):
    """Where the call leg stands (RFC 3261 §12-13)."""

    CALLING = "calling"        # UAC: INVITE sent, no dialog yet
    INCOMING = "incoming"      # UAS: INVITE received, no provisional with a tag yet
    EARLY = "early"            # an early dialog (1xx with a To tag)
    WAIT_ACK = "wait-ack"      # UAS: 2xx sent, its ACK not in yet (§13.3.1.4)
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class OfferAnswer(enum.Enum):
    """The offer/answer state of RFC 6337 §2.1."""

    NONE = "none"                    # no offer made yet (late offer)
    LOCAL_OFFER = "local-offer"      # we offered, the answer is owed to us
    REMOTE_OFFER = "remote-offer"    # the far end offered, we owe the answer
    STABLE = "stable"                # offer and answer complete


# -- effects -------------------------------------------------------------------------

@dataclass(frozen=True)
class SendResponse:
    """Answer C{request} (on its server transaction) with C{response}."""
    request: Request
    response: object


@dataclass(frozen=True)
class Resend:
    """Put C{response} on the wire again (a 2xx or a reliable 1xx retransmission)."""
    request: Request
    response: object


@dataclass(frozen=True)
class SendInvite:
    """Send the (initial) INVITE on a new client transaction."""
    request: Request


@dataclass(frozen=True)
class SendRequest:
    """Send an in-dialog request on a new client transaction; responses go to L{receiveResponse}."""
    request: Request


@dataclass(frozen=True)
class SendAck:
    """Send the ACK of a 2xx (no transaction, RFC 3261 §13.2.2.4)."""
    request: Request


@dataclass(frozen=True)
class CancelInvite:
    """CANCEL the pending INVITE (the transaction layer builds and sends it)."""


@dataclass(frozen=True)
class Ringing:
    response: object


@dataclass(frozen=True)
class Progress:
    response: object


@dataclass(frozen=True)
class Answered:
    response: object


@dataclass(frozen=True)
class Failed:
    response: object


@dataclass(frozen=True)
class Ended:
    """The leg is over. C{remote}: the far end (or a timeout) ended it, the channel must hear it."""
    cause: int
    reason: str
    remote: bool = True


@dataclass(frozen=True)
class AnswerReceived:
    """An SDP answer to our offer arrived in C{message} (1xx, 2xx or ACK)."""
    body: bytes
    message: object


@dataclass(frozen=True)
class RefreshDue:
    """A session refresh was sent (informational: C{request})."""
    request: Request


@dataclass(frozen=True)
class SessionTimer:
    """The RFC 4028 settings of a running session timer."""
    interval: int
    weRefresh: bool
    useUpdate: bool = False
    minSE: int = 90


# -- pure helpers --------------------------------------------------------------------

@dataclass(frozen=True)
class Local:
    """What the shell knows of our side: Via sent-by, Contact, names."""
    via: str = "SIP/2.0/UDP 127.0.0.1:5060"
    contact: str = "<sip:asterisk@127.0.0.1:5060>"
    userAgent: str = ""
    allow: str = "INVITE, ACK, CANCEL, BYE, OPTIONS"
    supported: str = ""
    reliable: bool = False           # over TCP/TLS: no 2xx retransmission
    t1: float = 0.5
    t2: float = 4.0


def optionTags(message, header: str) -> set[str]:
    """The option-tags of every C{header} line (Supported, Require...), lower case."""
    tags = set()
    for value in message.headers.getall(header) if header in message.headers else ():
        for tag in value.split(","):
            tag = tag.strip().lower()
            if tag:
                tags.add(tag)
    return tags


def reasonHeader(cause: int, text: str) -> tuple[str, str]:
    """An RFC 3326 Reason header for a Q.850 C{cause}."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return ("Reason", f'Q.850;cause={cause};text="{quoted}"')


def buildResponse(local: Local, request, status: int, reason=None, toTag=None, headers=(),
                  body: bytes = b"", contentType=None):
    """
    A response of ours to C{request}: Contact on dialog-making answers,
    Allow on INVITE answers, Server, the extra C{headers}, the body.
    """
    response = makeResponse(request, status, reason, toTag=toTag if status > 100 else None)
    h = response.headers
    method = request.method
    if 100 < status < 300 and method in ("INVITE", "SUBSCRIBE", "REFER", "UPDATE"):
        h.add("Contact", local.contact)
    if status < 300 and method == "INVITE":
        h.add("Allow", local.allow)
        if local.supported and status > 100:
            h.add("Supported", local.supported)
    if local.userAgent:
        h.add("Server", local.userAgent)
    for name, value in headers:
        h.add(name, value)
    if body:
        h.set("Content-Type", contentType or "application/sdp")
        h.set("Content-Length", str(len(body)))
        response.body = body
    return response


def glareDelay(ownCallId: bool, rand: Callable[[], float]) -> float:
    """RFC 3261 §14.1: 2.1-4 s for the Call-ID's owner, else 0-2 s, in 10 ms steps."""
    if ownCallId:
        return round(2.1 + rand() * 1.9, 2)
    return round(rand() * 2.0, 2)


@dataclass
class _Pending2xx:
    """A 2xx to an INVITE we received, retransmitted until its ACK (§13.3.1.4)."""
    request: Request
    response: object
    interval: float
    resendAt: Optional[float]
    giveUpAt: float


@dataclass
class _Reliable:
    """A reliable provisional response waiting for its PRACK (RFC 3262 §3)."""
    response: object
    rseq: int
    interval: float
    resendAt: Optional[float]
    giveUpAt: float


@dataclass
class _Reinvite:
    """Our re-INVITE (or UPDATE) in flight, or waiting out a 491 back-off."""
    method: str
    body: bytes
    headers: tuple
    request: Optional[Request] = None
    retryAt: Optional[float] = None
    refresh: bool = False


@dataclass
class _Timer:
    """The running session timer (RFC 4028 §10)."""
    settings: SessionTimer
    at: float = 0.0

    def rearm(self, now: float) -> None:
        interval = self.settings.interval
        if self.settings.weRefresh:
            self.at = now + interval / 2.0
        else:
            self.at = now + interval - min(32.0, interval / 3.0)


@dataclass
class _Outgoing:
    """The UAC side's memory of its INVITE."""
    credentials: Optional[tuple] = None
    authTried: bool = False
    cancelled: bool = False
    byeSentTo: set = field(default_factory=set)
    prackedRSeq: set = field(default_factory=set)


# -- the machine -----------------------------------------------------------------------

class _Core:
    """State, dialog, timers and the requests of both roles."""

    def __init__(self, role: str, local: Local = Local(), localTag: str | None = None,
                 rand: Callable[[], float] = _random.random):
        if role not in ("uac", "uas"):
            raise ValueError(f"role must be uac or uas, not {role!r}")
        self.role = role
        self.local = local
        self.localTag = localTag or newTag()
        self.rand = rand
        self.state = State.INCOMING if role == "uas" else State.CALLING
        self.offerAnswer = OfferAnswer.NONE
        self.dialog: Dialog | None = None
        self.invite: Request | None = None
        self.localBody = b""           # the last SDP we sent
        self.endReason: str | None = None
        self._pending: _Pending2xx | None = None
        self._reliable: _Reliable | None = None
        self._queued: list = []        # reliable provisionals waiting for a PRACK
        self._rseq = 0
        self._byeAfterAck: int | None = None
        self._reinvite: _Reinvite | None = None
        self._timer: _Timer | None = None
        self._out = _Outgoing()
        self._remoteReliable = False   # the far end required 100rel
        self._heldFinal = None         # a 2xx waiting for a PRACK
        #: C{decorate(message)}, when set, sees every message the machine
        #: builds before its state moves (the shell runs supplements there).
        self.decorate = None

    def __repr__(self):
        return f"<InviteMachine {self.role} {self.state.value} {self.offerAnswer.value}>"

    @property
    def ended(self) -> bool:
        return self.state is State.TERMINATED

    @property
    def callId(self):
        return self.invite.callId if self.invite is not None else None

    # -- time --------------------------------------------------------------------------

    def nextDeadline(self) -> Optional[float]:
        times = []
        if self._pending is not None:
            times.append(self._pending.giveUpAt)
            if self._pending.resendAt is not None:
                times.append(self._pending.resendAt)
        if self._reliable is not None:
            times.append(self._reliable.giveUpAt)
            if self._reliable.resendAt is not None:
                times.append(self._reliable.resendAt)
        if self._reinvite is not None and self._reinvite.retryAt is not None:
            times.append(self._reinvite.retryAt)
        if self._timer is not None and self.state is not State.TERMINATED:
            times.append(self._timer.at)
        return min(times) if times else None

    def handleTimer(self, now: float) -> list:
        effects: list = []
        pending = self._pending
        if pending is not None:
            if now >= pending.giveUpAt:
                effects += self._noAck(now)
            elif pending.resendAt is not None and now >= pending.resendAt:
                pending.interval = min(pending.interval * 2, self.local.t2)
                pending.resendAt = now + pending.interval
                effects.append(Resend(pending.request, pending.response))
        reliable = self._reliable
        if reliable is not None:
            if now >= reliable.giveUpAt:
                effects += self._noPrack(now)
            elif reliable.resendAt is not None and now >= reliable.resendAt:
                reliable.interval *= 2
                reliable.resendAt = now + reliable.interval
                effects.append(Resend(self.invite, reliable.response))
        pendingReinvite = self._reinvite
        if pendingReinvite is not None and pendingReinvite.retryAt is not None and now >= pendingReinvite.retryAt:
            pendingReinvite.retryAt = None
            effects += self._sendReinvite(pendingReinvite)
        timer = self._timer
        if timer is not None and self.state is not State.TERMINATED and now >= timer.at:
            effects += self._sessionTimerFired(now)
        return effects

    # -- requests in the dialog -----------------------------------------------------------

    def request(self, method: str, body: bytes = b"", contentType=None, headers=(), cseq=None) -> Request:
        """An in-dialog request of ours (the shell sends it; BYE, INFO, REFER...)."""
        if self.dialog is None:
            raise DialogError(f"no dialog to send {method} in")
        if body and (contentType or "application/sdp").startswith("application/sdp"):
            self.localBody = body
        request = self.dialog.makeRequest(method, self.local.via, contact=self.local.contact, body=body,
                                          contentType=contentType, headers=headers, cseq=cseq,
                                          userAgent=self.local.userAgent or None)
        if self.decorate is not None:
            self.decorate(request)
        return request

    def terminate(self, reason: str) -> list:
        """End the leg without a word on the wire (someone else answered for it)."""
        return self._end(reason, 16, remote=False)

    def _bye(self, cause: int | None = None, text: str = "") -> list:
        if self.dialog is None:
            return []
        headers = [reasonHeader(cause, text)] if cause is not None and text else []
        return [SendRequest(self.request("BYE", headers=headers))]

    def _end(self, reason: str, cause: int = 16, remote: bool = True) -> list:
        if self.state is State.TERMINATED:
            return []
        self.state = State.TERMINATED
        self.endReason = reason
        if self.dialog is not None:
            self.dialog.terminate()
        if self._byeAfterAck is None:
            self._pending = None
        self._reliable = None
        self._queued = []
        self._reinvite = None
        self._timer = None
        return [Ended(cause, reason, remote)]

    def checkRequest(self, request, now: float) -> Optional[list]:
        """
        The machine's answer to an in-dialog request before anything else
        runs: 481 after the end, 500 for an old CSeq, 491 for a re-INVITE
        (or an UPDATE with an offer) while another offer is open. None: the
        request may go on to its handler.
        """
        method = request.method
        if self.state is State.TERMINATED and method not in ("ACK", "BYE"):
            return [SendResponse(request, self._answer(request, 481, "Call/Transaction Does Not Exist"))]
        if self.dialog is not None and not self.dialog.acceptRemoteCSeq(request):
            return [SendResponse(request, self._answer(request, 500, "Out of Order",
                                                       headers=[("Retry-After", "1")]))]
        if method == "INVITE" or (method == "UPDATE" and request.body):
            if self._offerOpen(request):
                return [SendResponse(request, self._answer(request, 491, "Request Pending"))]
            if method == "INVITE":
                self.dialog.updateTarget(request)
                self.offerAnswer = OfferAnswer.REMOTE_OFFER if request.body else OfferAnswer.NONE
        return None

    def _offerOpen(self, request) -> bool:
        if request.method == "INVITE" and (self._pending is not None or self.state is not State.CONFIRMED):
            return True
        if self._reinvite is not None and self._reinvite.request is not None:
            return True
        return self.offerAnswer in (OfferAnswer.LOCAL_OFFER, OfferAnswer.REMOTE_OFFER) and \
            self.state is State.CONFIRMED

    def _answer(self, request, status, reason=None, headers=(), body=b"", contentType=None):
        response = buildResponse(self.local, request, status, reason, toTag=self.localTag,
                                 headers=headers, body=body, contentType=contentType)
        if self.decorate is not None:
            self.decorate(response)
        return response

    def receiveBye(self, request, now: float) -> list:
        """The far end hangs up: 200 and the end (a BYE after the end is answered 200 too)."""
        effects = [SendResponse(request, self._answer(request, 200, "OK"))]
        return effects + self._end("remote BYE", 16, remote=True)

    def hangup(self, cause: int, now: float, status=None) -> list:
        """
        We hang up whatever the state: a failure response or CANCEL before
        the answer, BYE after it (after the ACK when it is still owed).
        C{status} (code, reason) is the failure response of a UAS.
        """
        if self.state is State.TERMINATED:
            return []
        if self.role == "uas":
            if self.state in (State.INCOMING, State.EARLY):
                code, reason = status or (480, "Temporarily Unavailable")
                return self.respond(self.invite, code, reason, now=now)
            if self._pending is not None and self.state is State.WAIT_ACK:
                self._byeAfterAck = cause
                return []
            return self._bye() + self._end("hangup", cause, remote=False)
        if self.state in (State.CALLING, State.EARLY):
            return self.cancel(now)
        return self._bye() + self._end("hangup", cause, remote=False)

    # -- session timers (RFC 4028) --------------------------------------------------------

    def startSessionTimer(self, settings: SessionTimer, now: float) -> None:
        """Run (or re-run from C{now}) the session timer with C{settings}."""
        self._timer = _Timer(settings)
        self._timer.rearm(now)

    def sessionRefreshed(self, now: float) -> None:
        """A refresh went through (ours answered 2xx, or the far end's arrived)."""
        if self._timer is not None:
            self._timer.rearm(now)

    @property
    def sessionTimer(self) -> Optional[SessionTimer]:
        return self._timer.settings if self._timer is not None else None

    def _sessionTimerFired(self, now: float) -> list:
        timer = self._timer
        if not timer.settings.weRefresh:
            self._timer = None
            return self._bye(102, "Session Timer Expired") + self._end("session expired", 102)
        timer.rearm(now)
        if self.state is not State.CONFIRMED or self._reinvite is not None:
            return []
        settings = timer.settings
        headers = (("Session-Expires", f"{settings.interval};refresher=uac"),
                   ("Min-SE", str(settings.minSE)), ("Supported", "timer"))
        method = "UPDATE" if settings.useUpdate else "INVITE"
        body = b"" if method == "UPDATE" else self.localBody
        pending = _Reinvite(method, body, headers, refresh=True)
        effects = self._sendReinvite(pending)
        return effects + [RefreshDue(pending.request)]

    # -- our re-INVITE / UPDATE -----------------------------------------------------------

    def reinvite(self, now: float, body: bytes = b"", headers=(), method="INVITE") -> list:
        """Send a re-INVITE (or an UPDATE) with C{body}; a 491 is retried after §14.1's back-off."""
        if self.state is not State.CONFIRMED or self._reinvite is not None:
            return []
        return self._sendReinvite(_Reinvite(method, body, tuple(headers)))

    def _sendReinvite(self, pending: _Reinvite) -> list:
        self._reinvite = pending
        pending.request = self.request(pending.method, body=pending.body, headers=pending.headers)
        if pending.body:
            self.offerAnswer = OfferAnswer.LOCAL_OFFER
        return [SendRequest(pending.request)]

    def _reinviteResponse(self, response, now: float) -> list:
        pending = self._reinvite
        status = response.status
        if status < 200:
            return []
        effects: list = []
        if status < 300:
            if pending.method == "INVITE":
                effects.append(SendAck(self.request("ACK", cseq=response.cseq.number)))
                self.dialog.updateFromResponse(response)
            self._reinvite = None
            if pending.body:
                self.offerAnswer = OfferAnswer.STABLE
                if response.body:
                    effects.append(AnswerReceived(response.body, response))
            self.sessionRefreshed(now)  # any 2xx to a re-INVITE or UPDATE refreshes (RFC 4028 §10)
            return effects
        if pending.body:
            self.offerAnswer = OfferAnswer.STABLE  # the old session stays (RFC 3261 §14.1)
        if status == 491:
            pending.request = None
            ownCallId = self.role == "uac"
            pending.retryAt = now + glareDelay(ownCallId, self.rand)
            return []
        self._reinvite = None
        if status in (408, 481):
            return self._bye() + self._end(f"re-INVITE failed {status}", 41)
        return []

    def receiveResponse(self, response, now: float) -> list:
        """A response to one of our requests (the INVITE or one sent in the dialog)."""
        cseq = response.cseq
        if cseq is None:
            return []
        if cseq.method == "INVITE" and self.invite is not None and cseq.number == self.invite.cseq.number \
                and self.role == "uac":
            return self._inviteResponse(response, now)
        pending = self._reinvite
        if pending is not None and pending.request is not None and cseq.method == pending.method \
                and cseq.number == pending.request.cseq.number:
            return self._reinviteResponse(response, now)
        if cseq.method == "BYE" or response.status < 300 or self.state is State.TERMINATED:
            return []
        if response.status in (408, 481) and cseq.method not in ("PRACK", "CANCEL"):
            # RFC 3261 §12.2.1.2: the dialog is gone.
            return self._end(f"{cseq.method} failed {response.status}", 41)
        return []


class _UAS(_Core):
    """The answering side."""

    def receiveInvite(self, request, now: float) -> list:
        """The initial INVITE. Raises DialogError when it cannot make a dialog (no Contact)."""
        self.invite = request
        self.dialog = Dialog.asUAS(request, self.localTag)
        self.dialog.remoteSeq = request.cseq.number
        self.offerAnswer = OfferAnswer.REMOTE_OFFER if request.body else OfferAnswer.NONE
        self._remoteReliable = "100rel" in optionTags(request, "Require")
        return []

    @property
    def reliableProvisionals(self) -> bool:
        """RFC 3262: provisionals are sent reliably when the caller required 100rel."""
        return self._remoteReliable

    def respond(self, request, status: int, reason=None, headers=(), body=b"", contentType=None,
                now: float = 0.0) -> list:
        """
        Our response to C{request}. For the INVITE it moves the state: a
        provisional to EARLY (reliably when 100rel is required), a 2xx to
        WAIT_ACK with its retransmissions, a failure to the end.
        """
        if body and (contentType or "application/sdp").startswith("application/sdp"):
            self.localBody = body
        headers = list(headers)
        reliable = (request is self.invite and 100 < status < 200 and self._remoteReliable
                    and self.state in (State.INCOMING, State.EARLY))
        if reliable:
            self._rseq = self._rseq + 1 if self._rseq else int(self.rand() * 2**20) + 1
            headers += [("Require", "100rel"), ("RSeq", str(self._rseq))]
        response = self._answer(request, status, reason, headers, body, contentType)
        if request is not self.invite and request.method == "INVITE":
            return self._reinviteAnswered(request, response, status, body, now)
        if request is not self.invite:
            if request.method == "UPDATE" and 200 <= status < 300:
                self.sessionRefreshed(now)
            return [SendResponse(request, response)]
        if status < 200:
            return self._provisional(request, response, status, body, reliable, now)
        if status < 300 and self._reliable is not None:
            # RFC 3262 §3: the 2xx waits for the PRACKs of our reliable provisionals.
            self._heldFinal = response
            return []
        self._reliable = None
        self._queued = []
        self._heldFinal = None
        if status < 300:
            return self._send2xx(response, now)
        return [SendResponse(request, response)] + self._end(f"rejected {status}", 16, remote=False)

    def _send2xx(self, response, now) -> list:
        self._offerAnswerSent(response.body)
        self.state = State.WAIT_ACK
        self.dialog.confirm()
        self._arm2xx(self.invite, response, now)
        return [SendResponse(self.invite, response)]

    def _offerAnswerSent(self, body) -> None:
        if not body:
            return
        if self.offerAnswer is OfferAnswer.REMOTE_OFFER:
            self.offerAnswer = OfferAnswer.STABLE
        elif self.offerAnswer is OfferAnswer.NONE:
            self.offerAnswer = OfferAnswer.LOCAL_OFFER

    def _provisional(self, request, response, status, body, reliable, now) -> list:
        if self.state not in (State.INCOMING, State.EARLY):
            return []
        if status > 100:
            self.state = State.EARLY
        if not reliable:
            return [SendResponse(request, response)]
        if self._reliable is not None:
            self._queued.append(response)  # one unacknowledged at a time (RFC 3262 §3)
            return []
        if body and self.offerAnswer is OfferAnswer.REMOTE_OFFER:
            self.offerAnswer = OfferAnswer.STABLE
        t1 = self.local.t1
        self._reliable = _Reliable(response, self._rseq, t1, None if self.local.reliable else now + t1,
                                   now + 64 * t1)
        return [SendResponse(request, response)]

    def _reinviteAnswered(self, request, response, status, body, now) -> list:
        if 200 <= status < 300:
            self._offerAnswerSent(body)
            self._arm2xx(request, response, now)
            self.sessionRefreshed(now)
        elif status >= 300 and self.offerAnswer is OfferAnswer.REMOTE_OFFER:
            self.offerAnswer = OfferAnswer.STABLE
        return [SendResponse(request, response)]

    def _arm2xx(self, request, response, now) -> None:
        t1 = self.local.t1
        resendAt = None if self.local.reliable else now + t1
        self._pending = _Pending2xx(request, response, t1, resendAt, now + 64 * t1)

    def receiveAck(self, ack, now: float) -> list:
        """The ACK of our 2xx: confirmed; a late offer's answer is in it or the call ends."""
        pending = self._pending
        if pending is None or ack.cseq is None or ack.cseq.number != pending.request.cseq.number:
            return []
        self._pending = None
        initial = pending.request is self.invite
        if initial and self.state is State.WAIT_ACK:
            self.state = State.CONFIRMED
        effects: list = []
        if self.offerAnswer is OfferAnswer.LOCAL_OFFER:
            self.offerAnswer = OfferAnswer.STABLE
            if not ack.body:
                return self._bye(111, "No SDP answer in ACK") + self._end("no SDP answer in ACK", 111)
            effects.append(AnswerReceived(ack.body, ack))
        if self._byeAfterAck is not None and self.state is not State.TERMINATED:
            cause, self._byeAfterAck = self._byeAfterAck, None
            effects += self._bye() + self._end("hangup", cause, remote=False)
        return effects

    def answerRejected(self, now: float, text: str = "Bad SDP answer", cause: int = 111) -> list:
        """
        The shell found the answer (in an ACK or a 2xx) unusable: BYE with a
        Reason (Q.850 C{cause}: 111 protocol error, 88 incompatible).
        """
        return self._bye(cause, text) + self._end(text, cause)

    def _noAck(self, now: float) -> list:
        self._pending = None
        if self.state is State.TERMINATED:
            return []
        return self._bye() + self._end("no ACK", 102)

    def receiveCancel(self, cancel, now: float) -> list:
        """CANCEL of our pending INVITE: 487 and the end (too late once answered)."""
        if self.role != "uas" or self.state not in (State.INCOMING, State.EARLY):
            return []
        effects = [SendResponse(self.invite, self._answer(self.invite, 487, "Request Terminated"))]
        return effects + self._end("cancelled", 16, remote=True)

    def receivePrack(self, prack, now: float) -> list:
        """RFC 3262 §3: a PRACK whose RAck names our reliable provisional stops it; 481 otherwise."""
        reliable = self._reliable
        rack = (prack.headers.get("RAck") or "").split()
        ok = (reliable is not None and len(rack) == 3 and rack[0] == str(reliable.rseq)
              and rack[1] == str(self.invite.cseq.number) and rack[2].upper() == "INVITE")
        if not ok:
            return [SendResponse(prack, self._answer(prack, 481, "Call/Transaction Does Not Exist"))]
        self._reliable = None
        effects = [SendResponse(prack, self._answer(prack, 200, "OK"))]
        if self._queued:
            response = self._queued.pop(0)
            t1 = self.local.t1
            rseq = int(response.headers.get("RSeq"))
            self._reliable = _Reliable(response, rseq, t1, None if self.local.reliable else now + t1,
                                       now + 64 * t1)
            effects.append(SendResponse(self.invite, response))
        elif self._heldFinal is not None and self.state in (State.INCOMING, State.EARLY):
            held, self._heldFinal = self._heldFinal, None
            effects += self._send2xx(held, now)
        return effects

    def _noPrack(self, now: float) -> list:
        self._reliable = None
        if self.state not in (State.INCOMING, State.EARLY):
            return []
        # RFC 3262 §3: no PRACK for 64*T1: the UAS rejects the INVITE with a 5xx
        # (and the channel hears of it: it may have answered already).
        effects = self.respond(self.invite, 504, "Server Time-out", now=now)
        return [Ended(e.cause, "no PRACK", True) if isinstance(e, Ended) else e for e in effects]


class InviteMachine(_UAS):
    """One INVITE session; the calling side's inputs are here, the rest in the bases."""

    def startInvite(self, invite: Request, now: float, credentials=None) -> list:
        """Our initial INVITE (its offer, if any, in the body); C{credentials} (user, secret)."""
        self.invite = invite
        self._out.credentials = credentials
        if invite.body:
            self.localBody = invite.body
            self.offerAnswer = OfferAnswer.LOCAL_OFFER
        return [SendInvite(invite)]

    def resendInvite(self, now: float, headers=(), remove=()) -> list:
        """
        Send the unanswered INVITE again on a new transaction (new branch,
        CSeq one higher), with C{headers} set and C{remove} dropped: how a
        UAC repairs a 401/407 or a 422.
        """
        if self.role != "uac" or self.state not in (State.CALLING, State.EARLY) or self._out.cancelled:
            raise DialogError(f"cannot re-send the INVITE of a {self.role} session in state {self.state.value}")
        old = self.invite
        h = old.headers.copy()
        via = h.get("Via")
        h.set("Via", via.split(";branch=")[0] + f";branch={newBranch()};rport")
        h.set("CSeq", f"{old.cseq.number + 1} INVITE")
        for name in remove:
            h.remove(name)
        for name, value in headers:
            h.set(name, value)
        self.dialog = None  # the failed attempt's early dialog is gone with it
        self.state = State.CALLING
        self.invite = Request("INVITE", old.uri, h, old.body)
        return [SendInvite(self.invite)]

    def cancel(self, now: float) -> list:
        """Give up an unanswered call (CANCEL; a 2xx crossing it is ACKed and BYEd)."""
        if self.role != "uac" or self.state is State.TERMINATED:
            return []
        if self.state is State.CONFIRMED:
            return self._bye() + self._end("hangup", 16, remote=False)
        self._out.cancelled = True
        return [CancelInvite()] + self._end("cancelled", 16, remote=False)

    @property
    def cancelled(self) -> bool:
        return self._out.cancelled

    def _inviteResponse(self, response, now: float) -> list:
        status = response.status
        if self.state is State.TERMINATED and not (200 <= status < 300):
            return []
        if status < 200:
            return self._provisionalReceived(response, now)
        if status < 300:
            return self._answered(response, now)
        if status in (401, 407) and self._out.credentials and not self._out.authTried \
                and not self._out.cancelled:
            effects = self._retryWithAuth(response, now)
            if effects:
                return effects
        return [Failed(response)] + self._end(f"failed {status}", 16, remote=False)

    def _provisionalReceived(self, response, now) -> list:
        if response.status == 100 or self._out.cancelled:
            return []
        if response.toTag and self.dialog is None:
            try:
                self.dialog = Dialog.asUAC(self.invite, response)
            except DialogError:
                pass
        self.state = State.EARLY
        effects: list = []
        rseq = response.headers.get("RSeq")
        if "100rel" in optionTags(response, "Require") and rseq and self.dialog is not None:
            if rseq in self._out.prackedRSeq:
                return []  # a retransmission: the PRACK went already
            self._out.prackedRSeq.add(rseq)
            rack = f"{rseq.strip()} {self.invite.cseq.number} INVITE"
            effects.append(SendRequest(self.request("PRACK", headers=[("RAck", rack)])))
        if response.body and self.offerAnswer is OfferAnswer.LOCAL_OFFER:
            self.offerAnswer = OfferAnswer.STABLE
            effects.append(AnswerReceived(response.body, response))
        effects.append(Ringing(response) if response.status == 180 else Progress(response))
        return effects

    def _answered(self, response, now) -> list:
        if self.dialog is None or self.dialog.remoteTag != response.toTag:
            self.dialog = Dialog.asUAC(self.invite, response)
        self.dialog.updateFromResponse(response)
        self.dialog.confirm()
        effects: list = [SendAck(self.request("ACK", cseq=self.invite.cseq.number))]
        if self._out.cancelled:
            # RFC 3261 §9.1: a 2xx crossed our CANCEL: ACK it, then BYE once per dialog.
            if response.toTag not in self._out.byeSentTo:
                self._out.byeSentTo.add(response.toTag)
                effects += self._bye()
            return effects + self._end("answered after CANCEL", 16, remote=False)
        if self.state in (State.CONFIRMED, State.TERMINATED):
            return effects  # a retransmitted 2xx: ACKed again
        self.state = State.CONFIRMED
        if response.body and self.offerAnswer is OfferAnswer.LOCAL_OFFER:
            self.offerAnswer = OfferAnswer.STABLE
            effects.append(AnswerReceived(response.body, response))
        elif self.offerAnswer is OfferAnswer.LOCAL_OFFER:
            self.offerAnswer = OfferAnswer.STABLE  # answered in an earlier reliable 1xx
        return effects + [Answered(response)]

    def _retryWithAuth(self, response, now) -> list:
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = chooseChallenge(response.headers.rawValues(header))
        if challenge is None:
            return []
        self._out.authTried = True
        user, secret = self._out.credentials
        value = buildAuthorization(challenge, "INVITE", self.invite.uri, user, secret, newTag())
        name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        return self.resendInvite(now, headers=[(name, value)])
