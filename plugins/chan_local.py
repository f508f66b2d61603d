"""
The Local channel technology: Local/exten@context[/options] makes a pair of
channels, ;1 (handed to the requester) and ;2 (which runs the dialplan at
exten@context once ;1 is called). Whatever one half is sent, the other
half receives: media, DTMF, text, indications, answer and hangup.

Optimisation, as Asterisk's: once both halves are bridged (;1 with A, ;2
with C), the pair steps out of the path. ;1 takes C's place (C's driver,
name, uniqueid and caller ids), the old C object is hung up without
signalling, and the two Local halves go away: A and C talk through one
bridge (natively, when their RTP allows). The 'n' option
(Local/100@default/n) keeps the pair; the manager's LocalOptimizeAway
lifts it. LocalOptimizationBegin/End announce it.

A Local half in a bridge can be sent elsewhere in the dialplan
(L{LocalTechnology.redirect}, the manager's BlindTransfer).
"""

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import ChannelDriver, Module
from pbxcore.bridge import masquerade, renameChannel
from pbxcore.channel import Channel
from pbxcore.errors import ChannelUnavailable
from pbxcore.frame import ChannelState, Control, HangupCause, dtmfFrame, textFrame
from pbxcore.interfaces import IChannelTechnology

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
        #: 'n': never optimise (until LocalOptimizeAway says so).
        self.noOptimize = "n" in options
        #: True once the pair stepped out of the path: nothing crosses any more.
        self.optimized = False
        self._optimizeCall = None

    def other(self, channel):
        return self.two if channel is self.one else self.one

    def deliver(self, channel, frame):
        """Queue C{frame} for the half that is not C{channel}."""
        if self.optimized:
            return
        self._pending.append((self.other(channel), frame))
        if self._flushCall is None:
            self._flushCall = self.reactor.callLater(0, self._flush)

    def _flush(self):
        self._flushCall = None
        pending, self._pending = self._pending, []
        if self.optimized:
            return
        for target, frame in pending:
            if not target.hangupRequested:
                target.frameReceived(frame)

    # -- optimisation ----------------------------------------------------------------

    def maybeOptimize(self):
        """Optimise on the next turn if both halves are bridged and allowed."""
        if self.optimized or self.noOptimize or self._optimizeCall is not None:
            return
        if self.one is None or self.two is None:
            return
        if getattr(self.one, "bridge", None) is None or getattr(self.two, "bridge", None) is None:
            return
        self._optimizeCall = self.reactor.callLater(0, self._optimize)

    def _optimize(self):
        self._optimizeCall = None
        one, two = self.one, self.two
        if self.optimized or self.noOptimize or one.hangupRequested or two.hangupRequested:
            return
        outer = _peerIn(two)
        if outer is None or outer.hangupRequested or outer.driver is None \
                or one.bridge is None or _peerIn(one) is None:
            return
        self.optimized = True
        _announce(one, two, "LocalOptimizationBegin", outer)
        before = _swapFields(one)
        masquerade(one, outer)
        one.bridge.announceSwap(before, one)
        _announce(one, two, "LocalOptimizationEnd", None)
        # The old C object (now wearing ;1's name) leaves the bridge it
        # shared with ;2; ;2's owner then ends ;2 too.
        outer.softHangup(HangupCause.NORMAL_CLEARING, "optimization")
        two.softHangup(HangupCause.NORMAL_CLEARING, "optimization")


def _peerIn(channel):
    """The one other party of C{channel}'s bridge, or None."""
    bridge = getattr(channel, "bridge", None)
    if bridge is None:
        return None
    others = [c for c in bridge.channels if c is not channel]
    return others[0] if len(others) == 1 else None


def _swapFields(channel):
    from pbxcore.channel import channelFields

    events = getattr(channel.pbx, "events", None)
    if events is not None and not events.wants("BridgeLeave"):
        return None
    return channelFields(channel)


