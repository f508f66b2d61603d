"""
INVITE sessions, after Asterisk's res_pjsip_session: one L{InviteSession} per
call leg, on top of the transaction layer and a L{channels.sip.machines.dialog.Dialog}.

A session runs every request and response it sends or receives through the
supplements (L{channels.sip.interfaces.ISessionSupplement}) it copied from
the C{sip.supplement} registry when it began; an incoming request stops at
the first supplement that claims it. SDP offers and answers go through the
C{sip.sdphandler} registry, one handler per m-line. Modules keep per-session
data in cookies (L{InviteSession.addCookie}).

What happens to the call (answered, failed, hung up, held, DTMF, transfer)
is reported to the session's C{owner}, the channel driver of
L{channels.sip.driver.technology}; every owner callback is optional.
"""

from __future__ import annotations

from twisted.logger import Logger

from channels.sip.net.localaddress import addressesOf
from channels.sip.machines.dialog import DialogError
from channels.sip.machines.invite import (
    AnswerReceived, Answered, CancelInvite, Ended, Failed, InviteMachine, Local, OfferAnswer,
    Progress, Resend, Ringing, SendAck, SendInvite, SendRequest, SendResponse, State)
from channels.sip.wire.body import sdpOf, sdpPart
from channels.sip.wire.message import Request, newCallId, newTag
from channels.sip.wire.requests import outOfDialogRequest
from channels.sip.wire.sdp import SDPError, SessionDescription, parseSDP
from channels.sip.driver.indialog import InDialogRequests, parseDTMFInfo  # noqa: F401 (re-exported)
from channels.sip.driver.sessionmedia import IncompatibleAnswer, MediaStream, SessionMedia

__all__ = ["InviteSession", "MediaStream", "SessionManager", "SessionError",
           "causeForStatus", "statusForCause", "remoteIdentity"]

# -- RFC 3398: SIP responses and Q.850 causes ------------------------------------

_STATUS_TO_CAUSE = {
    400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102,
    410: 22, 413: 127, 414: 127, 415: 79, 416: 127, 420: 127, 421: 127, 423: 127,
    480: 18, 481: 41, 482: 25, 483: 25, 484: 28, 485: 1, 486: 17, 487: 16, 488: 65,
    500: 41, 501: 79, 502: 38, 503: 34, 504: 102, 505: 127, 513: 127,
    600: 17, 603: 21, 604: 1, 606: 58,
}

_CAUSE_TO_STATUS = {
    1: (404, "Not Found"), 2: (404, "Not Found"), 3: (404, "Not Found"),
    17: (486, "Busy Here"), 18: (408, "Request Timeout"), 19: (480, "Temporarily Unavailable"),
    20: (480, "Temporarily Unavailable"), 21: (403, "Forbidden"), 22: (410, "Gone"),
    23: (410, "Gone"), 26: (404, "Not Found"), 27: (502, "Bad Gateway"),
    28: (484, "Address Incomplete"), 29: (501, "Not Implemented"),
    31: (480, "Temporarily Unavailable"), 34: (503, "Service Unavailable"),
    38: (503, "Service Unavailable"), 41: (503, "Service Unavailable"),
    42: (503, "Service Unavailable"), 44: (503, "Service Unavailable"),
    47: (503, "Service Unavailable"), 55: (403, "Forbidden"), 57: (403, "Forbidden"),
    58: (488, "Not Acceptable Here"), 65: (488, "Not Acceptable Here"),
    66: (488, "Not Acceptable Here"), 79: (501, "Not Implemented"),
    87: (403, "Forbidden"), 88: (488, "Not Acceptable Here"),
    102: (504, "Server Time-out"), 111: (500, "Server Internal Error"),
    127: (500, "Server Internal Error"),
}


def causeForStatus(status: int) -> int:
    """The Q.850 cause for a final SIP failure response (RFC 3398 §8.2.6.1)."""
    if status in _STATUS_TO_CAUSE:
        return _STATUS_TO_CAUSE[status]
    if 400 <= status < 500:
        return 41  # NORMAL_TEMPORARY_FAILURE
    if 500 <= status < 600:
        return 38  # NETWORK_OUT_OF_ORDER
    if status >= 600:
        return 31  # NORMAL_UNSPECIFIED
    return 16


