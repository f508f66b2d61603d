"""
The transaction manager: the shell that owns the RFC 3261 transaction
machines of L{channels.sip.machines.transaction}, matches every incoming message to
one of them, runs their effects against a transport and a transaction user
(TU), and keeps one reactor timer for all of them: a heap of deadlines and
one C{callLater} re-armed to the earliest, so that tens of thousands of
lingering transactions cost no reactor calls of their own.

A non-INVITE server transaction that completed over an unreliable transport
only has to absorb retransmissions of its request for Timer J (64*T1).  For
that time the manager keeps just the bytes of the final response, keyed like
the transaction, instead of the request, the response and the machine; a
retransmission is answered with those bytes.

Retransmissions are absorbed here: the TU sees a request once, a response
once per machine delivery, and never a retransmitted final.

Locally generated failures reach C{onResponse} as responses made here, with
the attribute C{local} set to C{True} (responses from the wire have no such
attribute, or C{False}; test with C{getattr(response, "local", False)}):

  - Timer B or F expiring, or a CANCEL left unanswered by a final response
    for 64*T1: C{408 Request Timeout};
  - the transport failing to send: C{503 Service Unavailable}
    (RFC 3261, section 8.1.3.1 treats both like these responses).

A client transaction delivers at most one non-2xx final response; the local
ones are only made if no final response was delivered before.

The manager is also the transport's receiver: besides C{messageReceived} it
takes C{transportError(destination, failure)} for sends that failed after
they were handed over.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from channels.sip.net.address import RELIABLE
from channels.sip.net.stats import SIPCounters
from channels.sip.wire.message import SIPParseError, makeResponse, newTag
from channels.sip.wire.parser import parseMessage
from channels.sip.machines.transaction import (
    Deliver,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    SendRequest,
    SendResponse,
    State,
    Terminated,
    TimedOut,
    Timers,
    TransportFailed,
    cancelMatches,
    cancelTargetKey,
    clientKey,
    makeCancel,
    makeLocalResponse,
    serverKey,
    serverMatches,
)


def _viaIsReliable(request: Any) -> bool:
    """Whether the transport rewrote the top Via to a reliable transport."""
    via = request.topVia
    return via is not None and via.transport.upper() in RELIABLE


def _ignore(*args: Any) -> None:
    """The response callback of a forgotten client transaction."""


class TransportError(Exception):
    """
    A transport could not send a message (no route, connection refused or
    lost, ICMP error...).  Raised by C{transport.send} / C{sendResponse} or
    carried by the Deferred they return.
    """


class ServerTransaction:
    """
    The TU's handle on a server transaction: the request, where it came
    from, and L{respond}.  C{cancelled} is set when a matching CANCEL
    arrived while the INVITE was still unanswered.
    """

    def __init__(self, manager: "TransactionManager", machine: Any, key: Any) -> None:
        self._manager = manager
        self.machine = machine
        self.key = key
        self.request = machine.request
        self.source = machine.source
        self.cancelled = False
        self.failure: Optional[str] = None
        self.deadline: Optional[float] = None
        # Set when the manager keeps only the final response's bytes: the
        # machine is no longer driven, and Timer J ends it at this time.
        self.lingerUntil: Optional[float] = None
        # (response, bytes) of the last final response sent, so that keeping
        # it for Timer J does not serialise it again.
        self.finalBytes: Optional[tuple[Any, bytes]] = None

    @property
    def state(self) -> State:
        until = self.lingerUntil
        if until is not None and self._manager.now() >= until:
            return State.TERMINATED
        return self.machine.state

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    @property
    def responded(self) -> bool:
        """Whether a final response went out."""
        return self.machine.responded

    @property
    def toTag(self) -> Optional[str]:
        """The To tag of the last response sent, if any carried one."""
        for response in (self.machine.finalResponse, self.machine.lastProvisional):
            if response is not None and response.toTag:
                return response.toTag
        return None

    def respond(self, response: Any) -> bool:
        """
        Send C{response} through the transaction.  Returns C{False} (and
        logs) when the transaction's state forbids it, e.g. a second final.
        """
        return self._manager.respond(self, response)

    def __repr__(self) -> str:
        return f"<ServerTransaction {self.request.method} {self.state.value}>"


class ClientTransaction:
    """
    The TU's handle on a client transaction: the request and its
    destination.  C{cancelTransaction} is the CANCEL's own client
    transaction once one was sent.
    """

    def __init__(
        self,
        manager: "TransactionManager",
        machine: Any,
        key: Any,
        onResponse: Callable[[Any], object],
    ) -> None:
        self._manager = manager
        self.machine = machine
        self.key = key
        self.request = machine.request
        self.destination = machine.destination
        self.onResponse = onResponse
        self.finalDelivered = False
        self.cancelPending = False
        self.cancelTransaction: Optional[ClientTransaction] = None
        self.onCancelResponse: Optional[Callable[[Any], object]] = None
        self.deadline: Optional[float] = None

    @property
    def state(self) -> State:
        return self.machine.state

    @property
    def terminated(self) -> bool:
        return self.machine.terminated

    def __repr__(self) -> str:
        return f"<ClientTransaction {self.request.method} {self.state.value}>"


class TransactionTimers:
    """
    The one timer of a L{TransactionManager}: a heap of the deadlines of
    every transaction and one reactor call for the earliest, and the record
    of the final responses kept until Timer J once their non-INVITE server
    transactions are forgotten.
    """

    def _rearm(self, handle: Any) -> None:
        if getattr(handle, "lingerUntil", None) is not None:
            return  # absorbed: only its record remains
        machine = handle.machine
        if machine.state is State.COMPLETED and isinstance(machine, NonInviteServerTransaction):
            if not machine.reliable and self._absorb(handle):
                return
        deadline = None if machine.state is State.TERMINATED else machine.nextDeadline()
        if deadline == handle.deadline:
            return
        handle.deadline = deadline
        if deadline is not None:
            heapq.heappush(self._heap, (deadline, next(self._sequence), handle))
            self._schedule(deadline)

    def _absorb(self, handle: ServerTransaction) -> bool:
        """
        Keep only the final response's bytes until Timer J; forget the
        transaction itself.
        """
        deadline = handle.machine.nextDeadline()
        response = handle.machine.finalResponse
        if deadline is None or response is None or self._servers.get(handle.key) is not handle:
            return False
        kept = handle.finalBytes
        data = kept[1] if kept is not None and kept[0] is response else response.toBytes()
        handle.finalBytes = None
        forget = getattr(handle.source, "forgetRoute", None)
        if forget is not None:
            forget()  # retransmissions arrive with a memo of their own
        del self._servers[handle.key]
        handle.deadline = None
        handle.lingerUntil = deadline
        self._absorbing[handle.key] = (deadline, data)
        heapq.heappush(self._heap, (deadline, next(self._sequence), None, handle.key))
        self._schedule(deadline)
        return True

    def _resend(self, data: bytes, source: Any) -> None:
        """Answer a retransmission absorbed after the transaction completed."""
        self.counters.retransmissions += 1
        response = parseMessage(data, validate=False)
        sendBytes = self._sendResponseBytes
        try:
            if sendBytes is not None:
                result = sendBytes(response, data, source)
            else:
                result = self._transport.sendResponse(response, source)
        except TransportError as e:
            self.log.warn("Could not resend a response to {source}: {error}",
                          source=str(source), error=str(e))
            return
        if isinstance(result, Deferred):
            result.addErrback(
                lambda f: self.log.failure("Could not resend a response to {source}",
                                           f, source=str(source))
            )

    def _schedule(self, deadline: float) -> None:
        """Make the one reactor call happen no later than C{deadline}."""
        at = self._callAt
        if at is not None and at <= deadline:
            return
        call = self._call
        delay = max(0.0, deadline - self.now())
        if call is not None and call.active():
            call.reset(delay)
        else:
            self._call = self._reactor.callLater(delay, self._timerFired)
        self._callAt = deadline

    def _timerFired(self) -> None:
        self._call = None
        self._callAt = None
        heap = self._heap
        now = self.now()
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            handle = entry[2]
            if handle is None:
                key = entry[3]
                record = self._absorbing.get(key)
                if record is not None and record[0] == entry[0]:
                    del self._absorbing[key]
                continue
            if handle.deadline != entry[0]:
                continue  # superseded by a later deadline
            handle.deadline = None
            try:
                self._run(handle, handle.machine.handleTimer(now))
            except Exception:
                self.log.failure("Error running SIP transaction timers for {handle!r}", handle=handle)
        self._dropStale()
        if heap:
            self._schedule(heap[0][0])

    def _dropStale(self) -> None:
        """Pop superseded entries from the top so they cause no wake-up."""
        heap = self._heap
        absorbing = self._absorbing
        while heap:
            entry = heap[0]
            handle = entry[2]
            if handle is None:
                record = absorbing.get(entry[3])
                if record is not None and record[0] == entry[0]:
                    return
            elif handle.deadline == entry[0]:
                return
            heapq.heappop(heap)


class TransactionManager(TransactionTimers):
    """
    Matches messages to transactions and runs them.

    C{transport} provides C{send(request, destination)} and
    C{sendResponse(response, source)}; either may raise L{TransportError} or
    return a Deferred that fails with it.

    C{user}, the TU, provides C{requestReceived(request, serverTransaction)},
    C{ackReceived(ack, source)} (ACKs matching no transaction: the ACK to a
    2xx), C{strayResponse(response, source)} (responses matching no client
    transaction) and optionally C{cancelReceived(cancel,
    inviteServerTransaction)} and C{serverTransactionFailed(
    serverTransaction, reason)} (Timer H or a transport error).  Without
    C{cancelReceived}, a cancelled INVITE is answered 487 here.

    With C{autoTrying} (the default) an INVITE the TU leaves unanswered for
    200 ms gets a 100 (Trying) from its transaction.
    """

    log = Logger()

    def __init__(
        self,
        transport: Any,
        user: Any,
        reactor: Any = None,
        timers: Optional[Timers] = None,
        autoTrying: bool = True,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as globalReactor

            reactor = globalReactor
        self._transport = transport
        self._user = user
        self._reactor = reactor
        self.timers = timers if timers is not None else Timers()
        self.autoTrying = autoTrying
        self._servers: dict[Any, ServerTransaction] = {}
        self._clients: dict[Any, ClientTransaction] = {}
        # Completed non-INVITE server transactions: key -> (Timer J, bytes).
        self._absorbing: dict[Any, tuple[float, bytes]] = {}
        # The one timer: entries (deadline, sequence, handle) or
        # (deadline, sequence, None, key) for an absorbing record; an entry
        # whose deadline is no longer its owner's is skipped when due.
        self._heap: list[tuple] = []
        self._sequence = itertools.count()
        self._call: Any = None
        self._callAt: Optional[float] = None
        # A transport that sends bytes serialised here lets a final response
        # be serialised once for the wire and for Timer J.
        self._sendResponseBytes = getattr(transport, "sendResponseBytes", None)
        #: What /metrics reads; the transport's own when it counts.
        self.counters = getattr(transport, "counters", None) or SIPCounters()

    # --- inspection ---------------------------------------------------------

    @property
    def serverTransactions(self) -> list[ServerTransaction]:
        return list(self._servers.values())

    @property
    def clientTransactions(self) -> list[ClientTransaction]:
        return list(self._clients.values())

    def now(self) -> float:
        """The reactor's time: the clock every transaction deadline is on."""
        return self._reactor.seconds()

    def stop(self) -> None:
        """
        Stop the timer (the transport is going away); transactions are
        kept for inspection but no longer run.
        """
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self._callAt = None

    # --- input from the transport -------------------------------------------

    def messageReceived(self, message: Any, source: Any) -> None:
        """Route one parsed message from C{source} to its transaction or the TU."""
        try:
            if message.topVia is None or message.cseq is None:
                self.log.warn(
                    "Dropping a SIP message without Via or CSeq from {source}",
                    source=str(source),
                )
                return
            self.counters.received(message)
            if message.isRequest:
                self._requestReceived(message, source)
            else:
                self._responseReceived(message, source)
        except SIPParseError as e:
            self.log.warn(
                "Dropping a SIP message from {source}: {error}", source=str(source), error=str(e)
            )
        except Exception:
            self.log.failure(
                "Error handling a SIP message from {source}", source=str(source)
            )

    def transportError(self, destination: Any, failure: Any) -> None:
        """
        A send to C{destination} failed after C{send} or C{sendResponse}
        returned (a name that did not resolve, a connection refused), and
        the transport can only say where it was going.  Every transaction
        still waiting on that address fails: client transactions without a
        response yet (the TU gets the local 503) and unfinished server
        transactions whose responses go there.  A completed non-INVITE
        server transaction kept only as its response's bytes has nothing
        left to report and is not told.
        """
        reason = failure.getErrorMessage() if isinstance(failure, Failure) else str(failure)
        now = self.now()
        for handle in list(self._clients.values()):
            if handle.destination == destination and handle.state in (State.CALLING, State.TRYING):
                self._run(handle, handle.machine.transportError(now, reason))
        for handle in list(self._servers.values()):
            if handle.source == destination and handle.state in (
                State.PROCEEDING, State.COMPLETED, State.ACCEPTED
            ):
                self._run(handle, handle.machine.transportError(now, reason))

    def _requestReceived(self, request: Any, source: Any) -> None:
        key = serverKey(request)
        handle = self._servers.get(key)
        if handle is not None and serverMatches(handle.machine, request):
            self._run(handle, handle.machine.receive(request, self.now()))
            return
        absorbed = self._absorbing.get(key)
        if absorbed is not None:
            self._resend(absorbed[1], source)
            return
        if request.method == "ACK":
            self._callUser("ackReceived", request, source)
            return
        if request.method == "CANCEL":
            self._cancelReceived(request, source, key)
            return
        now = self.now()
        if request.method == "INVITE":
            machine = InviteServerTransaction(
                request, source, now, self.timers, autoTrying=self.autoTrying
            )
        else:
            machine = NonInviteServerTransaction(request, source, now, self.timers)
        handle = ServerTransaction(self, machine, key)
        self._servers[key] = handle
        self.counters.serverTransactions += 1
        self._run(handle, machine.start(now))

    def _cancelReceived(self, cancel: Any, source: Any, key: Any) -> None:
        now = self.now()
        machine = NonInviteServerTransaction(cancel, source, now, self.timers)
        handle = ServerTransaction(self, machine, key)
        self._servers[key] = handle
        target = self._servers.get(cancelTargetKey(cancel))
        if (
            target is None
            or target.terminated
            or not isinstance(target.machine, InviteServerTransaction)
            or not cancelMatches(target.machine, cancel)
        ):
            self.respond(handle, makeResponse(cancel, 481, toTag=newTag()))
            return
        # RFC 3261, section 9.2: the CANCEL gets a 200 whatever became of the
        # INVITE, with the To tag the INVITE's responses carry.
        tag = target.toTag or newTag()
        self.respond(handle, makeResponse(cancel, 200, toTag=tag))
        if target.state is not State.PROCEEDING or target.cancelled:
            return
        target.cancelled = True
        if getattr(self._user, "cancelReceived", None) is not None:
            self._callUser("cancelReceived", cancel, target)
        else:
            self.respond(target, makeResponse(target.request, 487, toTag=tag))

    def _responseReceived(self, response: Any, source: Any) -> None:
        handle = self._clients.get(clientKey(response))
        if handle is None:
            self._callUser("strayResponse", response, source)
            return
        self._run(handle, handle.machine.receive(response, self.now()))

    # --- input from the TU --------------------------------------------------

    def sendRequest(
        self, request: Any, destination: Any, onResponse: Callable[[Any], object]
    ) -> ClientTransaction:
        """
        Start a client transaction for C{request}.  C{onResponse} gets every
        provisional and final response, including the local 408 / 503
        described in the module docstring.  An ACK is not a transaction:
        use L{sendAck}.
        """
        if request.method == "ACK":
            raise ValueError("an ACK is not sent in a transaction; use sendAck")
        key = clientKey(request)
        if key in self._clients:
            raise ValueError(f"a client transaction with key {key!r} already exists")
        now = self.now()
        if request.method == "INVITE":
            machine = InviteClientTransaction(request, destination, now, self.timers)
        else:
            machine = NonInviteClientTransaction(request, destination, now, self.timers)
        handle = ClientTransaction(self, machine, key, onResponse)
        self._clients[key] = handle
        self.counters.clientTransactions += 1
        self._run(handle, machine.start(now))
        return handle

    def sendAck(self, ack: Any, destination: Any) -> None:
        """Send the ACK for a 2xx, which lives outside any transaction."""
        try:
            result = self._transport.send(ack, destination)
        except TransportError as e:
            self.log.warn("Could not send ACK to {destination}: {error}",
                          destination=str(destination), error=str(e))
            return
        if isinstance(result, Deferred):
            result.addErrback(
                lambda f: self.log.failure("Could not send ACK to {destination}",
                                           f, destination=str(destination))
            )

    def cancel(
        self,
        transaction: ClientTransaction,
        onResponse: Optional[Callable[[Any], object]] = None,
    ) -> Optional[ClientTransaction]:
        """
        Cancel a pending INVITE (RFC 3261, section 9.1).  The CANCEL goes out
        only once a provisional response arrived: before that it is held and
        sent with the first provisional (and dropped if a final comes
        first).  Returns the CANCEL's client transaction, or None if it was
        held or is pointless (the INVITE already has its final response).
        C{onResponse} receives the responses to the CANCEL itself.
        """
        if not isinstance(transaction.machine, InviteClientTransaction):
            raise ValueError("only an INVITE client transaction can be cancelled")
        if transaction.cancelTransaction is not None:
            return transaction.cancelTransaction
        transaction.onCancelResponse = onResponse
        state = transaction.state
        if state is State.PROCEEDING:
            return self._sendCancel(transaction)
        if state is State.CALLING:
            transaction.cancelPending = True
        return None

    def _sendCancel(self, transaction: ClientTransaction) -> ClientTransaction:
        transaction.cancelPending = False
        callback = transaction.onCancelResponse or self._cancelResponse
        cancel = self.sendRequest(makeCancel(transaction.request), transaction.destination, callback)
        transaction.cancelTransaction = cancel
        self._run(transaction, transaction.machine.cancelSent(self.now()))
        return cancel

    def _cancelResponse(self, response: Any) -> None:
        if response.status >= 300:
            self.log.info("CANCEL answered {status} {reason}",
                          status=response.status, reason=response.reason)

    def respond(self, handle: ServerTransaction, response: Any) -> bool:
        """Send C{response} through the server transaction C{handle} (its L{ServerTransaction.respond})."""
        effects = handle.machine.sendResponse(response, self.now())
        if not effects:
            self.log.warn(
                "Response {status} to {method} refused in state {state}",
                status=response.status,
                method=handle.request.method,
                state=handle.state.value,
            )
            return False
        self._run(handle, effects)
        return True

    # --- running effects ----------------------------------------------------

    def _run(self, handle: Any, effects: list) -> None:
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            if getattr(effect, "retransmission", False):
                self.counters.retransmissions += 1
            if isinstance(effect, SendRequest):
                queue.extend(self._send(handle, self._transport.send, effect.request, effect.destination))
                if (
                    effect.request is handle.request
                    and not effect.retransmission
                    and not handle.machine.reliable
                    and not handle.terminated
                    and _viaIsReliable(effect.request)
                ):
                    queue.extend(handle.machine.becameReliable(self.now()))
            elif isinstance(effect, SendResponse):
                queue.extend(self._sendResponse(handle, effect.response, effect.destination))
            elif isinstance(effect, Deliver):
                self._deliver(handle, effect.message)
            elif isinstance(effect, TimedOut):
                self._failed(handle, 408, f"Timer {effect.timer} fired")
            elif isinstance(effect, TransportFailed):
                self._failed(handle, 503, effect.reason)
            elif isinstance(effect, Terminated):
                self._forget(handle)
        self._rearm(handle)

    def _send(self, handle: Any, send: Callable, message: Any, destination: Any) -> list:
        """Send; a synchronous TransportError turns into the machine's effects."""
        try:
            result = send(message, destination)
        except TransportError as e:
            return handle.machine.transportError(self.now(), str(e) or "transport error")
        if isinstance(result, Deferred):
            result.addErrback(self._sendFailed, handle)
        return []

    def _sendResponse(self, handle: Any, response: Any, destination: Any) -> list:
        """
        Send a response; a final one of a non-INVITE server transaction is
        serialised here and its bytes kept for L{_absorb}.
        """
        sendBytes = self._sendResponseBytes
        if sendBytes is None or response.status < 200 or not isinstance(handle.machine, NonInviteServerTransaction):
            return self._send(handle, self._transport.sendResponse, response, destination)
        data = response.toBytes()
        handle.finalBytes = (response, data)
        try:
            result = sendBytes(response, data, destination)
        except TransportError as e:
            return handle.machine.transportError(self.now(), str(e) or "transport error")
        if isinstance(result, Deferred):
            result.addErrback(self._sendFailed, handle)
        return []

    def _sendFailed(self, failure: Failure, handle: Any) -> None:
        if failure.check(TransportError):
            reason = str(failure.value) or "transport error"
            self._run(handle, handle.machine.transportError(self.now(), reason))
        else:
            self.log.failure("Unexpected error sending a SIP message", failure)

    def _deliver(self, handle: Any, message: Any) -> None:
        if isinstance(handle, ClientTransaction):
            status = message.status
            if status >= 200:
                if status >= 300 and handle.finalDelivered:
                    return
                handle.finalDelivered = True
                handle.cancelPending = False
            self._callback(handle.onResponse, message)
            if handle.cancelPending and status < 200 and handle.state is State.PROCEEDING:
                self._sendCancel(handle)
        elif message.method == "ACK":
            self._callUser("ackReceived", message, handle.source)
        else:
            self._callUser("requestReceived", message, handle)

    def _failed(self, handle: Any, status: int, reason: str) -> None:
        if isinstance(handle, ClientTransaction):
            if handle.finalDelivered:
                return
            handle.finalDelivered = True
            self.log.info(
                "{method} to {destination} failed: {reason}",
                method=handle.request.method,
                destination=str(handle.destination),
                reason=reason,
            )
            self._callback(handle.onResponse, makeLocalResponse(handle.request, status))
        else:
            handle.failure = reason
            self.log.info(
                "{method} server transaction from {source} failed: {reason}",
                method=handle.request.method,
                source=str(handle.source),
                reason=reason,
            )
            if getattr(self._user, "serverTransactionFailed", None) is not None:
                self._callUser("serverTransactionFailed", handle, reason)

    def _forget(self, handle: Any) -> None:
        table = self._clients if isinstance(handle, ClientTransaction) else self._servers
        if table.get(handle.key) is handle:
            del table[handle.key]
        if isinstance(handle, ClientTransaction):
            # The callbacks are usually bound methods of a session that
            # holds this handle: dropping them lets reference counting free
            # the pair as soon as the call is over (no cyclic garbage).
            handle.onResponse = _ignore
            handle._onCancelResponse = None

    def _callback(self, function: Callable, *args: Any) -> bool:
        try:
            function(*args)
        except Exception:
            self.log.failure("Transaction user callback {callback!r} failed", callback=function)
            return False
        return True

    def _callUser(self, name: str, *args: Any) -> None:
        method = getattr(self._user, name, None)
        if method is None:
            self.log.warn("The transaction user has no {name}; message dropped", name=name)
            return
        if not self._callback(method, *args) and name == "requestReceived":
            # Whatever went wrong, the far end gets an answer.
            handle = args[1]
            if not handle.responded and not handle.terminated:
                self.respond(handle, makeResponse(handle.request, 500, toTag=newTag()))

    # --- the one timer -----------------------------------------------------
