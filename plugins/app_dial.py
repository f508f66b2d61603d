"""
Dial: call one or more channels in parallel, connect the caller to the
first that answers.

    Dial(TECH/a[&TECH/b...][,timeout[,options]])

Options: C{r} indicate ringing to the caller at once (and hold back early
media), C{g} go on in the dialplan when the called party hangs up,
C{U(sub^arg...)} run a subroutine on the called channel before connecting
(needs app_stack), C{t}/C{T} allow the called/calling party to transfer (kept on the bridge
for the transfer features). Sets DIALSTATUS (ANSWER, BUSY, NOANSWER,
CANCEL, CONGESTION, CHANUNAVAIL), HANGUPCAUSE, DIALEDPEERNAME,
DIALEDPEERNUMBER, DIALEDTIME and ANSWEREDTIME (seconds, and *_MS).
"""

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module
from pbxcore.bridge import Bridge
from pbxcore.channel import CallerID, channelFields
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ApplicationHangup, ChannelHungUp, ChannelUnavailable
from pbxcore.frame import Control, FrameKind, HangupCause

log = Logger(namespace="plugins.app_dial")


def parseOptions(text):
    """Asterisk application options: 'gr' or 'U(sub^a)t' to {letter: arg}."""
    options = {}
    i = 0
    text = text or ""
    while i < len(text):
        letter = text[i]
        i += 1
        arg = ""
        if i < len(text) and text[i] == "(":
            depth = 1
            j = i + 1
            while j < len(text) and depth:
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                j += 1
            arg = text[i + 1:j - 1] if depth == 0 else text[i + 1:]
            i = j
        if not letter.isspace():
            options[letter] = arg
    return options


class _Counts:
    """Why legs failed, Asterisk's handle_cause bookkeeping."""

    def __init__(self):
        self.busy = self.congestion = self.nochan = 0

    def add(self, cause):
        cause = int(cause) if cause is not None else 0
        if cause == HangupCause.USER_BUSY:
            self.busy += 1
        elif cause == HangupCause.NORMAL_CIRCUIT_CONGESTION:
            self.congestion += 1
        elif cause in (HangupCause.NO_ANSWER, HangupCause.NORMAL_CLEARING):
            pass
        else:
            self.nochan += 1

    def status(self, default):
        if self.busy:
            return "BUSY"
        if self.congestion:
            return "CONGESTION"
        if self.nochan:
            return "CHANUNAVAIL"
        return default


def _legStatus(cause):
    cause = int(cause) if cause is not None else 0
    if cause == HangupCause.USER_BUSY:
        return "BUSY"
    if cause in (HangupCause.NORMAL_CIRCUIT_CONGESTION, HangupCause.SWITCH_CONGESTION):
        return "CONGESTION"
    if cause in (HangupCause.NO_ANSWER, HangupCause.NORMAL_CLEARING, 0):
        return "NOANSWER"
    return "CHANUNAVAIL"


class _Leg:
    def __init__(self, channel, dialString):
        self.channel = channel
        self.dialString = dialString


def _noneOnTimeout(result, timeout):
    return None