def statusForCause(cause) -> tuple[int, str]:
    """The SIP response for rejecting a call with Q.850 C{cause} (RFC 3398 §7.2.4.1)."""
    try:
        value = int(cause) if cause is not None else 16
    except (TypeError, ValueError):
        value = 16
    return _CAUSE_TO_STATUS.get(value, (480, "Temporarily Unavailable") if value in (16, 0)
                                else (500, "Server Internal Error"))


def remoteIdentity(request) -> tuple[str, str]:
    """
    (display name, user) of the caller: P-Asserted-Identity first, then
    Remote-Party-ID, then From.
    """
    from channels.sip.wire.grammar import parseNameAddr

    for header in ("P-Asserted-Identity", "Remote-Party-ID"):
        for value in request.headers.rawValues(header):
            first = value.split(",")[0] if header == "P-Asserted-Identity" else value
            try:
                addr = parseNameAddr(first.strip())
            except Exception:
                continue
            user = getattr(addr.uri, "user", None) or ""
            if user or addr.displayName:
                return addr.displayName or "", _unescape(user)
    addr = request.fromAddr
    if addr is None:
        return "", ""
    return addr.displayName or "", _unescape(getattr(addr.uri, "user", None) or "")


def _unescape(text: str) -> str:
    from channels.sip.wire.uri import unescape

    return unescape(text)


class SessionError(Exception):
    """A session operation that its state forbids."""


_STATE_NAMES = {State.WAIT_ACK: "confirmed"}


