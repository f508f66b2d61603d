"""
The two-party bridge: relays frames both ways between two channels until
one of them leaves. The one left behind is not hung up here: its owner
(Dial, the dialplan) decides, so that Dial's 'g' option can continue.

Native RTP relay: when both drivers expose an RTP session
(C{driver.rtpSession(channel)}) sending the same format, and neither leg is
on hold, the sessions are linked (L{RTPSession.relayTo}): each packet goes
out on the other leg in the reactor turn it arrived in, renumbered, never
decoded. DTMF travels as RFC 4733 events when both legs negotiated them
and neither driver wants another DTMF mode (C{driver.dtmfMode}, e.g. SIP
INFO); otherwise as DTMF frames through the bridge. Controls, text and
DTMF frames still flow through the frame pumps. A change of format or hold
(a re-INVITE) drops back to frames, or relinks when the legs match again;
the link is undone when the bridge ends.
"""

import uuid

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.channel import Channel, channelFields
from pbxcore.errors import ChannelHungUp
from pbxcore.frame import Control, FrameKind, HangupCause

#: Controls that make sense to the other party once the call is up.
RELAYED_CONTROLS = frozenset({
    Control.HOLD, Control.UNHOLD, Control.VIDUPDATE, Control.SRCUPDATE,
    Control.SRCCHANGE, Control.CONNECTED_LINE, Control.REDIRECTING, Control.FLASH,
    Control.T38_PARAMETERS, Control.UPDATE_RTP_PEER, Control.PROGRESS, Control.RINGING,
})

#: Controls after which the native RTP link is checked again.
_MEDIA_CONTROLS = frozenset({
    Control.HOLD, Control.UNHOLD, Control.SRCCHANGE, Control.SRCUPDATE,
    Control.UPDATE_RTP_PEER, Control.ANSWER,
})


#: The bridge technologies the core has, Asterisk's names and what
#: C{BridgeTechnologyList} says of them: (name, type, priority).
TECHNOLOGIES = (
    ("native_rtp", "Native", 90),
    ("simple_bridge", "Basic", 50),
)


#: What a masquerade moves from the channel that goes to the one that stays.
_IDENTITY = ("name", "uniqueid", "linkedid", "caller", "connected", "technology",
             "_registrar", "nativeFormats", "language", "accountcode", "variables",
             "_inherit", "creationTime", "answerTime", "amaflags", "state")


def masquerade(survivor, original):
    """
    C{survivor} takes C{original}'s place: its driver (which now delivers
    to C{survivor}: the driver's C{takeOver(original, survivor)}, or its
    C{channel} attribute) and its identity. C{original} keeps
    C{survivor}'s old identity and no driver, so hanging it up signals
    nothing. Used to optimise Local pairs away and to take a channel away
    from what runs it (the manager's Bridge).
    """
    channels = survivor.pbx.channels
    channels.remove(survivor)
    channels.remove(original)
    for name in _IDENTITY:
        mine, theirs = getattr(survivor, name), getattr(original, name)
        setattr(survivor, name, theirs)
        setattr(original, name, mine)
    driver = original.driver
    original.driver = None
    survivor.driver = driver
    takeOver = getattr(driver, "takeOver", None)
    if takeOver is not None:
        takeOver(original, survivor)
    elif hasattr(driver, "channel"):
        driver.channel = survivor
    channels.add(survivor)
    channels.add(original)


def pullOut(*channels):
    """
    New channel objects that carry C{channels}' calls from now on, owned by
    the caller; the old objects are left without a driver (renamed
    C{<ZOMBIE>}) and asked to hang up, so that whatever ran them (an
    application, a bridge) lets go of them quietly. All are taken over
    before any is let go: letting one go may end a bridge whose owner then
    hangs up the other.
    """
    surrogates = [_surrogate(channel) for channel in channels]
    for channel in channels:
        channel.softHangup(HangupCause.NORMAL_CLEARING, "masquerade")
    return surrogates


def _surrogate(channel):
    pbx = channel.pbx
    surrogate = Channel(pbx, channel.name + "<MASQ>", channel.technology, None,
                        state=channel.state, context=channel.context, exten=channel.exten,
                        priority=channel.priority, nativeFormats=channel.nativeFormats)
    surrogate.owned = True
    masquerade(surrogate, channel)
    renameChannel(channel, surrogate.name + "<ZOMBIE>")
    return surrogate


