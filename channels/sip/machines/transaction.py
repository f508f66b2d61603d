"""
The four transaction machines of RFC 3261 section 17, as pure state machines.

Each machine is driven by three kinds of input -- a matching message
(L{receive}), a message from the transaction user (L{start} on the client
side, L{sendResponse} on the server side) and the passage of time
(L{handleTimer}) -- plus a report of a transport failure
(L{transportError}).  Every input returns a list of I{effects}: messages to
put on the wire, messages to deliver to the transaction user, timeout and
transport-failure notices and termination.  The owner re-arms a single timer
to L{nextDeadline} after each call.  Time is a float passed in by the
caller; nothing here touches a reactor or a socket.

Timers keep the letters of RFC 3261 (A to K) and RFC 6026 (L, M).  Over a
reliable transport A, E and G never run and D, I, J and K are zero, which
means the machine terminates at once instead of lingering (RFC 3261,
Table 4).  Two deadlines have no RFC letter: C{Trying}, when the INVITE
server transaction answers 100 (Trying) on its own, and C{Cancel}, 64*T1
after a CANCEL was sent for an INVITE that never got its final response
(RFC 3261, section 9.1).

The module also holds the matching rules: L{serverKey} (section 17.2.3,
including the RFC 2543 fallback), L{clientKey} (section 17.1.3) and
L{cancelTargetKey} (section 9.2), and the builders for the messages a
transaction makes on its own: the ACK for a non-2xx final response
(section 17.1.1.3), CANCEL (section 9.1), the automatic 100 (Trying) and the
locally generated 408 / 503 responses.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Hashable, Optional

from channels.sip.wire.headers import Headers
from channels.sip.wire.grammar import MAGIC_COOKIE
from channels.sip.wire.message import Request, makeResponse

#: How long the INVITE server transaction waits for the transaction user
#: before answering 100 (Trying) itself (RFC 3261, section 17.2.1).
TRYING_DELAY = 0.2


@dataclass(frozen=True)
class Timers:
    """
    The RFC 3261 timer base values, in seconds.  C{d} is Timer D for
    unreliable transports, which RFC 3261 only bounds from below (32 s).
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0

    @property
    def b(self) -> float:
        """Timers B, F, H, J (unreliable), L and M are all 64*T1."""
        return 64 * self.t1


