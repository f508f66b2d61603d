"""
The manager protocol over a stream transport: the shell around the pure codec.

One L{ManagerProtocol} per connection is also the L{IManagerSession} actions
see. Responses go out in request order even when an earlier action is slower
than a later one; broadcast events go out as they happen. A client that stops
reading pauses the transport (we are its push producer); staying paused
longer than the user's writetimeout, or piling up more than the factory's
buffer cap meanwhile, disconnects it.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections import deque

from twisted.internet.defer import CancelledError, maybeDeferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.task import deferLater
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.guard import AuthGuard
from pbxcore.errors import ManagerError
from pbxcore.interfaces import IManagerSession
from pbxcore.manager.config import ALL_CLASSES, ManagerSettings, parseClasses
from pbxcore.manager.events import OutgoingEvent, wants
from pbxcore.manager.framing import (
    GREETING,
    MessageParser,
    MessageTooLarge,
    formatCommandLines,
    formatCommandOutput,
    formatEvent,
    formatResponse,
)
from pbxcore.manager.responses import (
    CommandOutput,
    Failure,
    Goodbye,
    ListResponse,
    Success,
)

#: Actions a connection may send before it has logged in.
PREAUTH_ACTIONS = frozenset(("login", "logoff", "challenge", "ping"))

UNKNOWN_ACTION = ("Invalid/unknown command: {}. "
                  "Use Action: ListCommands to show available commands.")


class _Slot:
    """One place in the ordered output: a response or a list event."""

    __slots__ = ("data", "done", "close")

    def __init__(self, data=None):
        self.data = data
        self.done = data is not None
        self.close = False


def renderResponse(result, actionID, commandFormat="classic"):
    """
    Bytes for an action's result, and whether the connection closes after
    them.
    """
    if result is None:
        result = Success()
    if isinstance(result, Success):
        fields = [("Message", result.message)] if result.message is not None else []
        return formatResponse("Success", actionID, fields + list(result.fields)), False
    if isinstance(result, Failure):
        return formatResponse("Error", actionID,
                              [("Message", result.message)] + list(result.fields)), result.close
    if isinstance(result, ListResponse):
        parts = [formatResponse("Success", actionID, [("EventList", "start"),
                                                      ("Message", result.message)])]
        for name, fields in result.events:
            parts.append(formatEvent(name, fields, actionID=actionID))
        complete = [("EventList", "Complete"), ("ListItems", len(result.events))]
        parts.append(formatEvent(result.completeEvent,
                                 complete + list(result.completeFields),
                                 actionID=actionID))
        return b"".join(parts), False
    if isinstance(result, CommandOutput):
        if commandFormat == "output":
            return formatCommandLines(result.text, actionID), False
        return formatCommandOutput(result.text, actionID), False
    if isinstance(result, Goodbye):
        return formatResponse("Goodbye", actionID, [("Message", result.message)]), True
    raise TypeError(f"an action returned {result!r}")


def addressString(address) -> str:
    """Asterisk's security-event address form: IPV4/TCP/host/port."""
    host = getattr(address, "host", None)
    if host is None:
        return f"UNIX/{address}"
    family = "IPV6" if ":" in host else "IPV4"
    return f"{family}/TCP/{host}/{getattr(address, 'port', 0)}"


