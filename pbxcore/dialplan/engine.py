"""
The dialplan engine: runs each channel's dialplan as an async task.

Every step is looked up in C{pbx.dialplan} afresh, so a reload swaps the
dialplan under live calls without dropping them: a call simply continues at
its (context, exten, priority) in the new dialplan.
"""

import enum
import inspect
from types import CoroutineType

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.errors import ApplicationHangup, ChannelHungUp, ChannelUnavailable
from pbxcore.frame import ChannelState, Control, FrameKind, HangupCause


def _verboseLevel(pbx) -> int:
    """The PBX-wide verbose setting (pbx.conf [options] verbose); 0 when unset."""
    settings = getattr(pbx, "settings", None)
    try:
        return int(settings["verbose"]) if settings is not None else 0
    except (KeyError, TypeError, ValueError):
        return 0


class PBXResult(enum.Enum):
    """What starting the PBX on a channel came to (ast_pbx_result)."""

    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CALL_LIMIT = "CALL_LIMIT"


#: Originate reasons as the manager reports them (Asterisk's numbers).
ORIGINATE_FAILURE = 0
ORIGINATE_HANGUP = 1
ORIGINATE_RINGING = 3
ORIGINATE_ANSWERED = 4
ORIGINATE_BUSY = 5
ORIGINATE_CONGESTION = 8

#: Auto-fallthrough: the cause a channel leaves with when its extension runs
#: out, from the last DIALSTATUS (as Asterisk's autofallthrough does).
_FALLTHROUGH_CAUSES = {
    "BUSY": HangupCause.USER_BUSY,
    "CONGESTION": HangupCause.NORMAL_CIRCUIT_CONGESTION,
    "CHANUNAVAIL": HangupCause.NORMAL_CIRCUIT_CONGESTION,
}


def _loadExpr():
    from pbxcore.dialplan import expr

    return expr


