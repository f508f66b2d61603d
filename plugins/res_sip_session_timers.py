"""
res_sip_session_timers: SIP session timers (RFC 4028).

A call whose far end vanished without a BYE would otherwise stay up for
ever. With session timers one side (the refresher) re-confirms the session
every half interval (UPDATE when the far end allows it, else a re-INVITE
with the unchanged SDP); the other side hangs up with a BYE when no refresh
came in time (the interval minus min(32 s, interval / 3), section 10).

Settings are chan_sip's, per peer or in [general] of sip.conf:

    session-timers    = accept | originate | refuse   (default accept)
    session-expires   = 1800     our interval, seconds
    session-minse     = 90       the smallest interval we accept (422 below it)
    session-refresher = uas | uac                     (default uas)

C{accept} uses timers when the far end asks for them (and says
C{Supported: timer} on outgoing INVITEs), C{originate} also asks for them on
outgoing INVITEs and imposes them on incoming calls that did not, C{refuse}
ignores them.

The decisions (parse, 422 or not, who refreshes) are the pure functions at
the top; the deadlines, the refresh requests and the BYE on expiry are the
INVITE session machine's (L{channels.sip.machines.invite}), which the
supplement starts with the agreed interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.logger import Logger

from channels.sip.interfaces import SessionSupplement, registerSupplement
from channels.sip.machines.invite import SessionTimer
from pbxcore.api import Module

COOKIE = "res_sip_session_timers"
#: How many 422s an outgoing INVITE answers by asking again (RFC 4028 section 7.4).
RETRY_COOKIE = "res_sip_session_timers.422"
MAX_422_RETRIES = 2
#: RFC 4028 section 4: the smallest Min-SE anyone may ask for.
RFC_MIN_SE = 90
#: Hang up on RECOVERY_ON_TIMER_EXPIRE when the session expires.
EXPIRED_CAUSE = 102


# -- pure --------------------------------------------------------------------

@dataclass(frozen=True)
class TimerSettings:
    mode: str = "accept"
    expires: int = 1800
    minSE: int = RFC_MIN_SE
    refresher: str = "uas"


@dataclass(frozen=True)
class SessionExpires:
    interval: int
    refresher: str | None = None


def parseSessionExpires(value: str | None) -> SessionExpires | None:
    """C{Session-Expires: 1800;refresher=uac} (or its compact form); None if absent or bad."""
    if not value:
        return None
    head, *params = [p.strip() for p in value.split(";")]
    try:
        interval = int(head)
    except ValueError:
        return None
    refresher = None
    for param in params:
        key, _, v = param.partition("=")
        if key.strip().lower() == "refresher" and v.strip().lower() in ("uac", "uas"):
            refresher = v.strip().lower()
    return SessionExpires(interval, refresher) if interval > 0 else None


def parseMinSE(value: str | None) -> int | None:
    try:
        return int((value or "").split(";")[0].strip())
    except ValueError:
        return None


def settingsFrom(extras) -> TimerSettings:
    """Settings from chan_sip's stored keys (peer first, then [general])."""
    values = {}
    for extra in extras:
        for key in ("session-timers", "session-expires", "session-minse", "session-refresher"):
            if key not in values and extra and extra.get(key):
                values[key] = extra[key][-1].strip().lower()
    mode = values.get("session-timers", "accept")
    if mode not in ("accept", "originate", "refuse"):
        mode = "accept"
    refresher = values.get("session-refresher", "uas")
    if refresher not in ("uas", "uac"):
        refresher = "uas"

    def number(key, default):
        try:
            return max(int(values.get(key, default)), 1)
        except ValueError:
            return default

    minSE = number("session-minse", RFC_MIN_SE)
    expires = max(number("session-expires", 1800), minSE)
    return TimerSettings(mode, expires, minSE, refresher)


def answerInvite(settings: TimerSettings, requested: SessionExpires | None,
                 requestMinSE: int | None, supportsTimer: bool):
    """
    What a UAS does with an initial INVITE: ("reject", minSE) for a 422,
    ("use", SessionExpires with the refresher decided) or ("none", None).
    """
    if settings.mode == "refuse":
        return "none", None
    if requested is None:
        if settings.mode != "originate":
            return "none", None
        interval = max(settings.expires, requestMinSE or 0)
        return "use", SessionExpires(interval, "uac" if supportsTimer and settings.refresher == "uac"
                                     else "uas")
    if requested.interval < settings.minSE:
        return "reject", settings.minSE
    refresher = requested.refresher
    if refresher is None:
        refresher = settings.refresher if supportsTimer else "uas"
    if refresher == "uac" and not supportsTimer:
        refresher = "uas"
    return "use", SessionExpires(requested.interval, refresher)