class InviteSession(SessionMedia, InDialogRequests):
    """
    One INVITE session (a call leg): the shell around an
    L{channels.sip.machines.invite.InviteMachine}. It owns the machine's
    timer and talks to the transaction manager; supplements see every
    message, the owner (the channel driver) every event. C{role} is "uas"
    for an incoming call, "uac" for an outgoing one; C{state} is one of
    "incoming", "calling", "early", "confirmed", "terminated".
    """

    log = Logger()

    def __init__(self, manager: "SessionManager", role: str, supplements, destination):
        self.manager = manager
        self.role = role
        self.supplements = tuple(supplements)
        self.destination = destination
        self.owner = None
        self.peer = None
        self.codecs: list[str] = ["ulaw", "alaw"]
        self.streams: list[MediaStream] = []
        self.localSDP: SessionDescription | None = None
        self.remoteSDP: SessionDescription | None = None
        self.held = False
        self.lastMessage = ""  # chan_sip's "Rx: INVITE" / "Tx: ACK" (sip show channels)
        self.endReason = None
        self.cookies: dict[str, tuple[object, object]] = {}
        self._sdpVersion = 0
        self._sdpSession = str(int(manager.reactor.seconds()))
        self._timer = None
        self._okTransaction = None
        self._finished = False
        self._begun = False
        self.inviteTransaction = None
        #: The SessionManager's key for this UAS session's INVITE transaction.
        self.transactionKey = None
        # id(request) -> (request, server transaction) for requests not yet
        # answered with a final response, so whoever answers one (the
        # session, a claiming supplement, the owner) uses its own transaction.
        self._serverTransactions: dict[int, tuple[Request, object]] = {}
        self.localTag = newTag()
        self.callId = None
        self.createdAt = manager.reactor.seconds()
        timers = manager.timers
        local = Local(via=manager.viaFor(destination), contact=manager.contactFor(destination),
                      userAgent=manager.userAgentName() or "", allow=manager.ALLOW,
                      supported=manager.supportedTags(),
                      reliable=bool(getattr(destination, "reliable", False)),
                      t1=timers.t1, t2=timers.t2)
        self.machine = InviteMachine(role, local, self.localTag)
        self.machine.decorate = self._decorate

    def __repr__(self):
        return f"<InviteSession {self.role} {self.callId} {self.state}>"

    @property
    def state(self) -> str:
        state = self.machine.state
        return _STATE_NAMES.get(state, state.value)

    @property
    def dialog(self):
        return self.machine.dialog

    @property
    def invite(self):
        return self.machine.invite

    @property
    def pendingOffer(self) -> bool:
        """We offered (in a 2xx to an offerless INVITE) and wait for the answer."""
        return self.machine.offerAnswer is OfferAnswer.LOCAL_OFFER

    # -- supplements ---------------------------------------------------------------

    def _applies(self, supplement, method):
        wanted = getattr(supplement, "method", None)
        return wanted is None or (method is not None and wanted.upper() == method.upper())

    def _each(self, name, method, *args):
        """
        Call C{name} on the supplements for C{method}; lifecycle hooks
        (C{method} None) go to every supplement of the snapshot, whatever
        method it filters requests and responses on.
        """
        for supplement in self.supplements:
            if method is not None and not self._applies(supplement, method):
                continue
            try:
                getattr(supplement, name)(self, *args)
            except Exception:
                self.log.failure("SIP supplement {supplement!r}.{name} failed",
                                 supplement=supplement, name=name)

    def _decorate(self, message):
        """Every message the machine builds goes past the supplements before its state moves."""
        if message.isRequest:
            self.lastMessage = f"Tx: {message.method}"
            self._each("outgoingRequest", message.method, message)
        else:
            self._each("outgoingResponse", message.cseq.method, message)

    def _begin(self):
        if not self._begun:
            self._begun = True
            self._each("sessionBegin", None)

    def _incomingRequest(self, request) -> bool:
        """Run the supplements; True when one claimed the request."""
        self.lastMessage = f"Rx: {request.method}"
        for supplement in self.supplements:
            if not self._applies(supplement, request.method):
                continue
            try:
                if supplement.incomingRequest(self, request):
                    return True
            except Exception:
                self.log.failure("SIP supplement {supplement!r} failed on {method}",
                                 supplement=supplement, method=request.method)
        return False

    def _incomingResponse(self, response):
        method = response.cseq.method if response.cseq is not None else None
        self._each("incomingResponse", method, response)

    # -- cookies -----------------------------------------------------------------------

    def addCookie(self, name: str, value, destroy=None):
        """Keep C{value} under C{name}; C{destroy(value)} runs on removal or session end."""
        if name in self.cookies:
            self.removeCookie(name)
        self.cookies[name] = (value, destroy)

    def getCookie(self, name: str, default=None):
        entry = self.cookies.get(name)
        return default if entry is None else entry[0]

    def removeCookie(self, name: str):
        entry = self.cookies.pop(name, None)
        if entry is None:
            return None
        value, destroy = entry
        if destroy is not None:
            try:
                destroy(value)
            except Exception:
                self.log.failure("destroy callback of SIP session cookie {name} failed", name=name)
        return value

    # -- owner -----------------------------------------------------------------------

    @property
    def channel(self):
        """
        The PBX channel this session carries (what supplements act on), or
        None while no channel owns the session.
        """
        return getattr(self.owner, "channel", None)

    def _tellOwner(self, name, *args, default=None):
        owner = self.owner
        method = getattr(owner, name, None) if owner is not None else None
        if method is None:
            return default
        try:
            return method(self, *args)
        except Exception:
            self.log.failure("SIP session owner {name} failed", name=name)
            return default

    # -- the machine's effects ------------------------------------------------------------

    def _now(self):
        return self.manager.reactor.seconds()

    def _run(self, effects, st=None):
        """Carry out the machine's effects in order, then re-arm its timer."""
        last = None
        for effect in effects:
            kind = type(effect)
            if kind is SendResponse:
                last = self._sendResponse(effect.request, effect.response, st)
            elif kind is SendRequest:
                self._sendInDialog(effect.request)
            elif kind is SendAck:
                self.manager.transactions.sendAck(effect.request, self.destination)
            elif kind is SendInvite:
                self._sendInvite(effect.request)
            elif kind is Resend:
                self._resend(effect)
            elif kind is CancelInvite:
                if self.inviteTransaction is not None:
                    self.manager.transactions.cancel(self.inviteTransaction)
            elif kind is AnswerReceived:
                self._answerReceived(effect)
            elif kind is Ended:
                self._finish(effect.reason)
                if effect.remote:
                    self._tellOwner("sessionTerminated", effect.cause)
            elif kind is Failed:
                self._tellOwner("sessionFailed", effect.response)
            elif kind is Answered and not self.machine.ended:
                self._tellOwner("sessionAnswered", effect.response)
            elif kind is Ringing:
                self._tellOwner("sessionRinging", effect.response)
            elif kind is Progress:
                self._tellOwner("sessionProgress", effect.response)
        self._rearm()
        if self._finished:
            self._release()
        return last

    def _release(self):
        """
        Once ended and its owner told: the owner lets go of this session
        (C{releaseSession}) and the machine of its decorator, so that the
        call's objects are freed by reference counting instead of waiting
        for the cyclic garbage collector.
        """
        self.machine.decorate = None
        self._tellOwner("releaseSession")

    def _rearm(self):
        deadline = self.machine.nextDeadline()
        timer = self._timer
        if timer is not None and timer.active():
            if deadline is not None and abs(timer.getTime() - deadline) < 1e-9:
                return
            timer.cancel()
        self._timer = None
        if deadline is not None:
            reactor = self.manager.reactor
            self._timer = reactor.callLater(max(0.0, deadline - reactor.seconds()), self._timerFired)

    def _timerFired(self):
        self._timer = None
        try:
            self._run(self.machine.handleTimer(self._now()))
        except Exception:
            self.log.failure("SIP session timer of {callId}", callId=self.callId)

    def _sendResponse(self, request, response, st=None):
        if st is None or (st is not None and self.serverTransaction(request) not in (None, st)):
            entry = self._serverTransactions.get(id(request))
            st = entry[1] if entry is not None and entry[0] is request else self.inviteTransaction
        if response.status >= 200:
            entry = self._serverTransactions.get(id(request))
            if entry is not None and entry[0] is request:
                del self._serverTransactions[id(request)]
            if response.status < 300 and request.method == "INVITE":
                self._okTransaction = st
        st.respond(response)
        return response

    def _resend(self, effect):
        st = self._okTransaction if effect.response.status >= 200 else self.inviteTransaction
        if st is not None:
            st.respond(effect.response)

    def _sendInDialog(self, request, onResponse=None):
        def gotResponse(response):
            self._incomingResponse(response)
            self._run(self.machine.receiveResponse(response, self._now()))
            if onResponse is not None:
                onResponse(response)

        self.manager.transactions.sendRequest(request, self.destination, gotResponse)

    def _answerReceived(self, effect):
        message = effect.message
        try:
            self.applyAnswer(parseSDP(sdpPart(message.contentType, effect.body) or b""))
        except SDPError as e:
            what = "ACK" if message.isRequest else str(message.status)
            self.log.info("bad SDP answer in {what} of {callId}: {error}", what=what, callId=self.callId,
                          error=str(e))
            if message.isRequest or message.status >= 200:
                if isinstance(e, IncompatibleAnswer):
                    effects = self.machine.answerRejected(self._now(), "Incompatible SDP answer", 88)
                else:
                    effects = self.machine.answerRejected(self._now(), "Bad SDP answer", 111)
                self._run(effects)

    # -- sending -----------------------------------------------------------------------

    def _via(self):
        return self.manager.viaFor(self.destination)

    def contact(self):
        return self.manager.contactFor(self.destination)

    def serverTransaction(self, request):
        """
        The server transaction of C{request}, a request this session received
        and has not answered finally yet (None otherwise).
        """
        entry = self._serverTransactions.get(id(request))
        if entry is not None and entry[0] is request:
            return entry[1]
        return None

    def _track(self, request, st):
        if st is not None and request.method != "ACK":
            self._serverTransactions[id(request)] = (request, st)

    def respond(self, request, status, reason=None, headers=(), body=b"", contentType=None, st=None):
        """
        Answer C{request} on its own server transaction: C{st} when given,
        else the one it arrived on (so a supplement that claimed an in-dialog
        request answers that request, not the INVITE), else the INVITE's.
        """
        effects = self.machine.respond(request, status, reason, headers, body, contentType,
                                       now=self._now())
        return self._run(effects, st=st)

    def sendRequest(self, method, body=b"", contentType=None, headers=(), onResponse=None):
        """A request in the dialog; C{onResponse(response)} gets its responses."""
        if self.dialog is None:
            raise SessionError(f"no dialog to send {method} in")
        request = self.machine.request(method, body=body, contentType=contentType, headers=headers)
        self._sendInDialog(request, onResponse)
        return request

    def startSessionTimer(self, settings):
        """Run the RFC 4028 session timer (a L{channels.sip.machines.invite.SessionTimer}) from now."""
        if self.machine.ended:
            return
        self.machine.startSessionTimer(settings, self._now())
        self._rearm()

    def frameReceived(self, frame):
        """Media handlers deliver frames here; they go to the owner (the channel)."""
        self._tellOwner("sessionFrame", frame)

    # -- UAS ---------------------------------------------------------------------------

    def startIncoming(self, request, st):
        """
        Take the initial INVITE: dialog, supplements. Returns False when a
        supplement claimed the INVITE (and answered it).
        """
        self.inviteTransaction = st
        self._track(request, st)
        self.callId = request.callId
        self.machine.receiveInvite(request, self._now())
        self.manager.add(self)
        self._begin()
        if self._incomingRequest(request):
            if st.responded:
                self._run(self.machine.terminate("claimed"))
            return False
        return True

    def provisional(self, status=180, reason=None, withSDP=False):
        if self.role != "uas" or self.state not in ("incoming", "early"):
            return
        body = self.localSDP.toBytes() if withSDP and self.localSDP is not None else b""
        self.respond(self.invite, status, reason, body=body)

    def answer(self):
        """Send 200 with the SDP answer (or our offer for a late-offer INVITE)."""
        if self.role != "uas" or self.state not in ("incoming", "early"):
            return
        if self.localSDP is None:
            self.createOffer()
        self.respond(self.invite, 200, "OK", body=self.localSDP.toBytes())
        if self.remoteSDP is not None and not self.pendingOffer:
            self.applyStreams()

    def reject(self, status, reason=None, headers=()):
        """A final failure response to the INVITE; ends the session."""
        if self.role != "uas" or self.state not in ("incoming", "early"):
            return
        self.respond(self.invite, status, reason, headers=headers)

    def cancelled(self, cancel):
        """The caller sent CANCEL for our INVITE: 487 and the end of the call."""
        if self.state not in ("incoming", "early"):
            return
        self._incomingRequest(cancel)
        self._run(self.machine.receiveCancel(cancel, self._now()))

    def ackReceived(self, ack):
        self._incomingRequest(ack)
        self._run(self.machine.receiveAck(ack, self._now()))

    # -- UAC ---------------------------------------------------------------------------

    def startOutgoing(self, uri, toUri, fromUri, headers=(), credentials=None):
        """Send the INVITE with our offer; C{credentials} (user, secret) answer 401/407."""
        self.callId = newCallId()
        self.manager.add(self)
        self._begin()
        body = self.createOffer().toBytes()
        invite = outOfDialogRequest(
            "INVITE", uri, self._via(), self.contact(), fromUri, toUri, callId=self.callId, cseq=102,
            fromTag=self.localTag, userAgent=self.manager.userAgentName(),
            headers=[("Allow", self.manager.ALLOW), ("Supported", self.manager.supportedTags()),
                     *headers], body=body)
        self._run(self.machine.startInvite(invite, self._now(), credentials=credentials))

    def _sendInvite(self, invite):
        self._each("outgoingRequest", "INVITE", invite)
        self.inviteTransaction = self.manager.transactions.sendRequest(
            invite, self.destination, self._inviteResponse)

    def _inviteResponse(self, response):
        try:
            invite = self.invite
            if self.machine.ended and not (200 <= response.status < 300):
                return
            self._incomingResponse(response)
            if self.invite is not invite and response.status >= 300:
                return  # a supplement sent the INVITE again (resendInvite): not a failure yet
            self._run(self.machine.receiveResponse(response, self._now()))
        except Exception:
            self.log.failure("handling {status} to INVITE {callId}", status=response.status,
                             callId=self.callId)

    def resendInvite(self, headers=(), remove=()):
        """
        Send our unanswered INVITE again on a new client transaction (new
        branch, CSeq one higher, same Call-ID and From tag), with each
        C{(name, value)} of C{headers} replacing the headers of that name and
        the headers named in C{remove} dropped. This is how a UAC answers a
        failure it can repair: a digest challenge, or a 422 with a higher
        Min-SE (RFC 4028 section 7.4). Called from a supplement's
        C{incomingResponse} for a failure, the session does not end on that
        failure. Returns the new INVITE.
        """
        try:
            effects = self.machine.resendInvite(self._now(), headers=headers, remove=remove)
        except DialogError as e:
            raise SessionError(str(e)) from None
        self._run(effects)
        return self.invite

    def cancel(self):
        """Give up an unanswered outgoing call (CANCEL; BYE if a 200 crosses it)."""
        self._run(self.machine.cancel(self._now()))

    # -- both ---------------------------------------------------------------------------

    def bye(self):
        if self.dialog is None:
            return
        try:
            self.sendRequest("BYE")
        except Exception:
            self.log.failure("could not send BYE for {callId}", callId=self.callId)

    def end(self, cause=16):
        """Hang up this leg whatever its state, telling the far end the right way."""
        if self.machine.ended:
            return
        self._run(self.machine.hangup(cause, self._now(), status=statusForCause(cause)))

    def _finish(self, reason):
        if self._finished:
            return
        self._finished = True
        self.endReason = reason
        for stream in self.streams:
            self._destroyStream(stream)
        self._each("sessionEnd", None)
        for name in list(self.cookies):
            self.removeCookie(name)
        self._each("sessionDestroy", None)
        self.manager.remove(self)

    # -- in-dialog requests ------------------------------------------------------------

    def requestReceived(self, request, st):
        method = request.method
        if method == "ACK":
            self.ackReceived(request)
            return
        self._track(request, st)
        checked = self.machine.checkRequest(request, self._now())
        if checked is not None:
            self._run(checked, st=st)
            return
        if self._incomingRequest(request):
            return
        handler = getattr(self, "sip_" + method, None)
        if handler is None:
            if self._tellOwner("sessionRequest", request, st, default=False):
                return
            self.respond(request, 405, st=st,
                         headers=[("Allow", ", ".join(self.manager.allowedMethods()))])
            return
        handler(request, st)


