"""
SUBSCRIBE and NOTIFY (RFC 6665) for chan_sip: busy lamps (dialog), presence
and message waiting (message-summary).

A subscription is a dialog with its own expiry. The initial SUBSCRIBE is
checked like chan_sip does it (Event present and known, or 489 with
Allow-Events; authentication as for INVITE; C{allowsubscribe}; the expiry
against C{subminexpiry} / C{submaxexpiry}, 423 with Min-Expires when too
short), answered 200, and followed at once by a NOTIFY with the current
state. A refresh re-arms the expiry and NOTIFYs again; C{Expires: 0} or the
expiry timer end it with a final NOTIFY C{Subscription-State: terminated}.
NOTIFYs go through client transactions, so UDP retransmission is the
transaction layer's; a subscriber that answers 481 or not at all (the local
408) loses its subscription.

Dialog and presence subscriptions watch the hint of the subscribed
extension (in the peer's C{subscribecontext}) through the device state
engine; message-summary subscriptions follow the voicemail store's
MessageWaiting events for the peer's C{mailbox}. Peers with a mailbox and
no message-summary subscription get unsolicited NOTIFYs (L{channels.sip.driver.mwi}).

The module requires chan_sip and reaches its running stack; it keeps its
subscriptions across a C{sip reload}.
"""

from __future__ import annotations

import heapq
import itertools
import os
from dataclasses import dataclass

from twisted.logger import Logger

from channels.sip.driver.config import parseGeneral
from channels.sip.net.localaddress import addressesOf
from channels.sip.machines.dialog import Dialog, DialogError
from channels.sip.driver.mwi import UnsolicitedMWI, mailboxes
from channels.sip.driver.eventpackages import (
    PACKAGES,
    Remote,
    TooBrief,
    chooseExpiry,
    dialogInfo,
    dialogState,
    messageSummary,
    pidf,
    subscriptionState,
)
from channels.sip.wire.message import SIPParseError, makeResponse, newTag
from pbxcore.config import ConfigError, isFalse, parseFile
from pbxcore.devicestate.aggregation import deviceOfChannel, extensionStateText, hintDevices
from pbxcore.interfaces import Module

ALLOW_EVENTS = ", ".join(PACKAGES)


@dataclass(frozen=True)
class SubscriptionSettings:
    """The subscription keys of sip.conf's [general] (seconds)."""

    minexpiry: int = 60
    maxexpiry: int = 3600
    defaultexpiry: int = 3600
    allowsubscribe: bool = True
    subscribecontext: str = ""
    notifyringing: bool = True
    mwiexpiry: int = 3600


def parseSubscriptionSettings(config) -> SubscriptionSettings:
    """The subscription settings of a parsed sip.conf; ConfigError with file:line."""
    values = {}
    general = config.section("general") if config is not None else None
    # The one [general] parser walks the section; these keys are among the
    # entries it leaves to the parts that are not transports.
    for entry in parseGeneral(config).rest:
        key = entry.key.strip().lower()
        value = entry.value.strip()
        if key in ("subminexpiry", "submaxexpiry", "subexpiry", "mwiexpiry"):
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"{entry.key}: expected a whole number of seconds, "
                                  f"got {entry.value!r}", entry.filename, entry.line)
            name = {"subminexpiry": "minexpiry", "submaxexpiry": "maxexpiry",
                    "subexpiry": "defaultexpiry"}.get(key, key)
            values[name] = int(value)
        elif key == "allowsubscribe":
            values["allowsubscribe"] = not isFalse(value)
        elif key == "notifyringing":
            values["notifyringing"] = not isFalse(value)
        elif key == "subscribecontext":
            values["subscribecontext"] = value
    settings = SubscriptionSettings(**values)
    if settings.minexpiry > settings.maxexpiry:
        entry = general.entry("subminexpiry") or general.entry("submaxexpiry")
        raise ConfigError("subminexpiry is larger than submaxexpiry",
                          entry.filename if entry else None, entry.line if entry else None)
    return settings