class Dialer:
    """One run of Dial on one caller."""

    def __init__(self, caller, data):
        self.caller = caller
        self.pbx = caller.pbx
        self.clock = caller.reactor
        args = splitArgs(data)
        self.targets = args[0] if args else ""
        timeout = args[1].strip() if len(args) > 1 else ""
        try:
            self.timeout = float(timeout) if timeout else None
        except ValueError:
            log.warn("Dial: invalid timeout '{timeout}', dialling without one", timeout=timeout)
            self.timeout = None
        self.options = parseOptions(args[2] if len(args) > 2 else "")
        self.counts = _Counts()
        self.legs = {}
        self.pending = {}
        self.queue = defer.DeferredQueue()
        self.sentRinging = False
        self.answered = None

    def _emit(self, name, callee, extra=()):
        events = getattr(self.pbx, "events", None)
        if events is not None and not len(events):
            return
        fields = channelFields(self.caller) + channelFields(callee, "Dest") + list(extra)
        self.pbx.emitEvent(name, fields, "call")

    def _arm(self, channel):
        d = channel.readFrame()
        self.pending[channel] = d

        def got(frame):
            self.queue.put((channel, frame))

        def lost(failure):
            if failure.check(defer.CancelledError):
                return None
            if not failure.check(ChannelHungUp):
                log.failure("Dial: reading {channel} failed", failure, channel=channel.name)
            self.queue.put((channel, None))

        d.addCallbacks(got, lost)

    def _disarm(self):
        for d in self.pending.values():
            if not d.called:
                d.cancel()
        self.pending.clear()

    async def _dropLeg(self, leg, status, cause):
        self.legs.pop(leg.channel, None)
        self._emit("DialEnd", leg.channel, [("DialStatus", status)])
        await leg.channel.hangup(cause)

    async def start(self):
        caller = self.caller
        for target in self.targets.split("&"):
            target = target.strip()
            tech, sep, resource = target.partition("/")
            if not sep or not tech or not resource:
                log.warn("Dial argument takes format (technology/resource), not '{target}'",
                         target=target)
                continue
            try:
                callee = self.pbx.requestChannel(tech, resource, None, caller)
            except ChannelUnavailable as e:
                log.info("Unable to create channel of type '{tech}' (cause {cause} - {text})",
                         tech=tech, cause=int(e.cause), text=str(e))
                self.counts.add(e.cause)
                caller.setVariable("HANGUPCAUSE", str(int(e.cause)))
                continue
            callee.caller = caller.caller.copy()
            callee.connected = caller.caller.copy()
            callee.accountcode = callee.accountcode or caller.accountcode
            leg = _Leg(callee, resource)
            self._emit("DialBegin", callee, [("DialString", target)])
            try:
                await callee.call(resource, self.timeout)
            except ChannelUnavailable as e:
                log.info("Unable to call {target}: {reason}", target=target, reason=str(e))
                self.counts.add(e.cause)
                await self._dropLeg(leg, "CHANUNAVAIL", e.cause)
                continue
            except ChannelHungUp:
                self.counts.add(callee.hangupCause)
                await self._dropLeg(leg, "CHANUNAVAIL", callee.hangupCause)
                continue
            except Exception:
                log.failure("Dial: calling {target} failed", target=target)
                self.counts.add(HangupCause.NORMAL_TEMPORARY_FAILURE)
                await self._dropLeg(leg, "CHANUNAVAIL", HangupCause.NORMAL_TEMPORARY_FAILURE)
                continue
            self.legs[callee] = leg
            self._arm(callee)

    async def waitForAnswer(self):
        """The winning leg, or None with the DIALSTATUS to report."""
        caller = self.caller
        if "r" in self.options:
            await caller.indicate(Control.RINGING)
            self.sentRinging = True
        self._arm(caller)
        deadline = None if self.timeout is None else self.clock.seconds() + self.timeout
        while self.legs:
            d = self.queue.get()
            if deadline is not None:
                left = deadline - self.clock.seconds()
                if left <= 0:
                    d.cancel()
                    return None, "NOANSWER"
                if not d.called:
                    d.addTimeout(left, self.clock, onTimeoutCancel=_noneOnTimeout)
            item = await d
            if item is None:
                return None, "NOANSWER"
            channel, frame = item
            if channel is caller:
                if frame is None:
                    return None, "CANCEL"
                self._arm(caller)
                continue
            leg = self.legs.get(channel)
            if leg is None:
                continue
            if frame is None:
                self.counts.add(channel.hangupCause)
                await self._dropLeg(leg, _legStatus(channel.hangupCause), None)
                continue
            if frame.kind is FrameKind.CONTROL:
                control = frame.subclass
                if control == Control.ANSWER:
                    return leg, "ANSWER"
                if control in (Control.BUSY, Control.CONGESTION):
                    busy = control == Control.BUSY
                    cause = HangupCause.USER_BUSY if busy else HangupCause.NORMAL_CIRCUIT_CONGESTION
                    self.counts.add(cause)
                    caller.setVariable("HANGUPCAUSE", str(int(cause)))
                    await self._dropLeg(leg, "BUSY" if busy else "CONGESTION", cause)
                    continue
                if control == Control.RINGING:
                    self._emit("DialState", channel, [("DialStatus", "RINGING")])
                    if not self.sentRinging:
                        self.sentRinging = True
                        await self._tell(caller.indicate(Control.RINGING))
                elif control in (Control.PROGRESS, Control.PROCEEDING):
                    name = "PROGRESS" if control == Control.PROGRESS else "PROCEEDING"
                    self._emit("DialState", channel, [("DialStatus", name)])
                    if "r" not in self.options:
                        await self._tell(caller.indicate(control))
            elif frame.kind is FrameKind.VOICE and "r" not in self.options:
                await self._tell(caller.writeFrame(frame))
            self._arm(channel)
        return None, self.counts.status("NOANSWER")

    async def _tell(self, coroutine):
        """Pass something to the caller; a caller that is gone shows up as CANCEL."""
        try:
            await coroutine
        except ChannelHungUp:
            pass

    async def abandon(self, status, cause):
        for leg in list(self.legs.values()):
            await self._dropLeg(leg, status, cause)

    async def run(self):
        caller = self.caller
        clock = self.clock
        started = clock.seconds()
        await self.start()
        if not self.legs:
            status = self.counts.status("CHANUNAVAIL")
            self._finish(status, started)
            return
        try:
            winner, status = await self.waitForAnswer()
        finally:
            self._disarm()
        if winner is None:
            cause = HangupCause.NO_ANSWER if status == "NOANSWER" else HangupCause.NORMAL_CLEARING
            await self.abandon(status if status in ("NOANSWER", "CANCEL") else "CANCEL", cause)
            self._finish(status, started)
            if status == "CANCEL":
                raise ChannelHungUp(caller.name)
            return
        callee = winner.channel
        del self.legs[callee]
        self.answered = callee
        await self.abandon("CANCEL", HangupCause.ANSWERED_ELSEWHERE)
        self._emit("DialEnd", callee, [("DialStatus", "ANSWER")])
        if "U" in self.options:
            if not await self.preconnect(callee, self.options["U"], started):
                return
        # The caller's connected line: the party that answered (its driver
        # says who that is, else the number dialled).
        identity = getattr(getattr(callee, "driver", None), "connectedIdentity", None)
        identity = identity() if identity is not None else None
        if identity is None:
            identity = CallerID("", winner.dialString.split("@", 1)[0])
        caller.setConnectedLine(identity.name, identity.number)
        caller.setVariable("DIALEDPEERNAME", callee.name)
        caller.setVariable("DIALEDPEERNUMBER", winner.dialString)
        answered = clock.seconds()
        try:
            await caller.answer()
        except ChannelHungUp:
            await callee.hangup(HangupCause.NORMAL_CLEARING)
            self._finish("CANCEL", started)
            raise
        caller.setVariable("DIALSTATUS", "ANSWER")
        bridge = Bridge(self.pbx)
        bridge.features = {caller: "T" in self.options, callee: "t" in self.options}
        leaver = await bridge.run(caller, callee)
        self._finish("ANSWER", started, answered)
        if leaver is callee or callee.hangupRequested:
            cause = callee.hangupCause or HangupCause.NORMAL_CLEARING
            caller.setVariable("HANGUPCAUSE", str(int(cause)))
            await callee.hangup()
            if "g" in self.options and not caller.hangupRequested:
                return
            raise ApplicationHangup(cause)
        await callee.hangup(HangupCause.NORMAL_CLEARING)
        raise ChannelHungUp(caller.name)

    async def preconnect(self, callee, spec, started):
        """
        U(sub[^arg...]): run the subroutine on the called channel before
        connecting; its GOSUB_RESULT (ABORT, CONGESTION, BUSY, CONTINUE,
        GOTO:[[context^]exten^]priority) may stop the connection. True to
        connect.
        """
        from plugins import app_stack

        caller = self.caller
        target, *args = spec.split("^")
        stack = callee.datastores.setdefault(app_stack.STACK, [])
        depth = len(stack)
        saved = (callee.context, callee.exten, callee.priority)
        callee.context, callee.exten = caller.context, caller.exten
        try:
            app_stack.gosubTo(callee, target, args, "Dial U()")
            returned = await self.pbx.engine.runUntil(callee, lambda: len(stack) <= depth)
        except (ApplicationHangup, ChannelHungUp):
            returned = False
        callee.context, callee.exten, callee.priority = saved
        result = (callee.getVariable("GOSUB_RESULT") or "").strip()
        if returned and not callee.hangupRequested and not result:
            return True
        await callee.hangup(HangupCause.NORMAL_CLEARING)
        upper = result.upper()
        if upper == "ABORT" or not returned:
            self._finish("ANSWER", started)
            raise ApplicationHangup(None)
        if upper in ("BUSY", "CONGESTION", "CONTINUE"):
            self._finish(upper if upper != "CONTINUE" else "ANSWER", started)
            if upper == "BUSY":
                raise ApplicationHangup(HangupCause.USER_BUSY)
            if upper == "CONGESTION":
                raise ApplicationHangup(HangupCause.NORMAL_CIRCUIT_CONGESTION)
            return False
        if upper.startswith("GOTO:"):
            self._finish("ANSWER", started)
            try:
                self.pbx.engine.goto(caller, result[5:].replace("^", ","))
            except ValueError as e:
                log.warn("Dial U(): {error}", error=str(e))
                raise ApplicationHangup(None)
            return False
        log.warn("Dial U(): unknown GOSUB_RESULT '{result}'", result=result)
        return True

    def _finish(self, status, started, answered=None):
        caller = self.caller
        now = self.clock.seconds()
        caller.setVariable("DIALSTATUS", status)
        dialed = now - started
        talk = (now - answered) if answered is not None else 0.0
        caller.setVariable("DIALEDTIME", str(int(dialed)))
        caller.setVariable("DIALEDTIME_MS", str(int(dialed * 1000)))
        caller.setVariable("ANSWEREDTIME", str(int(talk)) if answered is not None else "")
        caller.setVariable("ANSWEREDTIME_MS", str(int(talk * 1000)) if answered is not None else "")


async def dial(channel, data):
    if not data or not data.strip():
        log.warn("Dial requires an argument (technology/resource)")
        raise ApplicationHangup(None)
    dialer = Dialer(channel, data)
    try:
        await dialer.run()
    finally:
        # Whatever happened, no outgoing leg outlives this Dial.
        for leg in list(dialer.legs.values()):
            await leg.channel.hangup(HangupCause.NORMAL_CLEARING)
        if dialer.answered is not None and not dialer.answered.isHungUp:
            await dialer.answered.hangup(HangupCause.NORMAL_CLEARING)


class AppDialModule(Module):
    """The Dial application."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Dial", dial, "Attempt to connect to another device or endpoint and bridge the call",
            __doc__))