@implementer(IManagerSession, IPushProducer)
class ManagerProtocol(Protocol):
    """One manager connection and its session."""

    log = Logger()

    def __init__(self, factory: "ManagerFactory"):
        self.factory = factory
        self.pbx = factory.pbx
        self.reactor = factory.reactor
        self.sessionID = next(factory.sessionIDs)
        self.username = None
        self.user = None
        self.authenticated = False
        self.readClasses = frozenset()
        self.writeClasses = frozenset()
        self.eventMask = ALL_CLASSES
        #: The user's eventfilters, and those the Filter action added.
        self.eventFilter = None
        #: Counted in the factory's listeners: logged in, reading some class.
        self._listening = False
        self.challenge = None
        self.peerAddress = None
        self.connectedAt = None
        self.loggedInAt = None
        self.parser = MessageParser(maxSize=factory.maxMessageSize)
        self._slots = deque()
        self._counted = False
        self._closing = False
        self._connected = False
        self._paused = False
        self._pausedBytes = 0
        self._authTimer = None
        self._writeTimer = None
        self._waiters = []

    # -- connection lifetime

    def connectionMade(self):
        self.connectedAt = self.reactor.seconds()
        peer = self.transport.getPeer()
        self.peerAddress = getattr(peer, "host", None) or str(peer)
        settings = self.factory.settings
        if self.factory.unauthenticated >= settings.authLimit:
            self.log.warn("manager: refusing {peer}: {n} unauthenticated connections "
                          "reached authlimit", peer=self.peerAddress,
                          n=self.factory.unauthenticated)
            self._closing = True
            self.transport.loseConnection()
            return
        self._connected = True
        self.factory.unauthenticated += 1
        self._counted = True
        self.factory.sessions.append(self)
        self.transport.registerProducer(self, True)
        # Half-open connections of logged-in clients are found by TCP
        # keepalives; before login, authtimeout closes them.
        setKeepAlive = getattr(self.transport, "setTcpKeepAlive", None)
        if setKeepAlive is not None:
            setKeepAlive(1)
        self.transport.write(GREETING)
        self._authTimer = self.reactor.callLater(settings.authTimeout, self._authTimedOut)

    def connectionLost(self, reason):
        self._connected = False
        self._closing = True
        self._updateListening()
        self._cancelTimers()
        if self._counted:
            self.factory.unauthenticated -= 1
            self._counted = False
        if self in self.factory.sessions:
            self.factory.sessions.remove(self)
        for d in self._waiters:
            d.cancel()
        self._waiters = []
        if self.authenticated and self._displayConnects():
            self.log.info("manager: '{user}' logged off from {peer}",
                          user=self.username, peer=self.peerAddress)

    def _cancelTimers(self):
        for name in ("_authTimer", "_writeTimer"):
            timer = getattr(self, name)
            if timer is not None and timer.active():
                timer.cancel()
            setattr(self, name, None)

    def _authTimedOut(self):
        self._authTimer = None
        if not self.authenticated:
            self.log.info("manager: {peer} did not log in within authtimeout",
                          peer=self.peerAddress)
            self._close(abort=False)

    def _close(self, abort=False):
        if self._closing and not abort:
            return
        self._closing = True
        if self.transport is None:
            return
        if abort:
            self.transport.abortConnection()
        else:
            self.transport.loseConnection()

    def _displayConnects(self):
        if self.user is not None and self.user.displayConnects is not None:
            return self.user.displayConnects
        return self.factory.settings.displayConnects

    # -- flow control: we are the transport's push producer

    def pauseProducing(self):
        if self._paused:
            return
        self._paused = True
        self._pausedBytes = 0
        timeout = self.user.writeTimeout if self.user is not None else 0.1
        timeout = max(timeout, self.factory.minWriteTimeout)
        self._writeTimer = self.reactor.callLater(timeout, self._writeTimedOut)

    def resumeProducing(self):
        self._paused = False
        self._pausedBytes = 0
        if self._writeTimer is not None and self._writeTimer.active():
            self._writeTimer.cancel()
        self._writeTimer = None

    def stopProducing(self):
        self._closing = True

    def _writeTimedOut(self):
        self._writeTimer = None
        self.log.warn("manager: disconnecting {user}@{peer}: not reading (writetimeout)",
                      user=self.username, peer=self.peerAddress)
        self.factory.slowDisconnects += 1
        self._close(abort=True)

    def _write(self, data: bytes):
        if self._closing or self.transport is None:
            return
        if self._paused:
            self._pausedBytes += len(data)
            if self._pausedBytes > self.factory.maxBufferedBytes:
                self.log.warn("manager: disconnecting {user}@{peer}: {n} bytes "
                              "waiting for a client that does not read",
                              user=self.username, peer=self.peerAddress,
                              n=self._pausedBytes)
                self.factory.slowDisconnects += 1
                self._close(abort=True)
                return
        self.transport.write(data)

    # -- input

    def dataReceived(self, data):
        if self._closing:
            return
        try:
            messages = self.parser.feed(data)
        except MessageTooLarge as e:
            self.log.warn("manager: {peer} sent an oversized message: {error}",
                          peer=self.peerAddress, error=str(e))
            self._enqueue(formatResponse("Error", None, [("Message", "Message too large")]))
            self._close()
            return
        for message in messages:
            if self._closing:
                break
            self._dispatch(message)

    def _dispatch(self, message):
        actionID = message.actionID
        slot = _Slot()
        self._slots.append(slot)
        name = message.action
        d = maybeDeferred(self._run, name, message)

        def rendered(result):
            return renderResponse(result, actionID, self.factory.settings.commandFormat)

        def failed(failure):
            if failure.check(CancelledError) and self._closing:
                # The client left while its action waited (WaitEvent).
                return b"", False
            if failure.check(ManagerError):
                text = str(failure.value) or "Action failed"
            else:
                self.log.failure("manager action {action} failed", failure,
                                 action=name)
                text = f"Internal error running {name}"
            return formatResponse("Error", actionID, [("Message", text)]), False

        d.addCallback(rendered)
        d.addErrback(failed)
        d.addCallback(self._fill, slot)
        d.addErrback(lambda f: self.log.failure("manager output failed", f))

    def _run(self, name, message):
        if not name:
            return Failure("Missing action in request")
        lowered = name.lower()
        if not self.authenticated and lowered not in PREAUTH_ACTIONS:
            self._securityEvent("RequestNotAllowed", "Error",
                                [("RequestType", name)])
            return Failure("Permission denied")
        action = self.factory.findAction(name)
        if action is None:
            return Failure(UNKNOWN_ACTION.format(name))
        # As Asterisk: any one of the action's classes in the user's write
        # privilege lets it run.
        needed = frozenset(p.lower() for p in getattr(action, "privileges", ()) or ())
        if self.authenticated and needed and not needed & self.writeClasses:
            return Failure("Permission denied")
        return action.call(self, message)

    def _fill(self, rendered, slot):
        slot.data, slot.close = rendered
        slot.done = True
        self._flush()

    def _enqueue(self, data):
        if self._slots:
            self._slots.append(_Slot(data))
        else:
            self._write(data)

    def _flush(self):
        while self._slots and self._slots[0].done:
            slot = self._slots.popleft()
            self._write(slot.data)
            if slot.close:
                self._slots.clear()
                self._close()
                return

    # -- IManagerSession

    def sendEvent(self, name, fields, actionID=None):
        """Send an event to this session, after every response still owed."""
        self._enqueue(formatEvent(name, fields, actionID=actionID))

    def deliver(self, event: OutgoingEvent):
        """A broadcast event: sent at once if this session wants it."""
        if not self.authenticated or self._closing:
            return
        if wants(event, self.readClasses, self.eventMask, self.eventFilter):
            self._write(event.data(self.factory.settings.timestampEvents))
            for d in list(self._waiters):
                self._waiters.remove(d)
                d.callback(event)

    def waitForEvent(self, timeout):
        """A Deferred firing with the next event delivered, or None on timeout."""
        from twisted.internet.defer import Deferred

        d = Deferred()
        self._waiters.append(d)

        def expire():
            if d in self._waiters:
                self._waiters.remove(d)
                d.callback(None)

        call = self.reactor.callLater(timeout, expire)

        def done(result):
            if call.active():
                call.cancel()
            return result

        d.addBoth(done)
        return d

    # -- authentication

    def setEventMask(self, value: str) -> bool:
        """Apply an Events:/EventMask: value; returns whether events flow."""
        lowered = value.strip().lower()
        if lowered in ("on", "yes", "true", "1"):
            self.eventMask = ALL_CLASSES
        elif lowered in ("off", "no", "false", "0", "none", ""):
            self.eventMask = frozenset()
        else:
            self.eventMask = parseClasses(lowered)
        self._updateListening()
        return bool(self.eventMask & self.readClasses)

    def _updateListening(self):
        """
        Keep the factory's count of sessions that want events right: with
        none, the core builds no event at all (sessions logged in with
        Events: off cost the calls nothing).
        """
        listening = (self.authenticated and not self._closing
                     and bool(self.readClasses & self.eventMask))
        if listening != self._listening:
            self._listening = listening
            self.factory.listeners += 1 if listening else -1

    def newChallenge(self) -> str:
        if self.challenge is None:
            self.challenge = str(int.from_bytes(os.urandom(4), "big"))
        return self.challenge

    def _securityEvent(self, name, severity, extra=()):
        now = time.time()
        local = self.transport.getHost() if self.transport is not None else None
        fields = [
            ("EventTV", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
             + f".{int(now % 1 * 1e6):06d}+0000"),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", "1"),
            ("AccountID", self.username or ""),
            ("SessionID", f"0x{self.sessionID:x}"),
            ("LocalAddress", addressString(local)),
            ("RemoteAddress", addressString(self.transport.getPeer())
             if self.transport is not None else ""),
        ]
        fields.extend(extra)
        try:
            self.pbx.emitEvent(name, fields, "security")
        except Exception:
            self.log.failure("manager: could not emit {name}", name=name)

    def _checkLogin(self, user, request, authType):
        """Why Login fails for C{user} (a security event name and fields), or None."""
        if user is None:
            return ("InvalidAccountID", [])
        elif not user.acl.allows(self.peerAddress):
            return ("FailedACL", [("ACLName", "manager")])
        elif authType == "md5":
            key = (request.get("Key") or "").strip().lower()
            expected = None
            if self.challenge is not None and user.secret is not None:
                expected = hashlib.md5(
                    (self.challenge + user.secret).encode("utf-8")).hexdigest()
            if expected is None or key != expected:
                return ("ChallengeResponseFailed",
                        [("Challenge", self.challenge or ""),
                         ("ReceivedChallenge", self.challenge or ""),
                         ("ReceivedHash", key)])
        elif user.secret is None or request.get("Secret") != user.secret:
            return ("InvalidPassword", [])
        return None

    def login(self, request):
        """
        The Login action: ACL first, then MD5 key or plain secret. Every
        failure gets the same answer after a delay, and closes the session.
        """
        if self.authenticated:
            return Success("Already authenticated")
        settings: ManagerSettings = self.factory.settings
        username = (request.get("Username") or "").strip()
        self.username = username or None
        user = settings.user(username)
        authType = (request.get("AuthType") or "").strip().lower()
        failure = None
        guard = self.factory.guard
        guard.settings = settings.guard  # follows a manager.conf reload
        host = self.peerAddress or ""
        if guard.isBlocked(host, self.reactor.seconds()):
            # Whatever the secret, the answer of a wrong one.
            failure = ("RequestNotAllowed", [("RequestType", "Login"),
                                              ("Reason", "source blocked after failed logins")])
        else:
            failure = self._checkLogin(user, request, authType)
        if failure is not None:
            self.factory.failedLogins += 1
            name, extra = failure
            self._securityEvent(name, "Error", extra)
            self.log.info("manager: {peer} failed to authenticate as '{user}' ({why})",
                          peer=self.peerAddress, user=username, why=name)
            if name != "RequestNotAllowed":
                block = guard.failed(host, username, self.reactor.seconds())
                if block is not None:
                    self._securityEvent("SourceBlocked", "Error", [
                        ("BlockedFor", str(int(block.until - block.since))),
                        ("BlockCount", str(block.level))])
            return deferLater(self.reactor, self.factory.authFailureDelay,
                              lambda: Failure("Authentication failed", close=True))
        guard.succeeded(host, username, self.reactor.seconds())
        # Announced before this session counts as logged in, so that its
        # own SuccessfulAuth does not overtake the Login response.
        self.username = user.username
        self._securityEvent("SuccessfulAuth", "Informational",
                            [("UsingPassword", "0" if authType == "md5" else "1")])
        self.user = user
        self.authenticated = True
        self.loggedInAt = self.reactor.seconds()
        self.readClasses = user.readClasses
        self.writeClasses = user.writeClasses
        self.eventFilter = user.eventFilter
        self.challenge = None
        if self._counted:
            self.factory.unauthenticated -= 1
            self._counted = False
        if self._authTimer is not None and self._authTimer.active():
            self._authTimer.cancel()
        self._authTimer = None
        events = request.get("Events")
        if events is not None:
            self.setEventMask(events)
        else:
            self._updateListening()
        if self._displayConnects():
            self.log.info("manager: '{user}' logged on from {peer}",
                          user=self.username, peer=self.peerAddress)
        if "system" in self.readClasses and "system" in self.eventMask:
            self.sendEvent("FullyBooted", [
                ("Privilege", "system,all"),
                ("Uptime", int(self.reactor.seconds() - self.factory.startTime)),
                ("LastReload", int(self.reactor.seconds() - self.factory.reloadTime)),
                ("Status", "Fully Booted"),
            ])
        return Success("Authentication accepted")