def _peerFlag(peer, key):
    """A yes/no key kept in Peer.extra (last value wins); None when unset."""
    values = getattr(peer, "extra", {}).get(key) if peer is not None else None
    if not values:
        return None
    return not isFalse(values[-1])


class Subscription:
    """One subscription: its dialog, resource, expiry and last state."""

    def __init__(self, manager, event, dialog, destination, peer, expires):
        self.manager = manager
        self.event = event
        self.dialog = dialog
        self.destination = destination
        self.peer = peer
        self.expires = expires
        self.expiresAt = manager.reactor.seconds() + expires
        self.context = ""
        self.exten = ""
        self.mailbox = ""
        self.version = 0
        self.lastState = None
        self.shown = None
        self.terminated = False
        self.unwatch = None

    @property
    def key(self):
        return (self.dialog.callId, self.dialog.localTag)

    @property
    def peerName(self):
        return self.peer.name if self.peer is not None else self.destination.host

    def __repr__(self):
        return f"<Subscription {self.event} {self.exten or self.mailbox} {self.dialog.callId}>"


class SubscriptionManager:
    """
    The subscriptions of one SIP stack. Install with L{install}; it takes
    SUBSCRIBE from the user agent and in-dialog SUBSCRIBEs of its dialogs.
    """

    log = Logger()

    def __init__(self, pbx, stack, settings: SubscriptionSettings = SubscriptionSettings(),
                 reactor=None):
        if reactor is None:
            reactor = getattr(pbx, "reactor", None)
        if reactor is None:
            from twisted.internet import reactor
        self.pbx = pbx
        self.stack = stack
        self.settings = settings
        self.reactor = reactor
        self.subscriptions: dict[tuple, Subscription] = {}
        self._byMailbox: dict[str, set] = {}
        self.mwi = None
        self._deadlines = []
        self._sequence = itertools.count()
        self._timer = None
        #: NOTIFYs sent, and dropped subscriptions, for the console and tests.
        self.notifiesSent = 0

    # -- installation --------------------------------------------------------

    def install(self, registrar):
        ua = self.stack.userAgent
        registrar.addCleanup(ua.registerMethod("SUBSCRIBE", self.sip_SUBSCRIBE))
        registrar.addCleanup(ua.registerDialogHandler(self.dialogRequest))
        registrar.subscribe(self._eventReceived, ("PeerStatus", "MessageWaiting"))
        self.stack.subscriptions = self
        registrar.addCleanup(self._uninstall)
        self.mwi = UnsolicitedMWI(self)
        return self

    def _uninstall(self):
        for sub in list(self.subscriptions.values()):
            self._drop(sub)
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._deadlines = []
        if getattr(self.stack, "subscriptions", None) is self:
            self.stack.subscriptions = ()

    def __iter__(self):
        return iter(list(self.subscriptions.values()))

    def __len__(self):
        return len(self.subscriptions)

    def showRows(self):
        """The lines of C{sip show subscriptions}, one per subscription."""
        return subscriptionRows(self, self.reactor.seconds())

    # -- addresses -----------------------------------------------------------

    def localAddress(self, destination):
        """Our (host, port) towards C{destination} (the stack's one resolver)."""
        return addressesOf(self.stack).localAddress(destination)

    def viaFor(self, destination):
        return addressesOf(self.stack).viaFor(destination)

    def contactFor(self, destination, user="asterisk"):
        return addressesOf(self.stack).contactFor(destination, user)

    def hostText(self, destination):
        return addressesOf(self.stack).hostText(destination)

    # -- responses -----------------------------------------------------------

    def _respond(self, st, request, status, reason=None, headers=(), toTag=None, contact=None):
        response = makeResponse(request, status, reason, toTag=toTag or newTag())
        h = response.headers
        if contact:
            h.add("Contact", contact)
        ua = self.stack.userAgent
        if ua.userAgent:
            h.add("Server", ua.userAgent)
        for name, value in headers:
            h.add(name, value)
        st.respond(response)

    # -- initial SUBSCRIBE ---------------------------------------------------

    def _authenticate(self, request, st):
        """(ok, peer): ok False when a response was already sent."""
        peers = getattr(self.stack, "peers", None)
        if peers is None:
            return True, None
        fromAddr = request.fromAddr
        user = getattr(getattr(fromAddr, "uri", None), "user", None) if fromAddr else None
        hint = peers.peerFor(user) if user else None
        settings = peers.config.settings
        if hint is None and settings.allowguest and not request.headers.get("Authorization"):
            return True, None
        peer = peers.auth.authenticateRequest(request, st, peerHint=hint)
        return peer is not None, peer

    def sip_SUBSCRIBE(self, request, st):
        eventHeader = request.headers.get("Event")
        if not eventHeader or not eventHeader.strip():
            return self._respond(st, request, 489, "Bad Event",
                                 [("Allow-Events", ALLOW_EVENTS)])
        event = eventHeader.split(";", 1)[0].strip().lower()
        if event not in PACKAGES:
            return self._respond(st, request, 489, "Bad Event",
                                 [("Allow-Events", ALLOW_EVENTS)])
        try:
            requested = request.expires
        except SIPParseError:
            return self._respond(st, request, 400, "Bad Expires")
        ok, peer = self._authenticate(request, st)
        if not ok:
            return
        allow = _peerFlag(peer, "allowsubscribe")
        if allow is None:
            allow = self.settings.allowsubscribe
        if not allow:
            self.log.info("SIP/{peer}: subscriptions not allowed, 403", peer=self._name(peer, st))
            return self._respond(st, request, 403, "Forbidden (policy)")
        s = self.settings
        expires = chooseExpiry(requested, s.minexpiry, s.maxexpiry, s.defaultexpiry)
        if isinstance(expires, TooBrief):
            return self._respond(st, request, 423, "Interval Too Brief",
                                 [("Min-Expires", str(expires.minimum))])
        exten = getattr(request.requestURI, "user", None) or ""
        from channels.sip.wire.uri import unescape

        exten = unescape(exten)
        context = mailbox = ""
        if event == "message-summary":
            mailbox = peer.mailbox if peer is not None and peer.mailbox else ""
            if not mailbox:
                service = self.voicemail()
                if service is not None and exten and service.mailbox(exten) is not None:
                    mailbox = exten
            if not mailbox:
                return self._respond(st, request, 404, "Not Found")
        else:
            context = (peer.subscribecontext if peer is not None and peer.subscribecontext
                       else s.subscribecontext) or (peer.context if peer is not None else
                                                    self._guestContext())
            engine = getattr(self.pbx, "devicestate", None)
            if not exten or engine is None or engine.hint(context, exten) is None:
                self.log.info("SUBSCRIBE to {exten}@{context}: no hint, 404",
                              exten=exten, context=context)
                return self._respond(st, request, 404, "Not Found")
        localTag = newTag()
        try:
            dialog = Dialog.asUAS(request, localTag)
        except (DialogError, SIPParseError) as e:
            return self._respond(st, request, 400, str(e) or "Bad Request")
        dialog.confirm()
        contact = self.contactFor(st.source)
        self._respond(st, request, 200, "OK", [("Expires", str(expires))], toTag=localTag,
                      contact=contact)
        sub = Subscription(self, event, dialog, st.source, peer, expires)
        sub.context, sub.exten, sub.mailbox = context, exten, mailbox
        if expires == 0:
            self.notify(sub, terminated=True)
            return
        self.subscriptions[sub.key] = sub
        self._watch(sub)
        self._arm(sub)
        self.notify(sub)

    def _name(self, peer, st):
        return peer.name if peer is not None else str(st.source)

    def _guestContext(self):
        peers = getattr(self.stack, "peers", None)
        return peers.config.settings.context if peers is not None else "default"

    def voicemail(self):
        """The voicemail service (app_voicemail's registry entry), or None."""
        try:
            return self.pbx.registry("voicemail")
        except KeyError:
            return None

    # -- in-dialog SUBSCRIBE -------------------------------------------------

    def dialogRequest(self, request, st) -> bool:
        sub = self.subscriptions.get((request.callId, request.toTag))
        if sub is None or request.method == "ACK":
            return False
        if request.method != "SUBSCRIBE":
            self._respond(st, request, 405, "Method Not Allowed", [("Allow", "SUBSCRIBE")],
                          toTag=sub.dialog.localTag)
            return True
        if not sub.dialog.acceptRemoteCSeq(request):
            self._respond(st, request, 500, "Out of Order", [("Retry-After", "1")],
                          toTag=sub.dialog.localTag)
            return True
        try:
            requested = request.expires
        except SIPParseError:
            self._respond(st, request, 400, "Bad Expires", toTag=sub.dialog.localTag)
            return True
        s = self.settings
        expires = chooseExpiry(requested, s.minexpiry, s.maxexpiry, s.defaultexpiry)
        if isinstance(expires, TooBrief):
            self._respond(st, request, 423, "Interval Too Brief",
                          [("Min-Expires", str(expires.minimum))], toTag=sub.dialog.localTag)
            return True
        sub.dialog.updateTarget(request)
        self._respond(st, request, 200, "OK", [("Expires", str(expires))],
                      toTag=sub.dialog.localTag, contact=self.contactFor(sub.destination))
        if expires == 0:
            self._remove(sub)
            self.notify(sub, terminated=True)
            return True
        sub.expires = expires
        sub.expiresAt = self.reactor.seconds() + expires
        self._arm(sub)
        self.notify(sub)
        return True

    # -- lifetime ------------------------------------------------------------

    def _arm(self, sub):
        """
        Note C{sub}'s deadline. All expiries share one timer, armed for the
        earliest deadline (a heap; entries of refreshed or removed
        subscriptions are skipped when they come up).
        """
        heapq.heappush(self._deadlines, (sub.expiresAt, next(self._sequence), sub))
        self._rearm()

    def _rearm(self):
        deadlines = self._deadlines
        while deadlines and deadlines[0][2].key not in self.subscriptions:
            heapq.heappop(deadlines)
        when = deadlines[0][0] if deadlines else None
        timer = self._timer
        if timer is not None and timer.active():
            if when is not None and timer.getTime() <= when:
                return
            timer.cancel()
        self._timer = None
        if when is not None:
            delay = max(when - self.reactor.seconds(), 0)
            self._timer = self.reactor.callLater(delay, self._expireDue)

    def _expireDue(self):
        self._timer = None
        now = self.reactor.seconds()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            when, _, sub = heapq.heappop(deadlines)
            if sub.key in self.subscriptions and sub.expiresAt <= now:
                self._remove(sub)
                self.notify(sub, terminated=True, reason="timeout")
        self._rearm()

    def _watch(self, sub):
        if sub.event == "message-summary":
            for box in mailboxes(sub.mailbox):
                self._byMailbox.setdefault(box, set()).add(sub.key)
            return
        engine = self.pbx.devicestate
        unwatch = engine.watch(sub.context, sub.exten,
                               lambda c, e, state, hint: self._stateChanged(sub, state))
        if sub.event == "presence":
            stopPresence = engine.watchPresence(
                sub.context, sub.exten, lambda c, e, presence: self._presenceChanged(sub))

            def unwatchBoth():
                unwatch()
                stopPresence()

            sub.unwatch = unwatchBoth
        else:
            sub.unwatch = unwatch

    def _remove(self, sub):
        """Forget C{sub} (no NOTIFY): timers, watches and indexes."""
        self.subscriptions.pop(sub.key, None)
        sub.terminated = True
        if sub.unwatch is not None:
            sub.unwatch()
            sub.unwatch = None
        for box in mailboxes(sub.mailbox):
            keys = self._byMailbox.get(box)
            if keys is not None:
                keys.discard(sub.key)
                if not keys:
                    del self._byMailbox[box]

    def _drop(self, sub, why=""):
        if sub.key in self.subscriptions:
            if why:
                self.log.info("SIP subscription {sub!r} dropped: {why}", sub=sub, why=why)
            self._remove(sub)

    def hasMailboxSubscription(self, peer) -> bool:
        """Whether C{peer} holds a message-summary subscription (no unsolicited MWI then)."""
        for box in mailboxes(peer.mailbox):
            for key in self._byMailbox.get(box, ()):
                sub = self.subscriptions.get(key)
                if sub is not None and sub.peer is not None and sub.peer.name == peer.name:
                    return True
        return False

    # -- state changes -------------------------------------------------------

    def _stateChanged(self, sub, state):
        if sub.key not in self.subscriptions:
            return
        if state < 0:
            self._remove(sub)
            self.notify(sub, terminated=True, reason="noresource")
            return
        self.notify(sub, state=state, force=False)

    def _presenceChanged(self, sub):
        """The custom presence of C{sub}'s hint was written: NOTIFY the subscriber."""
        if sub.key in self.subscriptions:
            self.notify(sub)

    def _eventReceived(self, event):
        if event.name == "PeerStatus":
            if self.mwi is not None and event.get("PeerStatus") == "Registered":
                self.mwi.peerRegistered((event.get("Peer") or "").partition("/")[2])
            return
        if event.name != "MessageWaiting":
            return
        box = (event.get("Mailbox") or "").lower()
        if "@" not in box:
            box += "@default"
        for key in list(self._byMailbox.get(box, ())):
            sub = self.subscriptions.get(key)
            if sub is not None:
                self.notify(sub)
        if self.mwi is not None:
            self.mwi.mailboxChanged(box)

    # -- bodies --------------------------------------------------------------

    def _legs(self, devices):
        wanted = {d.lower() for d in devices}
        channels = getattr(self.pbx, "channels", None) or ()
        return [c for c in channels if deviceOfChannel(c.name).lower() in wanted]

    @staticmethod
    def _remote(legs):
        """(number, name, direction) of the other party of a live call, if known."""
        for channel in legs:
            requestor = getattr(channel, "requestor", None)
            if requestor is not None:
                number, name, direction = requestor.caller.number, requestor.caller.name, \
                    "recipient"
            else:
                number, name, direction = channel.exten, channel.connected.name, "initiator"
            if number:
                return number, name, direction
        return None

    @staticmethod
    def _calling(legs):
        """
        Whether every live leg is one we are calling that has not answered
        yet: chan_sip counts such a peer as ringing from the moment it sends
        the INVITE, so the lamp shows early at once.
        """
        return bool(legs) and all(
            getattr(c, "requestor", None) is not None and int(c.state) in (0, 3)
            for c in legs)

    def body(self, sub, state=None, force=True):
        """
        (content type, body) of the NOTIFY for C{sub} now; None when not
        C{force}d and a dialog subscriber would see nothing new.
        """
        host = self.hostText(sub.destination)
        if sub.event == "message-summary":
            service = self.voicemail()
            new, old = service.counts(sub.mailbox) if service is not None else (0, 0)
            return PACKAGES[sub.event], messageSummary(new, old, f"sip:{sub.mailbox}@{host}"
                                                       if "@" not in sub.mailbox else
                                                       f"sip:{sub.mailbox.split('@')[0]}@{host}")
        engine = self.pbx.devicestate
        if state is None:
            state = engine.extensionState(sub.context, sub.exten)
        sub.lastState = state
        entity = f"sip:{sub.exten}@{host}"
        if sub.event == "dialog":
            hint = engine.hint(sub.context, sub.exten) or ""
            legs = self._legs(hintDevices(hint)) if state > 0 else []
            found = self._remote(legs)
            remote = Remote(f"sip:{found[0]}@{host}", found[1] or "", found[2]) if found else None
            override = "early" if (self.settings.notifyringing and not state & 8
                                   and self._calling(legs)) else None
            shown = (override or dialogState(state, self.settings.notifyringing), remote)
            if shown == sub.shown and not force:
                return None
            sub.shown = shown
            body = dialogInfo(entity, sub.version, state, sub.exten, remote,
                              notifyRinging=self.settings.notifyringing, state=override)
            sub.version += 1
            return PACKAGES["dialog"], body
        presence, message = self._presence(sub)
        return PACKAGES["presence"], pidf(entity, sub.exten, state, presence, message)

    def _presence(self, sub):
        """(state, message) of the presence provider of C{sub}'s hint (CustomPresence:x)."""
        presence = self.pbx.devicestate.extensionPresence(sub.context, sub.exten)
        return presence.state, presence.message

    # -- NOTIFY --------------------------------------------------------------

    def notify(self, sub, state=None, terminated=False, reason="timeout", force=True):
        """
        Send a NOTIFY with the current state (the final one when
        C{terminated}); a state change that shows nothing new is not sent
        unless C{force}d.
        """
        try:
            built = self.body(sub, state, force or terminated)
        except Exception:
            self.log.failure("building the {event} NOTIFY for {sub!r}", event=sub.event, sub=sub)
            return
        if built is None:
            return
        contentType, body = built
        if terminated:
            header = subscriptionState(0, True, reason)
        else:
            left = int(round(sub.expiresAt - self.reactor.seconds()))
            header = subscriptionState(left)
        request = sub.dialog.makeRequest(
            "NOTIFY", self.viaFor(sub.destination), contact=self.contactFor(sub.destination),
            body=body, contentType=contentType,
            headers=[("Event", sub.event), ("Subscription-State", header)],
            userAgent=self.stack.userAgent.userAgent)
        self.notifiesSent += 1

        def gotResponse(response):
            status = response.status
            if status < 300 or status in (401, 407):
                return
            self._drop(sub, f"NOTIFY answered {status}")

        try:
            self.stack.transactions.sendRequest(request, sub.destination, gotResponse)
        except Exception:
            self.log.failure("sending NOTIFY for {sub!r}", sub=sub)
            self._drop(sub, "NOTIFY could not be sent")