def deadline(now: float, interval: int, weRefresh: bool) -> float:
    """When to act: refresh at half the interval, or expire before its end (section 10)."""
    if weRefresh:
        return now + interval / 2.0
    return now + interval - min(32.0, interval / 3.0)


def supportsTimer(message) -> bool:
    for header in ("Supported", "Require"):
        for value in message.headers.getall(header):
            if "timer" in [v.strip().lower() for v in value.split(",")]:
                return True
    return False


# -- the shell -----------------------------------------------------------------

@dataclass
class TimerState:
    """The session's timer cookie: what was agreed; the deadlines are the session machine's."""

    interval: int
    refresher: str          # "uac" or "uas", from the initial INVITE's point of view
    role: str               # our role in the initial INVITE
    allow: str = ""         # the far end's Allow header
    refreshes: int = 0

    @property
    def weRefresh(self) -> bool:
        return self.refresher == self.role


class SessionTimerSupplement(SessionSupplement):
    """RFC 4028 for INVITE sessions, with UPDATE or re-INVITE refreshes."""

    log = Logger()
    method = None
    priority = 80

    def _settings(self, session) -> TimerSettings:
        peers = getattr(session.manager.stack, "peers", None)
        defaults = peers.config.defaults if peers is not None else None
        return settingsFrom([getattr(session.peer, "extra", None),
                             getattr(defaults, "extra", None)])

    # -- incoming ---------------------------------------------------------------

    def incomingRequest(self, session, request):
        method = request.method
        if method == "INVITE" and session.role == "uas" and session.state == "incoming":
            return self._initialInvite(session, request)
        if method not in ("INVITE", "UPDATE"):
            return False
        requested = parseSessionExpires(request.headers.get("Session-Expires"))
        if requested is not None and session.state == "confirmed":
            settings = self._settings(session)
            if settings.mode != "refuse" and requested.interval < settings.minSE:
                # RFC 4028 section 8.1: a refresh asking for less than our
                # Min-SE is refused; the session keeps its current interval.
                self.log.info("{method} {callId}: Session-Expires {got} below our Min-SE {min}: 422",
                              method=method, callId=request.callId, got=requested.interval,
                              min=settings.minSE)
                session.respond(request, 422, "Session Interval Too Small",
                                headers=[("Min-SE", str(settings.minSE))])
                return True
        state = session.getCookie(COOKIE)
        if state is not None:
            if requested is not None:
                state.interval = requested.interval
                farEnd = "uac" if state.role == "uas" else "uas"
                if requested.refresher == "uac":
                    state.refresher = farEnd
                elif requested.refresher == "uas":
                    state.refresher = state.role
            state.refreshes += 1
        return False

    def _initialInvite(self, session, request):
        settings = self._settings(session)
        requested = parseSessionExpires(request.headers.get("Session-Expires"))
        decision, value = answerInvite(settings, requested,
                                       parseMinSE(request.headers.get("Min-SE")),
                                       supportsTimer(request))
        if decision == "reject":
            self.log.info("INVITE {callId}: Session-Expires {got} below our Min-SE {min}: 422",
                          callId=request.callId, got=requested.interval, min=value)
            session.respond(request, 422, "Session Interval Too Small",
                            headers=[("Min-SE", str(value))])
            return True
        if decision == "use":
            state = TimerState(value.interval, value.refresher, "uas",
                               allow=request.headers.get("Allow") or "")
            session.addCookie(COOKIE, state)
        return False

    def incomingResponse(self, session, response):
        cseq = response.cseq
        if cseq is None:
            return
        if (response.status == 422 and cseq.method == "INVITE" and session.role == "uac"
                and session.state in ("calling", "early")):
            self._retryAfter422(session, response)
            return
        if not 200 <= response.status < 300:
            return
        if cseq.method == "INVITE" and session.role == "uac" and session.getCookie(COOKIE) is None:
            got = parseSessionExpires(response.headers.get("Session-Expires"))
            if got is None:
                return
            state = TimerState(got.interval, got.refresher or "uac", "uac",
                               allow=response.headers.get("Allow") or "")
            session.addCookie(COOKIE, state)
            self._arm(session, state)

    def _retryAfter422(self, session, response):
        """
        RFC 4028 section 7.4: the far end wants a longer interval; send the
        INVITE again with its Min-SE and a Session-Expires at least that.
        """
        settings = self._settings(session)
        wanted = parseMinSE(response.headers.get("Min-SE"))
        if settings.mode == "refuse" or wanted is None:
            return
        invite = session.invite
        sent = parseSessionExpires(invite.headers.get("Session-Expires"))
        sentMinSE = parseMinSE(invite.headers.get("Min-SE")) or 0
        if sent is not None and wanted <= sent.interval:
            return  # retrying would ask for what was just refused
        retries = session.getCookie(RETRY_COOKIE, 0)
        if retries >= MAX_422_RETRIES:
            return
        session.addCookie(RETRY_COOKIE, retries + 1)
        minSE = max(wanted, sentMinSE)
        interval = max(sent.interval if sent is not None else settings.expires, minSE)
        self.log.info("INVITE {callId}: 422 asks for Min-SE {min}: sending it again",
                      callId=session.callId, min=minSE)
        try:
            session.resendInvite(headers=[("Session-Expires", str(interval)), ("Min-SE", str(minSE))])
        except Exception:
            self.log.failure("re-sending INVITE {callId} after 422", callId=session.callId)

    # -- outgoing ---------------------------------------------------------------

    def outgoingRequest(self, session, request):
        if request.method != "INVITE" or session.role != "uac" or session.state == "confirmed":
            return
        settings = self._settings(session)
        if settings.mode == "refuse":
            return
        _addTimerTo(request, "Supported")
        if settings.mode == "originate":
            # An INVITE sent again after a 422 already carries raised values.
            if request.headers.get("Session-Expires") is None:
                request.headers.set("Session-Expires", str(settings.expires))
            if request.headers.get("Min-SE") is None:
                request.headers.set("Min-SE", str(settings.minSE))

    def outgoingResponse(self, session, response):
        state = session.getCookie(COOKIE)
        cseq = response.cseq
        if state is None or cseq is None or response.status != 200:
            return
        if cseq.method not in ("INVITE", "UPDATE"):
            return
        # In a response the refresher is named from the initial INVITE's
        # point of view only for that INVITE; for refreshes sent to us the
        # far end is the request's UAC.
        if cseq.method == "INVITE" and session.state in ("incoming", "early"):
            refresher = state.refresher
        else:
            refresher = "uas" if state.weRefresh else "uac"
        response.headers.set("Session-Expires", f"{state.interval};refresher={refresher}")
        if refresher == "uac":
            _addTimerTo(response, "Require")
        self._arm(session, state)

    # -- timers -----------------------------------------------------------------

    def _arm(self, session, state):
        """
        Hand the agreed interval to the session machine: it refreshes (UPDATE
        when the far end allows it, else a re-INVITE with our SDP, a 491
        retried after RFC 3261 §14.1's back-off) or sends BYE when no refresh
        came in time (section 10).
        """
        settings = self._settings(session)
        session.startSessionTimer(SessionTimer(
            state.interval, state.weRefresh, useUpdate="UPDATE" in state.allow.upper(),
            minSE=settings.minSE))


def _addTimerTo(message, header):
    values = [v.strip() for v in (message.headers.get(header) or "").split(",") if v.strip()]
    if "timer" not in [v.lower() for v in values]:
        values.append("timer")
    message.headers.set(header, ", ".join(values))


class SessionTimersModule(Module):
    """res_sip_session_timers."""

    def load(self, pbx, registrar):
        registerSupplement(pbx, registrar, SessionTimerSupplement(), "res_sip_session_timers")
        # RFC 4028: Supported and Require: timer are understood (never a 420 for them).
        try:
            technology = pbx.registry("technology").get("SIP")
        except KeyError:
            technology = None
        supported = getattr(getattr(getattr(technology, "stack", None), "userAgent", None), "supported", None)
        if supported is not None and "timer" not in supported:
            supported.add("timer")
            registrar.addCleanup(lambda: supported.discard("timer"))