def renameChannel(channel, newName):
    """Rename a live channel and announce it (Rename: old name, Newname)."""
    oldName = channel.name
    channel.pbx.channels.rename(channel, newName)
    events = getattr(channel.pbx, "events", None)
    if events is not None and not events.wants("Rename"):
        return
    fields = channelFields(channel)
    fields[0] = ("Channel", oldName)
    fields.append(("Newname", newName))
    channel.pbx.emitEvent("Rename", fields, "call")


class BridgeRegistry:
    """
    The live bridges of one PBX by uniqueid (C{pbx.bridges}), for the
    manager's bridge actions; and which technologies are suspended.
    """

    def __init__(self):
        self._bridges = {}
        self.suspended = set()

    @classmethod
    def of(cls, pbx):
        """C{pbx.bridges}, made on first use."""
        registry = getattr(pbx, "bridges", None)
        if registry is None:
            registry = cls()
            try:
                pbx.bridges = registry
            except AttributeError:
                pass
        return registry

    def add(self, bridge):
        self._bridges[bridge.uniqueid] = bridge

    def remove(self, bridge):
        self._bridges.pop(bridge.uniqueid, None)

    def get(self, uniqueid):
        return self._bridges.get(uniqueid)

    def __iter__(self):
        return iter(list(self._bridges.values()))

    def __len__(self):
        return len(self._bridges)