# -- console -------------------------------------------------------------------

def subscriptionRows(manager, now):
    """The lines of C{sip show subscriptions} after its heading."""
    rows = []
    for sub in manager:
        if sub.event == "message-summary":
            exten, state, kind, mailbox = "--", "--", "mwi", sub.mailbox
        else:
            exten = f"{sub.exten}@{sub.context}"
            state = extensionStateText(sub.lastState if sub.lastState is not None else 0)
            kind, mailbox = PACKAGES[sub.event].split("/")[1], "<none>"
        user = getattr(getattr(sub.dialog, "remoteURI", ""), "strip", lambda: "")()
        user = user.split("sip:", 1)[-1].split("@")[0].lstrip("<") if user else ""
        rows.append(f"{sub.peerName:<15} {user:<15} {sub.dialog.callId[:32]:<32} "
                    f"{exten:<15} {state:<12} {kind:<20} {mailbox:<10} "
                    f"{max(int(sub.expiresAt - now), 0):06d}")
    return rows


# -- the module ------------------------------------------------------------------

def installSubscriptions(pbx, stack, registrar, settings=None, reactor=None):
    """Wire SUBSCRIBE/NOTIFY and unsolicited MWI into a running chan_sip stack."""
    manager = SubscriptionManager(pbx, stack, settings or SubscriptionSettings(), reactor)
    manager.install(registrar)
    return manager


def readSubscriptionSettings(configDir) -> SubscriptionSettings:
    path = os.path.join(configDir, "sip.conf")
    if not os.path.exists(path):
        return SubscriptionSettings()
    return parseSubscriptionSettings(parseFile(path))


class SIPSubscriptionsModule(Module):
    """res_sip_subscriptions: SUBSCRIBE/NOTIFY and MWI on the loaded chan_sip."""

    def __init__(self):
        self.manager = None

    def load(self, pbx, registrar):
        from pbxcore.errors import ModuleDeclined

        settings = readSubscriptionSettings(pbx.configDir)
        loader = getattr(pbx, "loader", None)
        loaded = loader.modules.get("chan_sip") if loader is not None else None
        stack = getattr(getattr(loaded, "module", None), "stack", None)
        if stack is None:
            raise ModuleDeclined("chan_sip is not running; no SIP subscriptions")
        self.manager = installSubscriptions(pbx, stack, registrar, settings, pbx.reactor)

    def reload(self, pbx):
        settings = readSubscriptionSettings(pbx.configDir)
        if self.manager is not None:
            self.manager.settings = settings

    def unload(self, pbx):
        self.manager = None
