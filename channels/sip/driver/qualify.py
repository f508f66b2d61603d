"""
Qualify: reachability of peers by OPTIONS (Asterisk's sip_poke_peer).

Every peer with C{qualify} set and an address (a static host or a live
binding) is sent an OPTIONS every C{qualifyfreq} seconds. Any answer makes
it reachable (C{Lagged} when the round trip exceeds the peer's C{qualify}
milliseconds); no final answer within twice that threshold makes it
C{Unreachable}, and an unreachable peer is poked again sooner (every
C{RETRY_UNREACHABLE} seconds at most). Each change of state is published as
a C{PeerStatus} manager event and a device state change, so the dialplan's
C{Dial} to an unreachable peer fails at once with CHANUNAVAIL.

The state machine (L{PeerReachability}) is pure; L{QualifyService} is the
shell that sends the OPTIONS and keeps one timer per peer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from twisted.logger import Logger

__all__ = ["Reachability", "PeerReachability", "QualifyService", "RETRY_UNREACHABLE"]

# Asterisk pokes unreachable peers every 10 s rather than every qualifyfreq.
RETRY_UNREACHABLE = 10.0


class Reachability(Enum):
    UNMONITORED = "Unmonitored"
    UNKNOWN = "Unknown"
    REACHABLE = "Reachable"
    LAGGED = "Lagged"
    UNREACHABLE = "Unreachable"


@dataclass
class PeerReachability:
    """The qualify state of one peer. Times in seconds, C{lastms} in ms."""

    maxms: int
    state: Reachability = Reachability.UNKNOWN
    lastms: int = -1
    sentAt: float | None = None
    generation: int = 0

    def sent(self, now: float) -> int:
        """An OPTIONS left now; returns its generation (to match the answer)."""
        self.generation += 1
        self.sentAt = now
        return self.generation

    def deadline(self) -> float | None:
        """When the poke in flight counts as unanswered."""
        if self.sentAt is None:
            return None
        return self.sentAt + 2 * self.maxms / 1000.0

    def answered(self, generation: int, now: float) -> Reachability | None:
        """A final answer to poke C{generation}; returns the new state if it changed."""
        if generation != self.generation or self.sentAt is None:
            return None
        self.lastms = max(0, int(round((now - self.sentAt) * 1000)))
        self.sentAt = None
        state = Reachability.LAGGED if self.lastms > self.maxms else Reachability.REACHABLE
        return self._move(state)

    def noAnswer(self, generation: int) -> Reachability | None:
        """Poke C{generation} went unanswered (timer or local 408/503)."""
        if generation != self.generation or self.sentAt is None:
            return None
        self.sentAt = None
        self.lastms = -1
        return self._move(Reachability.UNREACHABLE)

    def reset(self) -> Reachability | None:
        """The peer lost its address (unregistered): back to unknown."""
        self.sentAt = None
        self.generation += 1
        self.lastms = -1
        return self._move(Reachability.UNKNOWN)

    def _move(self, state: Reachability) -> Reachability | None:
        if state is self.state:
            return None
        self.state = state
        return state

    def nextPokeDelay(self, qualifyfreq: float) -> float:
        if self.state is Reachability.UNREACHABLE:
            return min(qualifyfreq, RETRY_UNREACHABLE)
        return qualifyfreq

    def statusText(self) -> str:
        """What C{sip show peers} prints: C{OK (12 ms)}, C{LAGGED (2100 ms)}, ..."""
        if self.state is Reachability.REACHABLE:
            return f"OK ({self.lastms} ms)"
        if self.state is Reachability.LAGGED:
            return f"LAGGED ({self.lastms} ms)"
        if self.state is Reachability.UNREACHABLE:
            return "UNREACHABLE"
        return "UNKNOWN"


class QualifyService:
    """
    Pokes the qualified peers of C{peers} (the peer service). Use
    L{isReachable} and L{status} to ask about a peer.
    """

    log = Logger()

    def __init__(self, peers, reactor):
        self.peers = peers
        self.reactor = reactor
        self.states: dict[str, PeerReachability] = {}
        self._timers: dict[str, object] = {}
        self._deadlines: dict[str, object] = {}
        self.running = False

    # -- questions ----------------------------------------------------------

    def isReachable(self, name: str) -> bool:
        """False only when the peer is qualified and known to be unreachable."""
        state = self.states.get(name.lower())
        return state is None or state.state is not Reachability.UNREACHABLE

    def status(self, name: str) -> str:
        """C{OK (n ms)}, C{LAGGED (n ms)}, C{UNREACHABLE}, C{UNKNOWN} or C{Unmonitored}."""
        state = self.states.get(name.lower())
        if state is None:
            return "Unmonitored"
        return state.statusText()

    def reachability(self, name: str) -> Reachability:
        state = self.states.get(name.lower())
        return Reachability.UNMONITORED if state is None else state.state

    def lastms(self, name: str) -> int:
        state = self.states.get(name.lower())
        return -1 if state is None else state.lastms

    # -- life cycle -----------------------------------------------------------

    def start(self):
        self.running = True
        self.reconfigure(initial=True)

    def stop(self):
        self.running = False
        for table in (self._timers, self._deadlines):
            for call in table.values():
                if call.active():
                    call.cancel()
            table.clear()

    def reconfigure(self, initial: bool = False):
        """Follow the current sip.conf: start, retune or stop monitoring peers."""
        wanted = {}
        for key, peer in self.peers.config.peers.items():
            if peer.qualify and peer.isPeer:
                wanted[key] = peer
        for key in list(self.states):
            if key not in wanted and not self.peers.isRealtimeQualified(key):
                self._forget(key)
        for index, (key, peer) in enumerate(sorted(wanted.items())):
            state = self.states.get(key)
            if state is None:
                self.states[key] = PeerReachability(peer.qualify)
                # Spread the first pokes over a second, as Asterisk staggers them.
                self._schedule(key, min(1.0, 0.01 * index) if initial else 0.0)
            else:
                state.maxms = peer.qualify

    def _forget(self, key):
        self.states.pop(key, None)
        for table in (self._timers, self._deadlines):
            call = table.pop(key, None)
            if call is not None and call.active():
                call.cancel()

    def track(self, peer):
        """Monitor C{peer} (a realtime peer that registered) if it asks for it."""
        key = peer.name.lower()
        if peer.qualify and key not in self.states:
            self.states[key] = PeerReachability(peer.qualify)

    def _schedule(self, key, delay):
        if not self.running:
            return
        call = self._timers.get(key)
        if call is not None and call.active():
            call.cancel()
        self._timers[key] = self.reactor.callLater(max(0.0, delay), self._timerFired, key)

    def _timerFired(self, key):
        self._timers.pop(key, None)
        try:
            self.poke(key)
        except Exception:
            self.log.failure("qualify of {peer} failed", peer=key)
            self._schedule(key, RETRY_UNREACHABLE)

    # -- poking ---------------------------------------------------------------

    def registered(self, peer):
        """A peer's bindings changed: poke it now (Asterisk does on REGISTER)."""
        key = peer.name.lower()
        if key not in self.states and peer.qualify:
            self.states[key] = PeerReachability(peer.qualify)
        if key in self.states:
            self._schedule(key, 0.0)

    def unregistered(self, peer):
        key = peer.name.lower()
        state = self.states.get(key)
        if state is None:
            return
        changed = state.reset()
        self._cancelDeadline(key)
        if changed is not None:
            self._publish(peer.name, state)

    def poke(self, name: str):
        """Send one OPTIONS to C{name} now; returns the client transaction or None."""
        key = name.lower()
        state = self.states.get(key)
        peer = self.peers.peerFor(name)
        if state is None or peer is None:
            return None
        target = self.peers.targetOf(peer)
        if target is None:
            # A dynamic peer that is not registered: nothing to poke.
            self._schedule(key, peer.qualifyfreq)
            return None
        uri, destination = target
        generation = state.sent(self.reactor.seconds())
        request = self.peers.makeRequest("OPTIONS", uri, destination, toUser=peer.name)
        deadline = state.deadline() - self.reactor.seconds()
        self._cancelDeadline(key)
        self._deadlines[key] = self.reactor.callLater(deadline, self._unanswered, peer.name, generation)
        return self.peers.stack.transactions.sendRequest(
            request, destination, lambda response: self._response(peer.name, generation, response))

    def _response(self, name, generation, response):
        if response.status < 200:
            return
        key = name.lower()
        state = self.states.get(key)
        if state is None or generation != state.generation or state.sentAt is None:
            return  # an answer to an older poke, already judged
        if getattr(response, "local", False):
            self._unanswered(name, generation)
            return
        self._cancelDeadline(key)
        changed = state.answered(generation, self.reactor.seconds())
        if changed is not None:
            self._publish(name, state)
        peer = self.peers.peerFor(name)
        self._schedule(key, state.nextPokeDelay(peer.qualifyfreq if peer else 60))

    def _cancelDeadline(self, key):
        call = self._deadlines.pop(key, None)
        if call is not None and call.active():
            call.cancel()

    def _unanswered(self, name, generation):
        key = name.lower()
        state = self.states.get(key)
        if state is None or generation != state.generation or state.sentAt is None:
            return
        self._cancelDeadline(key)
        changed = state.noAnswer(generation)
        if changed is not None:
            self._publish(name, state)
        peer = self.peers.peerFor(name)
        self._schedule(key, state.nextPokeDelay(peer.qualifyfreq if peer else 60))

    def _publish(self, name, state):
        level = self.log.warn if state.state is Reachability.UNREACHABLE else self.log.info
        level("Peer 'SIP/{peer}' is now {status}", peer=name, status=state.statusText())
        self.peers.peerStatus(name, state.state.value, time=state.lastms if state.lastms >= 0 else None)