class Bridge:
    """
    A basic two-party bridge. C{features} keeps per-channel feature
    options (Dial's t/T) for the transfer features to consult.

    While it runs it is listed in C{pbx.bridges}; L{kick} and L{dissolve}
    end it from outside (the manager's BridgeKick and BridgeDestroy).
    """

    log = Logger()

    def __init__(self, pbx, technology="simple_bridge", bridgeType="basic", creator="",
                 name=""):
        self.pbx = pbx
        self.uniqueid = str(uuid.uuid4())
        self.technology = technology
        self.bridgeType = bridgeType
        self.creator = creator
        self.name = name
        self.channels = []
        self.features = {}
        self.destroyed = False
        #: The two linked RTP sessions while relaying natively, else None.
        self.native = None
        self._pair = None
        self._watched = []
        self._done = None
        self._reads = {}  # channel -> its pending read, given up when the bridge ends

    @property
    def currentTechnology(self):
        """What carries the media now: native_rtp while linked, else simple_bridge."""
        return "native_rtp" if self.native is not None else self.technology

    def kick(self, channel):
        """
        End the bridge with C{channel} as the party that left (its owner
        hangs it up, as Asterisk's ast_bridge_kick); False when not here.
        """
        if channel not in self.channels or self._done is None or self._done.called:
            return False
        self._done.callback(channel)
        return True

    def dissolve(self):
        """End the bridge: every party is kicked."""
        if self._done is None or self._done.called or not self.channels:
            return False
        self._done.callback(self.channels[0])
        return True

    def fields(self):
        """The bridge block of Bridge* events."""
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", self.bridgeType),
            ("BridgeTechnology", self.currentTechnology),
            ("BridgeCreator", self.creator or "<unknown>"),
            ("BridgeName", self.name or "<unknown>"),
            ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]

    def _emit(self, name, channel=None):
        events = getattr(self.pbx, "events", None)
        if events is not None and not len(events):
            return
        fields = self.fields()
        if channel is not None:
            fields.extend(channelFields(channel))
        self.pbx.emitEvent(name, fields, "call")

    def _enter(self, channel):
        self.channels.append(channel)
        channel.bridge = self
        self._emit("BridgeEnter", channel)
        # A driver may want to know (chan_local optimises a pair away).
        bridged = getattr(channel.driver, "bridged", None)
        if bridged is not None:
            bridged(channel, self)

    def announceSwap(self, before, channel):
        """
        C{channel} now stands for another party (a Local pair optimised
        away): BridgeLeave with C{before} (its old fields), BridgeEnter with
        its new ones, and the native RTP link checked again.
        """
        events = getattr(self.pbx, "events", None)
        if before is not None and (events is None or events.wants("BridgeLeave")):
            self.pbx.emitEvent("BridgeLeave", self.fields() + before, "call")
        self._emit("BridgeEnter", channel)
        self.updateNative()

    def _leave(self, channel):
        if channel in self.channels:
            self.channels.remove(channel)
            channel.bridge = None
            self._emit("BridgeLeave", channel)

    async def run(self, first, second):
        """
        Bridge C{first} and C{second}; returns the channel that left first
        (hung up or could no longer be written to).
        """
        registry = BridgeRegistry.of(self.pbx)
        registry.add(self)
        self._emit("BridgeCreate")
        self._enter(first)
        self._enter(second)
        first.setVariable("BRIDGEPEER", second.name)
        second.setVariable("BRIDGEPEER", first.name)
        done = self._done = defer.Deferred()
        self._pair = (first, second)
        self.updateNative()
        pumps = [defer.Deferred.fromCoroutine(self._pump(first, second, done)),
                 defer.Deferred.fromCoroutine(self._pump(second, first, done))]
        for pump in pumps:
            pump.addErrback(self._pumpFailed)
        try:
            leaver = await done
        finally:
            self._pair = None
            self._stopNative()
            for channel, read in list(self._reads.items()):
                channel.abandonRead(read)
            self._reads.clear()
            for pump in pumps:
                pump.cancel()
            self._leave(first)
            self._leave(second)
            self.destroyed = True
            registry.remove(self)
            self._emit("BridgeDestroy")
        return leaver

    # -- native RTP relay ------------------------------------------------------------

    @staticmethod
    def _rtpOf(channel):
        driver = channel.driver
        getter = getattr(driver, "rtpSession", None)
        if getter is None:
            return None
        try:
            return getter(channel)
        except Exception:
            Bridge.log.failure("RTP session of {channel}", channel=channel.name)
            return None

    @staticmethod
    def _eventsNatively(channel, rtp):
        mode = getattr(channel.driver, "dtmfMode", "rfc2833") or "rfc2833"
        return rtp.dtmfPayload is not None and mode.lower() in ("rfc2833", "rfc4733", "auto")

    def _nativePair(self):
        """The two RTP sessions to link now, or None when frames must carry the audio."""
        if self._pair is None:
            return None
        first, second = self._pair
        # A recorded or spied channel ("audiohook": MixMonitor) needs its
        # audio as frames through the core.
        if first.datastores.get("audiohook") or second.datastores.get("audiohook"):
            return None
        a, b = self._rtpOf(first), self._rtpOf(second)
        if a is None or b is None or a is b or a.closed or b.closed:
            return None
        if a.held or b.held or a.sendFormat != b.sendFormat:
            return None
        return a, b

    def updateNative(self, _session=None):
        """Link, relink or unlink the legs' RTP sessions after any change."""
        if self._pair is None:
            return
        pair = self._nativePair()
        self._watch(pair or tuple(s for s in map(self._rtpOf, self._pair) if s is not None))
        if pair is None or "native_rtp" in BridgeRegistry.of(self.pbx).suspended:
            if self.native is not None:
                self.log.debug("bridge {bridge}: back to frames", bridge=self.uniqueid)
                self._unlink()
            return
        first, second = self._pair
        a, b = pair
        if self.native is not None and self.native != pair:
            self._unlink()
        events = self._eventsNatively(first, a) and self._eventsNatively(second, b)
        a.relayTo(b, events=events)
        b.relayTo(a, events=events)
        if self.native is None:
            self.log.debug("bridge {bridge}: native RTP relay ({codec})", bridge=self.uniqueid,
                           codec=a.sendFormat)
        self.native = pair

    def _watch(self, sessions):
        for rtp in self._watched:
            if rtp not in sessions:
                rtp.removeObserver(self.updateNative)
        for rtp in sessions:
            if rtp not in self._watched:
                rtp.addObserver(self.updateNative)
        self._watched = list(sessions)

    def _unlink(self):
        native, self.native = self.native, None
        if native is None:
            return
        a, b = native
        if a.relayTarget is b:
            a.relayTo(None)
        if b.relayTarget is a:
            b.relayTo(None)

    def _stopNative(self):
        self._unlink()
        self._watch(())

    def _pumpFailed(self, failure):
        if failure.check(defer.CancelledError):
            return None
        self.log.failure("bridge {bridge}: relaying frames failed", failure,
                         bridge=self.uniqueid)

    async def _pump(self, source, sink, done):
        try:
            while not done.called:
                read = self._reads[source] = source.readFrame()
                frame = await read
                self._reads.pop(source, None)
                if done.called or frame is None:
                    return
                kind = frame.kind
                if kind is FrameKind.CONTROL:
                    if frame.subclass in _MEDIA_CONTROLS:
                        self.updateNative()
                    if frame.subclass not in RELAYED_CONTROLS:
                        continue
                elif kind is FrameKind.NULL or kind is FrameKind.CNG:
                    continue
                try:
                    await sink.writeFrame(frame)
                except ChannelHungUp:
                    if not done.called:
                        done.callback(sink)
                    return
        except ChannelHungUp:
            if not done.called:
                done.callback(source)
        except Exception:
            if not done.called:
                done.callback(source)
            raise
