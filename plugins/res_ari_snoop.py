"""
ARI snoop channels (C{POST /channels/{id}/snoop}): a new channel
C{Snoop/<id>-NNNNNNNN}, placed in a Stasis application, that hears what
the target channel hears (C{spy=in}), what is sent to it (C{out}) or
both mixed, and whose own audio is whispered to the target (C{whisper}).

It applies where the target's audio passes through the core as frames:
two SIP legs relayed natively by a bridge (RTP to RTP) bypass it.
"""

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.channel import Channel
from pbxcore.frame import ChannelState, FrameKind, voiceFrame
from pbxcore.interfaces import IChannelDriver
from pbxcore.media import g711
from plugins.res_ari_mixer import Mixer

log = Logger(namespace="plugins.res_ari")

DIRECTIONS = ("none", "in", "out", "both")


class SnoopTap:
    """
    Sits on the target channel's frameReceived (in) and writeFrame (out)
    and copies voice frames to the snoop channel; removed at hangup.
    """

    def __init__(self, target, snoop, spy):
        self.target = target
        self.snoop = snoop
        self.spy = spy
        self.fmt = (target.nativeFormats or ("ulaw",))[0]
        self.mixer = Mixer(self._mixed) if spy == "both" else None
        self.received = target.frameReceived
        self.written = target.writeFrame
        target.frameReceived = self.inbound
        target.writeFrame = self.outbound

    def remove(self):
        target = self.target
        if target.__dict__.get("frameReceived") == self.inbound:
            target.frameReceived = self.received
        if target.__dict__.get("writeFrame") == self.outbound:
            target.writeFrame = self.written

    def _copy(self, direction, frame):
        if frame.kind is not FrameKind.VOICE or self.snoop.hangupRequested:
            return
        if self.mixer is not None:
            self.mixer.add(direction, frame.subclass, frame.data)
        elif self.spy == direction:
            self.snoop.frameReceived(frame)

    def _mixed(self, pcm):
        self.snoop.frameReceived(voiceFrame(self.fmt, g711.transcode("slin", self.fmt, pcm)))

    def inbound(self, frame):
        self._copy("in", frame)
        return self.received(frame)

    def outbound(self, frame):
        self._copy("out", frame)
        return self.written(frame)


@implementer(IChannelDriver)
class SnoopDriver:
    """The snoop channel's far end: its audio is whispered to the target."""

    def __init__(self, tap, whisper):
        self.tap = tap
        self.whisper = whisper

    def call(self, channel, dest, timeout):
        pass

    def answer(self, channel):
        pass

    def hangup(self, channel, cause):
        self.tap.remove()

    def writeFrame(self, channel, frame):
        target = self.tap.target
        if frame.kind is not FrameKind.VOICE or target.hangupRequested:
            return None
        if self.whisper in ("in", "both"):
            self.tap.received(frame)
        if self.whisper in ("out", "both"):
            d = defer.ensureDeferred(self.tap.written(frame))
            d.addErrback(lambda f: None)
        return None

    def indicate(self, channel, control, data=None):
        pass

    def sendDigitBegin(self, channel, digit):
        pass

    def sendDigitEnd(self, channel, digit, durationMs):
        pass

    def sendText(self, channel, text):
        pass

    def transfer(self, channel, dest):
        pass


def makeSnoop(pbx, target, spy, whisper, snoopId=None):
    """The snoop channel on C{target} (Up, owned by the caller)."""
    name = pbx.channels.makeName("Snoop", target.uniqueid)
    tap = None
    pbx.channels.assignUniqueid(snoopId or None)
    try:
        channel = Channel(pbx, name, None, None, state=ChannelState.UP,
                          context=target.context, exten=target.exten,
                          nativeFormats=target.nativeFormats or ("ulaw",),
                          language=target.language)
    finally:
        pbx.channels.assignUniqueid(None)
    tap = SnoopTap(target, channel, spy)
    channel.driver = SnoopDriver(tap, whisper)
    channel.owned = True
    target.notifyOnHangup(lambda _: channel.softHangup())
    return channel