class ManagerFactory(ServerFactory):
    """
    Builds sessions and fans core events out to them. C{settings} is swapped
    whole on reload; live sessions keep the user they logged in as.
    """

    log = Logger()
    protocol = ManagerProtocol
    noisy = False

    #: Seconds before a failed login is answered.
    authFailureDelay = 1.0
    #: Bytes that may pile up for a client that does not read.
    maxBufferedBytes = 1 << 20
    maxMessageSize = 64 * 1024
    #: Floor for writetimeout, in seconds.
    minWriteTimeout = 0.1

    def __init__(self, pbx, settings: ManagerSettings, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.pbx = pbx
        self.settings = settings
        pbxSettings = getattr(pbx, "settings", None)
        self.systemName = (pbxSettings.get("systemname") if pbxSettings is not None else "") or ""
        self.reactor = reactor
        self.sessions: list[ManagerProtocol] = []
        #: Sessions logged in and reading at least one class of events.
        self.listeners = 0
        self.unauthenticated = 0
        self.failedLogins = 0
        self.guard = AuthGuard(settings.guard)
        self.slowDisconnects = 0
        self.sessionIDs = itertools.count(1)
        self.startTime = reactor.seconds()
        self.reloadTime = self.startTime

    def buildProtocol(self, addr):
        return self.protocol(self)

    def findAction(self, name):
        try:
            registry = self.pbx.registry("manageraction")
        except KeyError:
            return None
        return registry.get(name)

    def broadcast(self, event):
        """The pbx.events subscriber: hand C{event} to every session."""
        if not self.sessions:
            return
        outgoing = OutgoingEvent.fromEvent(event, self.systemName)
        for session in list(self.sessions):
            session.deliver(outgoing)
