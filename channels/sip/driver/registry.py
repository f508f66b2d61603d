"""
Outbound registration: the C{register =>} lines of sip.conf.

Each line becomes an L{OutboundRegistration} that registers at load,
answers 401 and 407 challenges (digest, the strongest algorithm offered),
follows a 423 Min-Expires, refreshes before the granted expiry (Asterisk's
guard: 15 s early for expiries of 30 s or more, otherwise once 80 % of it
has elapsed) and retries with back-off after a
failure or a timeout. Every change of state is a C{Registry} manager event.

The timing rules (L{refreshDelay}, L{retryDelay}) are pure; the class is
the shell sending through the transaction layer.
"""

from __future__ import annotations

import os
from enum import Enum

from twisted.logger import Logger

from channels.sip.net.address import Address
from channels.sip.wire.digest import buildAuthorization, chooseChallenge
from channels.sip.wire.message import newCallId, newTag

__all__ = ["RegistryState", "OutboundRegistration", "RegistryService", "refreshDelay", "retryDelay"]

EXPIRY_GUARD_SECS = 15
EXPIRY_GUARD_LIMIT = 30
EXPIRY_GUARD_PCT = 0.20
MAX_RETRY_DELAY = 300.0


class RegistryState(Enum):
    UNREGISTERED = "Unregistered"
    REQUEST_SENT = "Request Sent"
    AUTH_SENT = "Auth. Sent"
    REGISTERED = "Registered"
    REJECTED = "Rejected"
    TIMEOUT = "Timeout"
    NOAUTH = "No Authentication"
    FAILED = "Failed"


def refreshDelay(expires: int) -> float:
    """Seconds after a 200 to send the refresh (before the binding lapses)."""
    if expires >= EXPIRY_GUARD_LIMIT:
        return float(expires - EXPIRY_GUARD_SECS)
    return max(1.0, expires * (1 - EXPIRY_GUARD_PCT))


def retryDelay(attempt: int, base: float) -> float:
    """Back-off after the C{attempt}-th consecutive failure (1-based)."""
    return min(MAX_RETRY_DELAY, base * (2 ** max(0, min(attempt - 1, 8))))


