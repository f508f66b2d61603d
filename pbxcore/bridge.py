"""
The two-party bridge: relays frames both ways between two channels until
one of them leaves. The one left behind is not hung up here: its owner
(Dial, the dialplan) decides, so that Dial's 'g' option can continue.
"""

import uuid

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.channel import channelFields
from pbxcore.errors import ChannelHungUp
from pbxcore.frame import Control, FrameKind

#: Controls that make sense to the other party once the call is up.
RELAYED_CONTROLS = frozenset({
    Control.HOLD, Control.UNHOLD, Control.VIDUPDATE, Control.SRCUPDATE,
    Control.SRCCHANGE, Control.CONNECTED_LINE, Control.REDIRECTING, Control.FLASH,
    Control.T38_PARAMETERS, Control.UPDATE_RTP_PEER, Control.PROGRESS, Control.RINGING,
})


class Bridge:
    """
    A basic two-party bridge. C{features} keeps per-channel feature
    options (Dial's t/T) for the transfer features to consult.
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

    def fields(self):
        """The bridge block of Bridge* events."""
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", self.bridgeType),
            ("BridgeTechnology", self.technology),
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
        self._emit("BridgeCreate")
        self._enter(first)
        self._enter(second)
        first.setVariable("BRIDGEPEER", second.name)
        second.setVariable("BRIDGEPEER", first.name)
        done = defer.Deferred()
        pumps = [defer.Deferred.fromCoroutine(self._pump(first, second, done)),
                 defer.Deferred.fromCoroutine(self._pump(second, first, done))]
        for pump in pumps:
            pump.addErrback(self._pumpFailed)
        try:
            leaver = await done
        finally:
            for pump in pumps:
                pump.cancel()
            self._leave(first)
            self._leave(second)
            self.destroyed = True
            self._emit("BridgeDestroy")
        return leaver

    def _pumpFailed(self, failure):
        if failure.check(defer.CancelledError):
            return None
        self.log.failure("bridge {bridge}: relaying frames failed", failure,
                         bridge=self.uniqueid)

    async def _pump(self, source, sink, done):
        try:
            while not done.called:
                frame = await source.readFrame()
                if done.called:
                    return
                kind = frame.kind
                if kind is FrameKind.CONTROL:
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