class State(enum.Enum):
    """The states of RFC 3261 figures 5 to 8, with RFC 6026's Accepted."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


# --- effects ---------------------------------------------------------------


@dataclass(frozen=True)
class SendRequest:
    """Put C{request} on the wire towards C{destination}."""

    request: Any
    destination: Any
    retransmission: bool = False


@dataclass(frozen=True)
class SendResponse:
    """
    Put C{response} on the wire; C{destination} is the address the request
    arrived from (the transport follows the Via rules of RFC 3261, 18.2.2).
    """

    response: Any
    destination: Any
    retransmission: bool = False


@dataclass(frozen=True)
class Deliver:
    """Pass C{message} up to the transaction user."""

    message: Any


@dataclass(frozen=True)
class TimedOut:
    """Timer C{timer} (B, F or H) fired: the transaction failed."""

    timer: str


@dataclass(frozen=True)
class TransportFailed:
    """The transport could not send a message (RFC 3261, section 17.1.4 and 17.2.4)."""

    reason: str


@dataclass(frozen=True)
class Terminated:
    """The transaction reached the Terminated state; forget it."""


Effect = SendRequest | SendResponse | Deliver | TimedOut | TransportFailed | Terminated


def isProvisional(status: int) -> bool:
    return 100 <= status < 200


def isSuccess(status: int) -> bool:
    return 200 <= status < 300


# --- the common machinery --------------------------------------------------

# When several timers are due together, the ones that end the transaction
# win over retransmissions.
_PRIORITY = {"B": 0, "F": 0, "H": 0, "D": 1, "I": 1, "J": 1, "K": 1, "L": 1, "M": 1, "Cancel": 1}


class _Transaction:
    """
    Shared bookkeeping: the state, the named deadlines and the timer loop.
    """

    initialState: State

    def __init__(
        self,
        request: Any,
        peer: Any,
        now: float,
        timers: Optional[Timers] = None,
        reliable: Optional[bool] = None,
    ) -> None:
        self.request = request
        self.peer = peer
        self.timers = timers if timers is not None else Timers()
        if reliable is None:
            reliable = bool(getattr(peer, "reliable", False))
        self.reliable = reliable
        self.state = self.initialState
        self.created = now
        self._deadlines: dict[str, float] = {}
        # The current interval of each retransmission timer.
        self._intervals: dict[str, float] = {}

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def nextDeadline(self) -> Optional[float]:
        """The absolute time at which L{handleTimer} must next be called."""
        if not self._deadlines:
            return None
        return min(self._deadlines.values())

    def deadlines(self) -> dict[str, float]:
        """The armed timers by RFC letter, for inspection."""
        return dict(self._deadlines)

    def handleTimer(self, now: float) -> list[Effect]:
        """Fire every timer due at C{now}, earliest first."""
        effects: list[Effect] = []
        while self.state is not State.TERMINATED:
            due = [
                (when, _PRIORITY.get(name, 2), name)
                for name, when in self._deadlines.items()
                if when <= now
            ]
            if not due:
                break
            _, _, name = min(due)
            del self._deadlines[name]
            effects.extend(getattr(self, "_timer" + name)(now))
        return effects

    def becameReliable(self, now: float) -> list[Effect]:
        """
        The transport carried the message over a reliable transport after
        all (a UDP request too large for UDP goes over TCP, RFC 3261 section
        18.1.1): stop the retransmission timers and linger no more.
        """
        self.reliable = True
        self._disarm("A", "E", "G")
        return []

    def transportError(self, now: float, reason: str = "transport error") -> list[Effect]:
        """
        The transport failed to send something this transaction asked for:
        tell the transaction user and terminate.
        """
        if self.state is State.TERMINATED:
            return []
        return [TransportFailed(reason)] + self._terminate()

    def _arm(self, name: str, now: float, delay: float) -> None:
        self._deadlines[name] = now + delay

    def _disarm(self, *names: str) -> None:
        for name in names:
            self._deadlines.pop(name, None)
            self._intervals.pop(name, None)

    def _startRetransmit(self, name: str, now: float, interval: float) -> None:
        self._intervals[name] = interval
        self._arm(name, now, interval)

    def _terminate(self) -> list[Effect]:
        self.state = State.TERMINATED
        self._deadlines.clear()
        self._intervals.clear()
        return [Terminated()]

    def _linger(self, name: str, now: float, delay: float) -> list[Effect]:
        """Wait C{delay} in the current state (zero means terminate now)."""
        if delay <= 0:
            return self._terminate()
        self._arm(name, now, delay)
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.value} {self.request.method}>"


# --- client transactions ---------------------------------------------------


class InviteClientTransaction(_Transaction):
    """
    RFC 3261 section 17.1.1, with the Accepted state of RFC 6026: after a 2xx
    the transaction stays for 64*T1 so that 2xx retransmissions and 2xx from
    other forks still match it and reach the transaction user, which
    acknowledges them.
    """

    initialState = State.CALLING

    def __init__(self, request, destination, now, timers=None, reliable=None) -> None:
        super().__init__(request, destination, now, timers, reliable)
        self.ack: Optional[Any] = None
        self.lastResponse: Optional[Any] = None
        self._cancelSent = False

    @property
    def destination(self) -> Any:
        return self.peer

    def start(self, now: float) -> list[Effect]:
        """Send the INVITE and arm Timers A and B."""
        if not self.reliable:
            self._startRetransmit("A", now, self.timers.t1)
        self._arm("B", now, self.timers.b)
        return [SendRequest(self.request, self.peer)]

    def receive(self, response: Any, now: float) -> list[Effect]:
        status = response.status
        state = self.state
        if state in (State.CALLING, State.PROCEEDING):
            self.lastResponse = response
            if isProvisional(status):
                self._disarm("A", "B")
                self.state = State.PROCEEDING
                return [Deliver(response)]
            if isSuccess(status):
                self._disarm("A", "B", "Cancel")
                self.state = State.ACCEPTED
                self._arm("M", now, self.timers.b)
                return [Deliver(response)]
            self._disarm("A", "B", "Cancel")
            self.state = State.COMPLETED
            self.ack = makeAck(self.request, response)
            effects: list[Effect] = [SendRequest(self.ack, self.peer), Deliver(response)]
            return effects + self._linger("D", now, 0 if self.reliable else self.timers.d)
        if state is State.COMPLETED and status >= 300:
            # A retransmitted final response: the ACK was lost.
            return [SendRequest(self.ack, self.peer, retransmission=True)]
        if state is State.ACCEPTED and isSuccess(status):
            return [Deliver(response)]
        return []

    def cancelSent(self, now: float) -> list[Effect]:
        """
        A CANCEL for this INVITE went out.  If no final response arrives
        within 64*T1 the transaction gives up (RFC 3261, section 9.1) and
        reports a timeout named C{Cancel}.
        """
        if self.state in (State.CALLING, State.PROCEEDING) and not self._cancelSent:
            self._cancelSent = True
            self._arm("Cancel", now, self.timers.b)
        return []

    def _timerA(self, now: float) -> list[Effect]:
        interval = self._intervals["A"] * 2
        self._startRetransmit("A", now, interval)
        return [SendRequest(self.request, self.peer, retransmission=True)]

    def _timerB(self, now: float) -> list[Effect]:
        return [TimedOut("B")] + self._terminate()

    def _timerCancel(self, now: float) -> list[Effect]:
        return [TimedOut("Cancel")] + self._terminate()

    def _timerD(self, now: float) -> list[Effect]:
        return self._terminate()

    def _timerM(self, now: float) -> list[Effect]:
        return self._terminate()


class NonInviteClientTransaction(_Transaction):
    """RFC 3261 section 17.1.2."""

    initialState = State.TRYING

    def __init__(self, request, destination, now, timers=None, reliable=None) -> None:
        super().__init__(request, destination, now, timers, reliable)
        self.lastResponse: Optional[Any] = None

    @property
    def destination(self) -> Any:
        return self.peer

    def start(self, now: float) -> list[Effect]:
        """Send the request and arm Timers E and F."""
        if not self.reliable:
            self._startRetransmit("E", now, self.timers.t1)
        self._arm("F", now, self.timers.b)
        return [SendRequest(self.request, self.peer)]

    def receive(self, response: Any, now: float) -> list[Effect]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            # Completed absorbs retransmitted finals.
            return []
        self.lastResponse = response
        if isProvisional(response.status):
            self.state = State.PROCEEDING
            return [Deliver(response)]
        self._disarm("E", "F")
        self.state = State.COMPLETED
        return [Deliver(response)] + self._linger("K", now, 0 if self.reliable else self.timers.t4)

    def _timerE(self, now: float) -> list[Effect]:
        if self.state is State.PROCEEDING:
            interval = self.timers.t2
        else:
            interval = min(self._intervals["E"] * 2, self.timers.t2)
        self._startRetransmit("E", now, interval)
        return [SendRequest(self.request, self.peer, retransmission=True)]

    def _timerF(self, now: float) -> list[Effect]:
        return [TimedOut("F")] + self._terminate()

    def _timerK(self, now: float) -> list[Effect]:
        return self._terminate()


# --- server transactions ---------------------------------------------------


class InviteServerTransaction(_Transaction):
    """
    RFC 3261 section 17.2.1, with the Accepted state of RFC 6026: after the
    transaction user sends a 2xx the transaction absorbs retransmitted
    INVITEs for 64*T1, passes further 2xx from the transaction user to the
    wire (it never retransmits them itself) and hands a matching ACK up.

    Unless C{autoTrying} is false, a 100 (Trying) goes out by itself if the
    transaction user has not responded within L{TRYING_DELAY}; that moment
    is one of the machine's deadlines (named C{Trying}).
    """

    initialState = State.PROCEEDING

    def __init__(
        self, request, source, now, timers=None, reliable=None, autoTrying: bool = True
    ) -> None:
        super().__init__(request, source, now, timers, reliable)
        self.lastProvisional: Optional[Any] = None
        self.finalResponse: Optional[Any] = None
        if autoTrying:
            self._arm("Trying", now, TRYING_DELAY)

    @property
    def source(self) -> Any:
        return self.peer

    @property
    def responded(self) -> bool:
        """Whether a final response has been sent."""
        return self.finalResponse is not None

    def start(self, now: float) -> list[Effect]:
        """Hand the new INVITE to the transaction user."""
        return [Deliver(self.request)]

    def receive(self, request: Any, now: float) -> list[Effect]:
        method = request.method
        state = self.state
        if method == "ACK":
            if state is State.COMPLETED:
                self._disarm("G", "H")
                self.state = State.CONFIRMED
                return self._linger("I", now, 0 if self.reliable else self.timers.t4)
            if state is State.ACCEPTED:
                return [Deliver(request)]
            return []
        if method != "INVITE":
            return []
        if state is State.PROCEEDING and self.lastProvisional is not None:
            return [SendResponse(self.lastProvisional, self.peer, retransmission=True)]
        if state is State.COMPLETED:
            return [SendResponse(self.finalResponse, self.peer, retransmission=True)]
        return []

    def sendResponse(self, response: Any, now: float) -> list[Effect]:
        """
        The transaction user responds.  Returns no effects for a response the
        state forbids (anything after a non-2xx final, or a non-2xx after a
        2xx), which the owner should report as a transaction user error.
        """
        status = response.status
        state = self.state
        if state is State.PROCEEDING:
            self._disarm("Trying")
            if isProvisional(status):
                self.lastProvisional = response
                return [SendResponse(response, self.peer)]
            self.finalResponse = response
            if isSuccess(status):
                self.state = State.ACCEPTED
                self._arm("L", now, self.timers.b)
                return [SendResponse(response, self.peer)]
            self.state = State.COMPLETED
            if not self.reliable:
                self._startRetransmit("G", now, self.timers.t1)
            self._arm("H", now, self.timers.b)
            return [SendResponse(response, self.peer)]
        if state is State.ACCEPTED and isSuccess(status):
            return [SendResponse(response, self.peer, retransmission=True)]
        return []

    def _timerTrying(self, now: float) -> list[Effect]:
        if self.state is not State.PROCEEDING or self.lastProvisional is not None:
            return []
        trying = makeResponse(self.request, 100)
        self.lastProvisional = trying
        return [SendResponse(trying, self.peer)]

    def _timerG(self, now: float) -> list[Effect]:
        interval = min(self._intervals["G"] * 2, self.timers.t2)
        self._startRetransmit("G", now, interval)
        return [SendResponse(self.finalResponse, self.peer, retransmission=True)]

    def _timerH(self, now: float) -> list[Effect]:
        return [TimedOut("H")] + self._terminate()

    def _timerI(self, now: float) -> list[Effect]:
        return self._terminate()

    def _timerL(self, now: float) -> list[Effect]:
        return self._terminate()


class NonInviteServerTransaction(_Transaction):
    """RFC 3261 section 17.2.2."""

    initialState = State.TRYING

    def __init__(self, request, source, now, timers=None, reliable=None) -> None:
        super().__init__(request, source, now, timers, reliable)
        self.lastProvisional: Optional[Any] = None
        self.finalResponse: Optional[Any] = None

    @property
    def source(self) -> Any:
        return self.peer

    @property
    def responded(self) -> bool:
        return self.finalResponse is not None

    def start(self, now: float) -> list[Effect]:
        """Hand the new request to the transaction user."""
        return [Deliver(self.request)]

    def receive(self, request: Any, now: float) -> list[Effect]:
        if self.state is State.PROCEEDING:
            return [SendResponse(self.lastProvisional, self.peer, retransmission=True)]
        if self.state is State.COMPLETED:
            return [SendResponse(self.finalResponse, self.peer, retransmission=True)]
        # Trying (nothing to resend yet) and Terminated absorb it.
        return []

    def sendResponse(self, response: Any, now: float) -> list[Effect]:
        """The transaction user responds; anything after the final is refused (no effects)."""
        if self.state not in (State.TRYING, State.PROCEEDING):
            return []
        if isProvisional(response.status):
            self.state = State.PROCEEDING
            self.lastProvisional = response
            return [SendResponse(response, self.peer)]
        self.state = State.COMPLETED
        self.finalResponse = response
        return [SendResponse(response, self.peer)] + self._linger(
            "J", now, 0 if self.reliable else self.timers.b
        )

    def _timerJ(self, now: float) -> list[Effect]:
        return self._terminate()


ClientTransactionMachine = InviteClientTransaction | NonInviteClientTransaction
ServerTransactionMachine = InviteServerTransaction | NonInviteServerTransaction


# --- matching --------------------------------------------------------------


def hasMagicCookie(branch: Optional[str]) -> bool:
    """Whether a branch was made by an RFC 3261 element (section 8.1.1.7)."""
    return bool(branch) and branch.startswith(MAGIC_COOKIE)


def _defaultPort(transport: Optional[str]) -> int:
    return 5061 if (transport or "").upper() in ("TLS", "WSS") else 5060


def _sentBy(via: Any) -> tuple[str, int]:
    port = via.port
    if port is None:
        port = _defaultPort(getattr(via, "transport", None))
    return (via.host.lower(), port)


def _topViaText(message: Any) -> str:
    """The top Via value, whitespace-normalised, for RFC 2543 comparisons."""
    values = message.headers.getall("Via")
    return " ".join(values[0].split()) if values else ""


def serverKey(request: Any) -> Hashable:
    """
    The key of the server transaction C{request} belongs to (RFC 3261,
    section 17.2.3).

    With an RFC 3261 branch: branch, sent-by and method, where ACK counts as
    INVITE (it belongs to the INVITE transaction) and CANCEL keeps its own
    method (it is a transaction of its own).  Without the magic cookie the
    RFC 2543 rules apply: for INVITE and ACK the key leaves out the To tag,
    which L{serverMatches} checks against the right message; for other
    methods it includes it.
    """
    via = request.topVia
    method = request.method
    if method == "ACK":
        method = "INVITE"
    if hasMagicCookie(via.branch):
        return ("3261", via.branch, _sentBy(via), method)
    common = (str(request.uri), request.fromTag, request.callId, request.cseq.number, _topViaText(request))
    if method == "INVITE":
        return ("2543", "INVITE") + common
    return ("2543", method, request.toTag) + common


def cancelTargetKey(cancel: Any) -> Hashable:
    """
    The key of the INVITE server transaction a CANCEL cancels (RFC 3261,
    section 9.2): the CANCEL's own key with the method INVITE.  For RFC 2543
    requests L{cancelMatches} must also hold.
    """
    via = cancel.topVia
    if hasMagicCookie(via.branch):
        return ("3261", via.branch, _sentBy(via), "INVITE")
    return ("2543", "INVITE", str(cancel.uri), cancel.fromTag, cancel.callId,
            cancel.cseq.number, _topViaText(cancel))


def serverMatches(machine: Any, request: Any) -> bool:
    """
    The part of RFC 2543 matching a dictionary key cannot do: a
    retransmitted INVITE carries the To tag of the original INVITE, an ACK
    carries the To tag of the response the transaction sent.  Requests with
    an RFC 3261 branch always pass.
    """
    if hasMagicCookie(request.topVia.branch):
        return True
    if request.method == "ACK":
        final = getattr(machine, "finalResponse", None)
        return final is not None and request.toTag == final.toTag
    return request.toTag == machine.request.toTag


def cancelMatches(machine: Any, cancel: Any) -> bool:
    """RFC 2543 CANCEL matching: the To tag equals the INVITE's (none, usually)."""
    if hasMagicCookie(cancel.topVia.branch):
        return True
    return cancel.toTag == machine.request.toTag