class OutboundRegistration:
    """One C{register =>} line at run time."""

    log = Logger()

    def __init__(self, registration, service):
        self.registration = registration
        self.service = service
        self.state = RegistryState.UNREGISTERED
        self.callId = newCallId()
        self.fromTag = newTag()
        self.cseq = 0
        self.expiry = registration.expiry or service.peers.config.settings.defaultexpiry
        self.granted = 0
        self.registeredAt: float | None = None
        self.failures = 0
        self.lastStatus: int | None = None
        self._authAnswered = False
        self._timer = None
        self._transaction = None
        self.stopped = False

    @property
    def key(self) -> str:
        return self.registration.key

    @property
    def reactor(self):
        return self.service.reactor

    def start(self, delay: float = 0.0):
        self.stopped = False
        self._arm(delay, self.send)

    def stop(self):
        self.stopped = True
        self._cancel()

    def _cancel(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _arm(self, delay, f):
        self._cancel()
        if not self.stopped:
            self._timer = self.reactor.callLater(max(0.0, delay), f)

    def _destination(self) -> Address:
        r = self.registration
        return Address(r.transport.upper(), r.host, r.port or (5061 if r.transport == "tls" else 5060))

    def requestURI(self) -> str:
        r = self.registration
        port = f":{r.port}" if r.port else ""
        return f"sip:{r.domainOrHost}{port}" if r.domain else f"sip:{r.host}{port}"

    def send(self, authorization: str | None = None, expires: int | None = None, header: str = "Authorization"):
        """Send a REGISTER (with C{authorization} when answering a challenge)."""
        self._timer = None
        r = self.registration
        self.cseq += 1
        destination = self._destination()
        aor = f"sip:{r.user}@{r.domainOrHost}"
        headers = [("Expires", str(self.expiry if expires is None else expires))]
        if authorization:
            headers.append((header, authorization))
        request = self.service.peers.makeRequest(
            "REGISTER", self.requestURI(), destination, toUri=aor, fromUri=aor,
            callId=self.callId, cseq=self.cseq, fromTag=self.fromTag, contactUser=r.contact,
            headers=headers)
        self._setState(RegistryState.AUTH_SENT if authorization else RegistryState.REQUEST_SENT)
        self._authAnswered = bool(authorization)
        self._transaction = self.service.peers.stack.transactions.sendRequest(request, destination, self._response)
        return self._transaction

    def _response(self, response):
        status = response.status
        if status < 200 or self.stopped:
            return
        self.lastStatus = status
        if 200 <= status < 300:
            self._registered(response)
        elif status in (401, 407):
            header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            challenge = chooseChallenge(response.headers.rawValues(header))
            if challenge is None or (self._authAnswered and not challenge.stale) or not self.registration.secret:
                self.log.warn("registration {key}: authentication failed ({status})", key=self.key, status=status)
                self._failed(RegistryState.NOAUTH)
                return
            r = self.registration
            value = buildAuthorization(challenge, "REGISTER", self.requestURI(), r.authuser or r.user,
                                       r.secret, os.urandom(8).hex())
            self.send(value, header="Authorization" if status == 401 else "Proxy-Authorization")
        elif status == 423:
            minimum = response.headers.get("Min-Expires") or ""
            if minimum.strip().isdigit() and int(minimum) > self.expiry:
                self.expiry = int(minimum)
                self.send()
            else:
                self._failed(RegistryState.REJECTED)
        elif getattr(response, "local", False):
            self._failed(RegistryState.TIMEOUT)
        else:
            self.log.warn("registration {key} rejected: {status} {reason}", key=self.key, status=status, reason=response.reason)
            self._failed(RegistryState.REJECTED)

    def _registered(self, response):
        granted = None
        mine = f"@{self.service.peers.localAddress(self._destination())[0]}"
        try:
            for contact in response.contacts:
                if contact.uri is not None and contact.uri.user == self.registration.contact and contact.expires is not None:
                    if mine in str(contact.uri) or granted is None:
                        granted = contact.expires
            if granted is None:
                granted = response.expires
        except Exception:
            granted = None
        if granted is None:
            granted = self.expiry
        self.granted = granted
        self.failures = 0
        self.registeredAt = self.reactor.seconds()
        self._setState(RegistryState.REGISTERED)
        if granted > 0:
            self._arm(refreshDelay(granted), self.send)

    def _failed(self, state):
        self.failures += 1
        self._setState(state)
        attempts = self.service.peers.config.settings.registerattempts
        if attempts and self.failures >= attempts:
            self.log.warn("registration {key}: giving up after {n} attempts", key=self.key, n=self.failures)
            self._setState(RegistryState.FAILED)
            return
        base = float(self.service.peers.config.settings.registertimeout)
        self._arm(retryDelay(self.failures, base), self.send)

    def _setState(self, state):
        if state is self.state:
            return
        self.state = state
        self.log.info("registration {key}: {state}", key=self.key, state=state.value)
        r = self.registration
        fields = [("ChannelType", "SIP"), ("Username", r.user), ("Domain", r.host),
                  ("DomainPort", str(r.port or 5060)), ("Status", state.value)]
        if self.lastStatus is not None and state is not RegistryState.REGISTERED:
            fields.append(("Cause", str(self.lastStatus)))
        self.service.peers.emit("Registry", fields, "system")


class RegistryService:
    """Every outbound registration of the current sip.conf."""

    def __init__(self, peers, reactor):
        self.peers = peers
        self.reactor = reactor
        self.registrations: dict[str, OutboundRegistration] = {}
        self.running = False

    def start(self):
        self.running = True
        self.reconfigure()

    def stop(self):
        self.running = False
        for registration in self.registrations.values():
            registration.stop()

    def reconfigure(self):
        """Keep registrations whose line did not change; start new ones, stop removed ones."""
        wanted = {}
        for r in self.peers.config.registrations:
            wanted[r.key] = r
        for key in list(self.registrations):
            current = self.registrations[key]
            if key not in wanted or _identity(wanted[key]) != _identity(current.registration):
                current.stop()
                del self.registrations[key]
        for index, (key, registration) in enumerate(wanted.items()):
            if key in self.registrations:
                self.registrations[key].registration = registration
                continue
            outbound = OutboundRegistration(registration, self)
            self.registrations[key] = outbound
            if self.running:
                outbound.start(0.01 * index)

    def __iter__(self):
        return iter(self.registrations.values())


def _identity(r):
    return (r.user, r.host, r.port, r.secret, r.authuser, r.domain, r.transport, r.contact, r.expiry)