class DialplanEngine:
    """
    Runs dialplans (pbx_start / pbx_run), requests channels and originates
    calls for one PBX.
    """

    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx
        #: Dialplan tasks running now, and ever started.
        self.activeCalls = 0
        self.totalCalls = 0
        self._expr = None

    # -- starting ----------------------------------------------------------------

    def _maxCalls(self):
        settings = getattr(self.pbx, "settings", None)
        if settings is None:
            return None
        try:
            return settings["maxcalls"]
        except KeyError:
            return None

    def start(self, channel):
        """
        Start the dialplan on C{channel} at its context/exten/priority. Fires
        at once with a L{PBXResult}; C{channel.pbxTask} fires when the
        dialplan (and the hangup handler) have finished.
        """
        maxCalls = self._maxCalls()
        if maxCalls and self.activeCalls >= maxCalls:
            self.log.warn("Maximum call limit of {maxcalls} calls exceeded by '{channel}'",
                          maxcalls=maxCalls, channel=channel.name)
            channel.owned = True
            channel.hangup(HangupCause.SWITCH_CONGESTION)
            return defer.succeed(PBXResult.CALL_LIMIT)
        if channel.pbxTask is not None or channel.isHungUp:
            self.log.error("cannot start the dialplan on '{channel}': already running or gone",
                           channel=channel.name)
            return defer.succeed(PBXResult.FAILED)
        channel.owned = True
        self.activeCalls += 1
        self.totalCalls += 1
        channel.pbxTask = task = defer.Deferred.fromCoroutine(self.run(channel))
        task.addErrback(self._taskFailed, channel)
        task.addBoth(self._taskDone)
        return defer.succeed(PBXResult.SUCCESS)

    def _taskFailed(self, failure, channel):
        self.log.failure("dialplan task of '{channel}' failed", failure, channel=channel.name)

    def _taskDone(self, result):
        self.activeCalls -= 1
        return result

    # -- running -----------------------------------------------------------------

    async def run(self, channel, hangupAfter=True):
        """
        Run the dialplan to its end, then the 'h' extension when there is
        one, then hang the channel up (unless C{hangupAfter} is false).
        """
        try:
            await self._runSteps(channel, False)
        except Exception:
            self.log.failure("dialplan of '{channel}' failed", channel=channel.name)
        try:
            await self._runHangupHandler(channel)
        except Exception:
            self.log.failure("hangup handler of '{channel}' failed", channel=channel.name)
        if hangupAfter:
            await channel.hangup()

    async def _runHangupHandler(self, channel):
        dialplan = self.pbx.dialplan
        if dialplan is None or channel.inHangupHandler:
            return
        if dialplan.find(channel.context, "h", 1, channel.caller.number or None) is None:
            return
        channel.inHangupHandler = True
        if not channel.hangupRequested:
            channel.hangupRequested = True
            channel.failReaders()
        channel.exten = "h"
        channel.priority = 1
        await self._runSteps(channel, True)

    def _substituter(self, channel):
        expr = self._expr
        if expr is None:
            expr = self._expr = _loadExpr()
        functions = self.pbx.registry("function")

        def callFunction(name, args):
            return self.callFunction(channel, name, args, functions)

        def onError(error):
            self.log.warn("'{channel}': {error}", channel=channel.name, error=str(error))

        def substitute(text):
            return expr.substitute(text, channel.getVariable, callFunction, onError)

        return substitute

    def substitute(self, channel, text):
        """C{text} with ${VAR}, ${FUNC(args)} and $[expr] replaced for C{channel}."""
        if "$" not in text:
            return text
        return self._substituter(channel)(text)

    def callFunction(self, channel, name, args, functions=None):
        """Read a dialplan function; unknown or failing functions give ''."""
        if functions is None:
            functions = self.pbx.registry("function")
        function = functions.get(name)
        if function is None:
            self.log.warn("Function {name} not registered", name=name)
            return ""
        try:
            value = function.read(channel, args)
        except Exception:
            self.log.failure("Function {name}({args}) failed on '{channel}'", name=name,
                             args=args, channel=getattr(channel, "name", None))
            return ""
        return "" if value is None else str(value)

    def writeFunction(self, channel, name, args, value):
        """Write a dialplan function (Set(FUNC(args)=value)); False if unknown."""
        function = self.pbx.registry("function").get(name)
        if function is None:
            if name.upper() == "GLOBAL":
                self.pbx.globals[args] = value
                return True
            self.log.warn("Function {name} not registered", name=name)
            return False
        function.write(channel, args, value)
        return True

    async def runUntil(self, channel, done):
        """
        Run C{channel}'s dialplan from where it stands until C{done()} is
        true after a step (a pre-connect subroutine's Return) or the
        dialplan ends; the channel is not hung up. True when C{done()} was
        reached.
        """
        await self._runSteps(channel, False, done)
        return bool(done())

    async def _runSteps(self, channel, inHangup, until=None):
        pbx = self.pbx
        apps = pbx.registry("application")
        substitute = None
        events = getattr(pbx, "events", None)
        appCache = {}
        traceSteps = _verboseLevel(pbx) >= 3
        while inHangup or not channel.hangupRequested:
            dialplan = pbx.dialplan
            if dialplan is None:
                self.log.error("no dialplan is loaded: hanging up '{channel}'",
                               channel=channel.name)
                if channel.hangupCause is None:
                    channel.hangupCause = HangupCause.UNALLOCATED
                return
            cid = channel.caller.number or None
            step = dialplan.find(channel.context, channel.exten, channel.priority, cid)
            if step is None:
                if inHangup or not self._handleMissing(channel, dialplan, cid):
                    return
                continue
            data = step.data or ""
            if "$" in data:
                if substitute is None:
                    substitute = self._substituter(channel)
                data = substitute(data)
            app = appCache.get(step.app)
            if app is None:
                app = appCache[step.app] = apps.get(step.app)
            channel.appl = step.app
            channel.data = data
            if events is None or len(events):
                from pbxcore.channel import channelFields

                fields = channelFields(channel)
                fields.extend((("Extension", channel.exten),
                               ("Application", step.app), ("AppData", data)))
                pbx.emitEvent("NewExten", fields, "dialplan")
            if app is None:
                self.log.error(
                    "No application '{app}' for extension ({context}, {exten}, {priority}) "
                    "at {filename}:{line}", app=step.app, context=channel.context,
                    exten=channel.exten, priority=channel.priority,
                    filename=step.filename, line=step.line)
                if channel.hangupCause is None:
                    channel.hangupCause = HangupCause.NORMAL_CLEARING
                return
            if traceSteps:
                # Asterisk's verbose level 3 trace of each dialplan step.
                self.log.info('Executing [{exten}@{context}:{priority}] {app}("{channel}", '
                              '"{data}")', exten=channel.exten, context=channel.context,
                              priority=channel.priority, app=step.app, channel=channel.name,
                              data=data)
            channel.jumped = False
            try:
                result = app.execute(channel, data)
                if result is not None and (type(result) is CoroutineType
                                           or inspect.isawaitable(result)):
                    await result
            except ApplicationHangup as e:
                if e.cause is not None and channel.hangupCause is None:
                    channel.hangupCause = e.cause
                return
            except ChannelHungUp:
                return
            except Exception:
                self.log.failure("{app}({data}) failed on '{channel}' at {filename}:{line}",
                                 app=step.app, data=data, channel=channel.name,
                                 filename=step.filename, line=step.line)
                return
            if channel.jumped:
                channel.jumped = False
            else:
                channel.priority += 1
            if until is not None and until():
                return

    def _handleMissing(self, channel, dialplan, cid):
        """
        The step is missing: fall through and end when the extension ran
        out, go to 'i' for an invalid extension, else end. True to go on.
        """
        context, exten = channel.context, channel.exten
        if dialplan.find(context, exten, 1, cid) is not None:
            status = channel.getVariable("DIALSTATUS") or ""
            self.log.debug("Auto fallthrough, channel '{channel}' status is '{status}'",
                           channel=channel.name, status=status or "UNKNOWN")
            if channel.hangupCause is None:
                channel.hangupCause = _FALLTHROUGH_CAUSES.get(status, HangupCause.NORMAL_CLEARING)
            return False
        if exten != "i" and dialplan.find(context, "i", 1, cid) is not None:
            channel.setVariable("INVALID_EXTEN", exten)
            channel.exten = "i"
            channel.priority = 1
            return True
        self.log.warn("Channel '{channel}' sent to invalid extension but no invalid handler: "
                      "context,exten,priority={context},{exten},{priority}",
                      channel=channel.name, context=context, exten=exten,
                      priority=channel.priority)
        if channel.hangupCause is None:
            channel.hangupCause = HangupCause.UNALLOCATED
        return False

    # -- positions -----------------------------------------------------------------

    def resolvePriority(self, channel, context, exten, priority):
        """
        A priority number from '5', a label, '+2'/'-1' (relative to the
        current one) or 'n' (next); None for an unknown label.
        """
        priority = str(priority).strip()
        if priority.isdigit():
            return int(priority)
        if priority[:1] in "+-" and priority[1:].isdigit():
            return channel.priority + int(priority)
        if priority == "n":
            return channel.priority + 1
        dialplan = self.pbx.dialplan
        if dialplan is None:
            return None
        return dialplan.findLabel(context, exten, priority, channel.caller.number or None)

    def parseGoto(self, channel, target):
        """
        Resolve '[[context,]exten,]priority' (Asterisk's parseable goto) to
        (context, exten, priority) or raise ValueError with the reason.
        """
        from pbxcore.dialplan import expr

        parts = [p.strip() for p in expr.splitArgs(target)] if target else []
        if not parts or not parts[-1] or len(parts) > 3:
            raise ValueError(f"bad goto target {target!r}")
        context, exten = channel.context, channel.exten
        if len(parts) == 3:
            context, exten, priority = parts
            context = context or channel.context
            exten = exten or channel.exten
        elif len(parts) == 2:
            exten, priority = parts
            exten = exten or channel.exten
        else:
            priority = parts[0]
        number = self.resolvePriority(channel, context, exten, priority)
        if number is None:
            raise ValueError(f"priority label '{priority}' not found in {exten}@{context}")
        return context, exten, number

    def goto(self, channel, target):
        """Move C{channel} to the parseable goto C{target} (raises ValueError)."""
        context, exten, priority = self.parseGoto(channel, target)
        channel.goto(context, exten, priority)

    # -- channels ------------------------------------------------------------------

    def requestChannel(self, tech, dest, formats=None, requestor=None):
        """
        A new outgoing channel (owned by the caller of this method) or
        ChannelUnavailable with a cause.
        """
        technology = self.pbx.registry("technology").get(tech)
        if technology is None:
            raise ChannelUnavailable(HangupCause.CHAN_NOT_IMPLEMENTED,
                                     f"no channel technology '{tech}'")
        channel = technology.request(self.pbx, dest, formats, requestor)
        channel.owned = True
        return channel

    async def waitForAnswer(self, channel, timeout):
        """
        Wait for an outgoing channel to answer: returns an ORIGINATE_* reason
        (ANSWERED, BUSY, CONGESTION, HANGUP, RINGING = timed out).
        """
        clock = self.pbx.reactor
        deadline = clock.seconds() + timeout if timeout else None
        while True:
            if channel.state == ChannelState.UP:
                return ORIGINATE_ANSWERED
            left = None if deadline is None else deadline - clock.seconds()
            if left is not None and left <= 0:
                return ORIGINATE_RINGING
            try:
                frame = await channel.readFrame(left)
            except ChannelHungUp:
                cause = channel.hangupCause
                if cause == HangupCause.USER_BUSY:
                    return ORIGINATE_BUSY
                if cause in (HangupCause.NORMAL_CIRCUIT_CONGESTION, HangupCause.SWITCH_CONGESTION):
                    return ORIGINATE_CONGESTION
                return ORIGINATE_HANGUP
            if frame is None:
                return ORIGINATE_RINGING
            if frame.kind is FrameKind.CONTROL:
                if frame.subclass == Control.ANSWER:
                    return ORIGINATE_ANSWERED
                if frame.subclass == Control.BUSY:
                    return ORIGINATE_BUSY
                if frame.subclass == Control.CONGESTION:
                    return ORIGINATE_CONGESTION

    async def _runOriginateApplication(self, channel, application, data):
        """Run an originated call's application, then hang the channel up."""
        channel.owned = True
        channel.appl = application
        channel.data = data or ""
        app = self.pbx.registry("application").get(application)
        try:
            if app is None:
                self.log.error("Originate: no application '{app}'", app=application)
            else:
                r = app.execute(channel, self.substitute(channel, data or ""))
                if r is not None and inspect.isawaitable(r):
                    await r
        except (ApplicationHangup, ChannelHungUp):
            pass
        except Exception:
            self.log.failure("Originate: {app}({data}) failed", app=application, data=data)
        await channel.hangup()

    async def originate(self, tech, dest, *, timeout=30.0, context=None, exten=None,
                        priority=1, application=None, data="", callerID=None,
                        variables=(), account="", actionID=None):
        """
        Call C{tech/dest}; once it answers run the dialplan at
        context/exten/priority, or the application C{application(data)}
        then hang up. Emits OriginateResponse and returns a dict with
        Response ('Success'/'Failure'), Reason, Channel and Uniqueid.
        """
        from pbxcore.channel import CallerID

        pbx = self.pbx
        channel = None
        reason = ORIGINATE_FAILURE
        try:
            channel = self.requestChannel(tech, dest)
        except ChannelUnavailable as e:
            self.log.warn("Originate {tech}/{dest} failed: {reason}", tech=tech, dest=dest,
                          reason=str(e))
        if channel is not None:
            if callerID is not None:
                name, number = callerID if isinstance(callerID, tuple) else (callerID.name,
                                                                            callerID.number)
                channel.caller = CallerID(name or "", number or "")
                # As Asterisk's originate does: the far end (the ;2 half of a
                # Local channel, a phone's display) sees the same party.
                channel.connected = CallerID(name or "", number or "")
            if account:
                channel.accountcode = account
            for name, value in (variables.items() if hasattr(variables, "items") else variables):
                channel.setVariable(name, value)
            if context:
                channel.context = context
            if exten:
                channel.exten = exten
            try:
                await channel.call(dest, timeout)
                reason = await self.waitForAnswer(channel, timeout)
            except ChannelHungUp:
                reason = ORIGINATE_HANGUP
            except Exception:
                self.log.failure("Originate {tech}/{dest} failed", tech=tech, dest=dest)
                reason = ORIGINATE_FAILURE
        success = reason == ORIGINATE_ANSWERED
        result = {
            "Response": "Success" if success else "Failure",
            "Channel": channel.name if channel is not None else f"{tech}/{dest}",
            "Context": context or "",
            "Exten": exten or "",
            "Application": application or "",
            "Data": data or "",
            "Reason": str(reason),
            "Uniqueid": channel.uniqueid if channel is not None else "<null>",
            "CallerIDNum": (channel.caller.number if channel is not None else "") or "<unknown>",
            "CallerIDName": (channel.caller.name if channel is not None else "") or "<unknown>",
        }
        fields = ([("ActionID", actionID)] if actionID is not None else []) + list(result.items())
        pbx.emitEvent("OriginateResponse", fields, "call")
        if not success:
            if channel is not None:
                await channel.hangup(HangupCause.NO_ANSWER if reason == ORIGINATE_RINGING
                                     else None)
            return result
        if application:
            # The caller (a synchronous manager Originate) is answered once the
            # channel is up, as Asterisk does; the application runs on its own.
            d = defer.ensureDeferred(self._runOriginateApplication(channel, application, data))
            d.addErrback(lambda f: self.log.failure(
                "Originate: {app} on {channel} failed", f, app=application, channel=channel.name))
        else:
            channel.priority = int(priority) if str(priority).isdigit() else (
                self.resolvePriority(channel, channel.context, channel.exten, priority) or 1)
            self.start(channel)
        return result