def _announce(one, two, name, source):
    events = getattr(one.pbx, "events", None)
    if events is not None and not events.wants(name):
        return
    from pbxcore.channel import channelFields

    fields = channelFields(one, "LocalOne") + channelFields(two, "LocalTwo")
    if source is not None:
        fields += channelFields(source, "Source")
        fields += [("DestUniqueId", one.uniqueid)]
    if name == "LocalOptimizationEnd":
        fields.append(("Success", "Yes"))
    fields.append(("Id", str(id(one) & 0xFFFFFFFF)))
    one.pbx.emitEvent(name, fields, "call")


class LocalDriver(ChannelDriver):
    """Each half's driver hands what it is sent to the other half."""

    def __init__(self, pair):
        self.pair = pair

    def bridged(self, channel, bridge):
        """The core put C{channel} in a bridge: maybe optimise the pair away."""
        self.pair.maybeOptimize()

    def takeOver(self, original, survivor):
        """A masquerade: C{survivor} now stands where C{original} stood."""
        pair = self.pair
        if pair.one is original:
            pair.one = survivor
        elif pair.two is original:
            pair.two = survivor

    def call(self, channel, dest, timeout):
        pair = self.pair
        if channel is not pair.one:
            raise ChannelUnavailable(HangupCause.CHANNEL_UNACCEPTABLE,
                                     "only the ;1 half of a Local channel can be called")
        two = pair.two
        two.adoptVariables(channel)
        two.caller = channel.connected.copy()
        before = (two.connected.name, two.connected.number)
        two.connected = channel.caller.copy()
        if before != (two.connected.name, two.connected.number):
            two.setConnectedLine()
        two.accountcode = channel.accountcode
        return channel.pbx.runDialplan(two)

    def answer(self, channel):
        if self.pair.optimized:
            return
        if channel is self.pair.two:
            other = self.pair.one
            if not other.hangupRequested:
                other.controlReceived(Control.ANSWER)

    def hangup(self, channel, cause):
        if self.pair.optimized:
            return
        other = self.pair.other(channel)
        if other is not None and not other.hangupRequested:
            other.hungUp(cause if cause is not None else HangupCause.NORMAL_CLEARING)

    def writeFrame(self, channel, frame):
        self.pair.deliver(channel, frame)

    def indicate(self, channel, control, data=None):
        if self.pair.optimized:
            return
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

    def redirect(self, channel, context, exten):
        """
        Send a Local half elsewhere in the dialplan (BlindTransfer): a new
        half takes the pair over and runs exten@context; the old one is hung
        up without telling its partner. False when it cannot be done.
        """
        driver = channel.driver
        pair = getattr(driver, "pair", None)
        if not isinstance(pair, LocalPair) or pair.optimized or channel.hangupRequested:
            return False
        pbx = channel.pbx
        name = channel.name
        renameChannel(channel, name + "<ZOMBIE>")
        new = Channel(pbx, name, self, driver, state=channel.state, context=context,
                      exten=exten, caller=channel.caller.copy(),
                      connected=channel.connected.copy(), language=channel.language,
                      accountcode=channel.accountcode, linkedid=channel.linkedid,
                      nativeFormats=channel.nativeFormats)
        for variable, value in channel.variables.items():
            new.variables.setdefault(variable, value)
        if pair.one is channel:
            pair.one = new
        else:
            pair.two = new
        channel.driver = None
        channel.softHangup(HangupCause.NORMAL_CLEARING, "transfer")
        d = pbx.runDialplan(new)
        d.addErrback(lambda f: log.failure("starting the dialplan on {channel}", f,
                                           channel=new.name))
        return True

    def optimizeAway(self, channel):
        """
        LocalOptimizeAway: lift the pair's 'n' so it is optimised once both
        halves are bridged (at once if they are). False when C{channel} is
        not a Local half.
        """
        pair = getattr(channel.driver, "pair", None)
        if not isinstance(pair, LocalPair):
            return False
        pair.noOptimize = False
        pair.maybeOptimize()
        return True

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


class LocalChannelModule(Module):
    """chan_local: registers the Local technology."""

    def load(self, pbx, registrar):
        registrar.register("technology", LocalTechnology(registrar))