class SessionManager:
    """
    The INVITE sessions of one SIP stack: finds the session of an in-dialog
    request, a CANCEL or an ACK, and builds Via and Contact for them.
    """

    log = Logger()

    def __init__(self, stack, supplements=None, sdpHandlers=None, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.stack = stack
        self.reactor = reactor
        self.supplementRegistry = supplements
        self.sdpHandlerRegistry = sdpHandlers
        self.sessions: dict[tuple[str, str], InviteSession] = {}
        self._byTransaction: dict[int, InviteSession] = {}
        self._undo = []

    @property
    def transactions(self):
        return self.stack.transactions

    @property
    def userAgent(self):
        return self.stack.userAgent

    @property
    def timers(self):
        return self.stack.transactions.timers

    def userAgentName(self):
        return self.stack.userAgent.userAgent

    ALLOWED = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "MESSAGE", "REFER", "NOTIFY", "UPDATE",
               "PRACK")
    ALLOW = ", ".join(ALLOWED)

    def allowedMethods(self):
        return list(self.ALLOWED)

    def supportedTags(self) -> str:
        """Our option-tags for Supported (100rel, replaces, timer... as loaded)."""
        return ", ".join(sorted(getattr(self.stack.userAgent, "supported", ()) or ()))

    def capabilityHeaders(self):
        return self.stack.userAgent.capabilityHeaders()

    def sdpHandlers(self):
        registry = self.sdpHandlerRegistry
        return registry.snapshot() if registry is not None else ()

    def supplementSnapshot(self):
        registry = self.supplementRegistry
        return registry.snapshot() if registry is not None else ()

    def install(self):
        """Take in-dialog requests and CANCELs from the user agent; returns an undo callable."""
        ua = self.stack.userAgent
        self._undo.append(ua.registerDialogHandler(self.dialogRequest))
        register = getattr(ua, "registerCancelHandler", None)
        if register is not None:
            self._undo.append(register(self.cancelReceived))

        def undo():
            while self._undo:
                self._undo.pop()()

        return undo

    # -- book-keeping -------------------------------------------------------------------

    def newSession(self, role, destination, supplements=None):
        if supplements is None:
            supplements = self.supplementSnapshot()
        return InviteSession(self, role, supplements, destination)

    def add(self, session):
        self.sessions[(session.callId, session.localTag)] = session
        if session.role == "uas" and session.inviteTransaction is not None:
            session.transactionKey = id(session.inviteTransaction)
            self._byTransaction[session.transactionKey] = session

    def remove(self, session):
        if self.sessions.get((session.callId, session.localTag)) is session:
            del self.sessions[(session.callId, session.localTag)]
        key = getattr(session, "transactionKey", None)
        if key is not None and self._byTransaction.get(key) is session:
            del self._byTransaction[key]

    def find(self, callId, localTag):
        return self.sessions.get((callId, localTag))

    # -- from the user agent ------------------------------------------------------------

    def dialogRequest(self, request, st) -> bool:
        """An in-dialog request (To tag) or a 2xx ACK; True when a session took it."""
        session = self.sessions.get((request.callId, request.toTag))
        if session is None:
            return False
        if request.method != "ACK" and session.state == "terminated":
            return False
        try:
            session.requestReceived(request, st)
        except Exception:
            self.log.failure("SIP session failed on {method}", method=request.method)
            if st is not None and not st.responded:
                session.respond(request, 500, "Server Internal Error", st=st)
        return True

    def cancelReceived(self, cancel, inviteTransaction) -> bool:
        session = self._byTransaction.get(id(inviteTransaction))
        if session is None:
            return False
        session.cancelled(cancel)
        return True

    # -- the UAS flow -----------------------------------------------------------------------

    def mediaAcceptable(self, request, st) -> bool:
        """The media pre-check of an INVITE: 415 or 406 already sent when False."""
        return self.stack.userAgent.mediaAcceptable(request, st)

    def incomingCall(self, request, st, peer, codecs, context, dialplan, busy=False):
        """
        Take a new INVITE from an identified caller: a UAS session, 100
        Trying, 486 when C{busy} (its call-limit), the SDP offer parsed and
        negotiated (400, 488), and 404 unless C{dialplan} has the
        Request-URI's extension in C{context}. Returns (session, extension,
        (caller name, number)) for the channel, or None once answered.
        """
        session = self.takeInvite(request, st, peer, codecs, busy)
        if session is None:
            return None
        exten = _unescape(getattr(request.requestURI, "user", None) or "s")
        name, number = remoteIdentity(request)
        if not number and peer is not None:
            name, number = peer.callerid
        if dialplan is None or dialplan.find(context, exten, 1, number or None) is None:
            self.log.info("call from {source} to extension '{exten}' rejected: not in context '{context}'",
                          source=str(st.source), exten=exten, context=context)
            session.reject(404, "Not Found")
            return None
        return session, exten, (name, number)

    def takeInvite(self, request, st, peer, codecs, busy=False):
        """The UAS session of a new INVITE (100 sent, offer negotiated), or None once answered."""
        session = self.newSession("uas", st.source)
        session.peer = peer
        session.codecs = codecs
        try:
            if not session.startIncoming(request, st):
                return None
        except Exception as e:
            self.log.info("cannot take INVITE {callId}: {error}", callId=request.callId, error=str(e))
            self.stack.userAgent.respond(st, request, 400, "Bad Request")
            return None
        session.respond(request, 100, "Trying")
        if busy:
            self.log.info("SIP/{peer}: call-limit of {limit} reached, 486", peer=peer.name,
                          limit=peer.callLimit)
            session.reject(486, "Busy Here")
            return None
        if not self._negotiate(session, request):
            return None
        return session

    def replacedSession(self, replaces):
        """
        The session an INVITE's Replaces names (RFC 3891 §3), or the answer
        that refuses it: 481 for no such dialog or an early dialog we did not
        start, 603 for one that is over, 486 for C{early-only} on a
        confirmed one. Returns (session, None) or (None, (status, reason)).
        """
        session = self.sessions.get((replaces.callId, replaces.toTag))
        dialog = session.dialog if session is not None else None
        if dialog is None or dialog.remoteTag != replaces.fromTag:
            return None, (481, "Call/Transaction Does Not Exist")
        state = session.state
        if state == "terminated":
            return None, (603, "Declined")
        if state == "confirmed":
            if replaces.earlyOnly:
                return None, (486, "Busy Here")
            return session, None
        if session.role == "uas":
            return None, (481, "Call/Transaction Does Not Exist")
        return session, None

    def _negotiate(self, session, request) -> bool:
        body = sdpOf(request) or b""
        if not body:
            return True  # a late offer: ours goes in the 2xx
        try:
            offer = parseSDP(body)
        except SDPError as e:
            self.log.info("bad SDP offer in {callId}: {error}", callId=request.callId, error=str(e))
            session.reject(400, "Bad Request")
            return False
        try:
            session.negotiateOffer(offer)
        except SDPError:
            session.reject(488, "Not Acceptable Here")
            return False
        return True

    # -- addresses -------------------------------------------------------------------------

    def localAddress(self, destination):
        """Our (host, port) towards C{destination} (the stack's one resolver)."""
        return addressesOf(self.stack).localAddress(destination)

    def viaFor(self, destination):
        return addressesOf(self.stack).viaFor(destination)

    def contactFor(self, destination, user="asterisk"):
        return addressesOf(self.stack).contactFor(destination, user)

    def mediaAddress(self, destination):
        return addressesOf(self.stack).mediaAddress(destination)
