"""
The Local channel technology: Local/exten@context[/options] makes a pair of
channels, ;1 (handed to the requester) and ;2 (which runs the dialplan at
exten@context once ;1 is called). Whatever one half is sent, the other
half receives: media, DTMF, text, indications, answer and hangup.

Options after the slash ('/n' and the like) are accepted; the pair is never
optimised away, so '/n' changes nothing.
"""

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.channel import Channel
from pbxcore.errors import ChannelUnavailable
from pbxcore.frame import ChannelState, Control, HangupCause, dtmfFrame, textFrame
from pbxcore.interfaces import IChannelDriver, IChannelTechnology, IModule

log = Logger(namespace="plugins.chan_local")


class LocalPair:
    """
    The two halves of one Local channel.

    Frames cross from one half to the other on the next reactor turn, in
    order: delivered in the same turn, two applications that answer every
    frame they read (Echo facing Echo) would bounce one frame between them
    forever without ever giving the reactor back.
    """

    def __init__(self, exten, context, options, reactor):
        self.exten = exten
        self.context = context
        self.options = options
        self.reactor = reactor
        self.one = None
        self.two = None
        self._pending = []
        self._flushCall = None

    def other(self, channel):
        return self.two if channel is self.one else self.one

    def deliver(self, channel, frame):
        """Queue C{frame} for the half that is not C{channel}."""
        self._pending.append((self.other(channel), frame))
        if self._flushCall is None:
            self._flushCall = self.reactor.callLater(0, self._flush)

    def _flush(self):
        self._flushCall = None
        pending, self._pending = self._pending, []
        for target, frame in pending:
            if not target.hangupRequested:
                target.frameReceived(frame)


@implementer(IChannelDriver)
class LocalDriver:
    """Each half's driver hands what it is sent to the other half."""

    def __init__(self, pair):
        self.pair = pair

    def call(self, channel, dest, timeout):
        pair = self.pair
        if channel is not pair.one:
            raise ChannelUnavailable(HangupCause.CHANNEL_UNACCEPTABLE,
                                     "only the ;1 half of a Local channel can be called")
        two = pair.two
        for name, value in channel.variables.items():
            if name not in two.variables:
                two.variables[name] = value
        for name, level in channel._inherit.items():
            two._inherit.setdefault(name, level)
        two.caller = channel.connected.copy()
        two.connected = channel.caller.copy()
        two.accountcode = channel.accountcode
        return channel.pbx.runDialplan(two)

    def answer(self, channel):
        if channel is self.pair.two:
            other = self.pair.one
            if not other.hangupRequested:
                other.controlReceived(Control.ANSWER)

    def hangup(self, channel, cause):
        other = self.pair.other(channel)
        if other is not None and not other.hangupRequested:
            other.hungUp(cause if cause is not None else HangupCause.NORMAL_CLEARING)

    def writeFrame(self, channel, frame):
        self.pair.deliver(channel, frame)

    def indicate(self, channel, control, data=None):
        other = self.pair.other(channel)
        if other.hangupRequested or control == Control.ANSWER:
            return
        if control == Control.HANGUP:
            other.hungUp(channel.hangupCause or HangupCause.NORMAL_CLEARING)
            return
        other.controlReceived(control, data)

    def sendDigitBegin(self, channel, digit):
        self.pair.deliver(channel, dtmfFrame(digit, end=False))

    def sendDigitEnd(self, channel, digit, durationMs):
        self.pair.deliver(channel, dtmfFrame(digit, True, durationMs))

    def sendText(self, channel, text):
        self.pair.deliver(channel, textFrame(text))

    def transfer(self, channel, dest):
        raise NotImplementedError("Local channels do not transfer")


@implementer(IChannelTechnology)
class LocalTechnology:
    """The "Local" technology; C{registrar} is held by every live half."""

    name = "Local"
    description = "Local Proxy Channel Driver"
    capabilities = ("slin", "ulaw", "alaw", "slin16", "g722")

    def __init__(self, registrar=None):
        self.registrar = registrar

    def deviceState(self, resource):
        return "UNKNOWN"

    def request(self, pbx, dest, formats, requestor):
        target, _, options = dest.partition("/")
        exten, _, context = target.partition("@")
        context = context or "default"
        if not exten:
            raise ChannelUnavailable(HangupCause.NO_ROUTE_DESTINATION,
                                     f"Local/{dest}: no extension")
        dialplan = pbx.dialplan
        cid = requestor.caller.number if requestor is not None else None
        if dialplan is None or dialplan.find(context, exten, 1, cid or None) is None:
            log.warn("No such extension/context {exten}@{context} creating local channel",
                     exten=exten, context=context)
            raise ChannelUnavailable(HangupCause.NO_ROUTE_DESTINATION,
                                     f"no extension {exten}@{context}")
        pair = LocalPair(exten, context, options, pbx.reactor)
        base = f"Local/{exten}@{context}-{pbx.channels.nextSequence()}"
        formats = self.capabilities
        pair.one = Channel(pbx, base + ";1", self, LocalDriver(pair), requestor=requestor,
                           context=context, exten=exten, nativeFormats=formats)
        pair.two = Channel(pbx, base + ";2", self, LocalDriver(pair), state=ChannelState.RING,
                           context=context, exten=exten, linkedid=pair.one.linkedid,
                           nativeFormats=formats)
        return pair.one


@implementer(IModule)
class LocalChannelModule:
    """chan_local: registers the Local technology."""

    def load(self, pbx, registrar):
        registrar.register("technology", LocalTechnology(registrar))

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        pass