def clientKey(message: Any) -> Hashable:
    """
    The key of the client transaction a response belongs to, or that a
    request creates (RFC 3261, section 17.1.3): top Via branch and CSeq
    method.  A CANCEL shares its INVITE's branch but not its method.
    """
    return (message.topVia.branch, message.cseq.method)


# --- messages a transaction makes itself -----------------------------------


def makeLocalResponse(request: Any, status: int, reason: Optional[str] = None) -> Any:
    """
    A response made on the far end's behalf (the 408 for Timer B or F, the
    503 for a transport failure), marked with C{local = True} so the TU can
    tell it from one that came over the wire.
    """
    response = makeResponse(request, status, reason)
    response.local = True
    return response


def _copyLines(source: Any, target: Any, name: str) -> None:
    for value in source.headers.rawValues(name):
        target.add(name, value)


def makeAck(request: Any, response: Any) -> Any:
    """
    The ACK for a non-2xx final response (RFC 3261, section 17.1.1.3): the
    Request-URI, top Via, From, Call-ID and Route of the INVITE, the To of
    the response (with its tag), and the INVITE's CSeq number with ACK.
    """
    headers = Headers()
    vias = request.headers.getall("Via")
    headers.add("Via", vias[0])
    headers.add("Max-Forwards", request.headers.get("Max-Forwards") or "70")
    _copyLines(request, headers, "Route")
    headers.add("From", request.headers.get("From"))
    headers.add("To", response.headers.get("To"))
    headers.add("Call-ID", request.headers.get("Call-ID"))
    headers.add("CSeq", f"{request.cseq.number} ACK")
    headers.add("Content-Length", "0")
    return Request("ACK", request.uri, headers, b"", request.version)


def makeCancel(request: Any) -> Any:
    """
    The CANCEL for a pending request (RFC 3261, section 9.1): same
    Request-URI, Call-ID, From, To and CSeq number, the request's top Via
    only (so the same branch) and its Route set.
    """
    headers = Headers()
    vias = request.headers.getall("Via")
    headers.add("Via", vias[0])
    headers.add("Max-Forwards", request.headers.get("Max-Forwards") or "70")
    _copyLines(request, headers, "Route")
    headers.add("From", request.headers.get("From"))
    headers.add("To", request.headers.get("To"))
    headers.add("Call-ID", request.headers.get("Call-ID"))
    headers.add("CSeq", f"{request.cseq.number} CANCEL")
    headers.add("Content-Length", "0")
    return Request("CANCEL", request.uri, headers, b"", request.version)
