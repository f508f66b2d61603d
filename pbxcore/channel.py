"""
Channels: one leg of a call as the core sees it.

A channel technology (SIP, Local, Test) creates a L{Channel} and hands it an
L{IChannelDriver}. The core acts on the far end through the driver; the
driver reports the far end with L{Channel.frameReceived},
L{Channel.controlReceived} and L{Channel.hungUp}. Applications read with
C{await channel.readFrame()}, which fails with L{ChannelHungUp} once the
channel is hung up.

Ownership: whoever runs a channel (the dialplan engine for an inbound
channel, the requester for an outgoing one) is responsible for the final
L{Channel.hangup}. A hangup from the far end (L{Channel.hungUp}) or from the
core elsewhere (L{Channel.softHangup}) is a request: it fails pending reads
so the owner notices, and the owner tears the channel down. A channel nobody
owns is torn down at once.

Module use counts: a technology object may carry the IRegistrar of its
module as C{registrar}; each live channel then holds one use of the module
(C{registrar.ref()} at creation, C{unref()} at the final hangup).
"""

import inspect
import re
import time
from dataclasses import dataclass

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.errors import ChannelHungUp
from pbxcore.frame import (
    ChannelState,
    Control,
    FrameKind,
    HangupCause,
    asCause,
    causeText,
    controlFrame,
)

#: Voice frames kept unread before the oldest are dropped.
DEFAULT_QUEUE_SIZE = 100


@dataclass
class CallerID:
    """A party's identity (caller or connected line)."""

    name: str = ""
    number: str = ""
    presentation: str = "allowed_not_screened"
    ani: str = ""

    def copy(self):
        return CallerID(self.name, self.number, self.presentation, self.ani)

    def __str__(self):
        if self.name and self.number:
            return f'"{self.name}" <{self.number}>'
        return self.number or self.name or ""


def channelFields(channel, prefix=""):
    """
    The standard channel block of manager events, in Asterisk's order;
    C{prefix} ('Dest') for the second channel of Dial and bridge events.
    """
    p = prefix
    caller = channel.caller
    connected = channel.connected
    state = channel.state
    return [
        (p + "Channel", channel.name),
        (p + "ChannelState", str(int(state))),
        (p + "ChannelStateDesc", state.description),
        (p + "CallerIDNum", caller.number or "<unknown>"),
        (p + "CallerIDName", caller.name or "<unknown>"),
        (p + "ConnectedLineNum", connected.number or "<unknown>"),
        (p + "ConnectedLineName", connected.name or "<unknown>"),
        (p + "Language", channel.language),
        (p + "AccountCode", channel.accountcode),
        (p + "Context", channel.context),
        (p + "Exten", channel.exten),
        (p + "Priority", str(channel.priority)),
        (p + "Uniqueid", channel.uniqueid),
        (p + "Linkedid", channel.linkedid),
    ]


def technologyName(channel) -> str:
    """The technology's name ("SIP", "Local") as Asterisk shows it in Type."""
    technology = getattr(channel, "technology", None)
    if technology is None:
        return ""
    return technology if isinstance(technology, str) else getattr(technology, "name", "")


def _stripInherit(name):
    """A variable's plain name and its inheritance level (0, 1 '_' or 2 '__')."""
    if name.startswith("__"):
        return name[2:], 2
    if name.startswith("_"):
        return name[1:], 1
    return name, 0


class Channel:
    """One call leg. Created by a channel technology; registers itself in
    C{pbx.channels} and announces itself with Newchannel."""

    log = Logger()

    def __init__(self, pbx, name, technology=None, driver=None, *, state=ChannelState.DOWN,
                 context="default", exten="s", priority=1, caller=None, connected=None,
                 language=None, accountcode="", requestor=None, linkedid=None,
                 uniqueid=None, queueSize=DEFAULT_QUEUE_SIZE, nativeFormats=("ulaw",)):
        self.pbx = pbx
        self._events = getattr(pbx, "events", None)
        self.technology = technology
        self.driver = driver
        self.reactor = getattr(pbx, "reactor", None)
        channels = getattr(pbx, "channels", None)
        if uniqueid is None:
            uniqueid = channels.nextUniqueid() if channels is not None else f"{time.time():.6f}"
        self.uniqueid = uniqueid
        self.name = name
        self.linkedid = linkedid or (requestor.linkedid if requestor is not None else uniqueid)
        self.state = ChannelState(state)
        self.caller = caller if caller is not None else CallerID()
        self.connected = connected if connected is not None else CallerID()
        self.context = context
        self.exten = exten
        self.priority = priority
        if language is None:
            settings = getattr(pbx, "settings", None)
            language = (settings.get("defaultlanguage", "en") if settings is not None else "en") or "en"
        self.language = language
        self.accountcode = accountcode
        self.amaflags = "DOCUMENTATION"
        self.appl = ""
        self.data = ""
        self.nativeFormats = tuple(nativeFormats)
        self.creationTime = self.reactor.seconds() if self.reactor is not None else time.time()
        self.answerTime = None
        self.hangupCause = None
        self.hangupSource = ""
        self.datastores = {}
        self.variables = {}
        self._inherit = {}
        self.bridge = None
        self.requestor = requestor
        #: Seconds the dialplan waits for a first digit / between digits.
        self.responseTimeout = 10.0
        self.digitTimeout = 5.0
        #: The dialplan task (a Deferred) while the engine runs this channel.
        self.pbxTask = None
        #: Set by the engine while the 'h' extension runs.
        self.inHangupHandler = False
        #: True when someone (engine, requester) will do the final hangup.
        self.owned = False
        self.hangupRequested = False
        self.isHungUp = False
        #: Set by a jump (Goto and friends); the dialplan engine clears it.
        self.jumped = False
        self._farEndGone = False
        self._queue = defer.DeferredQueue()
        self._queueSize = queueSize
        self._waiters = []
        self._hangupObservers = []
        self._registrar = getattr(technology, "registrar", None)
        if self._registrar is not None:
            self._registrar.ref()
        if requestor is not None:
            self.inheritVariablesFrom(requestor)
        if channels is not None:
            channels.created += 1
            if self.linkedid == self.uniqueid:
                channels.calls += 1
            channels.add(self)
        self._emit("Newchannel", None, "call")

    def __repr__(self):
        return f"<Channel {self.name} {self.state.description}>"

    # -- events ----------------------------------------------------------------

    def _emit(self, name, extra, category):
        events = self._events
        if events is not None and not events.wants(name):
            return
        fields = channelFields(self)
        if extra:
            fields.extend(extra)
        self.pbx.emitEvent(name, fields, category)

    # -- state -------------------------------------------------------------------

    @property
    def isUp(self):
        return self.state == ChannelState.UP

    def setState(self, state):
        """Change state and announce it with Newstate (no event if unchanged)."""
        state = ChannelState(state)
        if state == self.state:
            return
        self.state = state
        if state == ChannelState.UP and self.answerTime is None:
            self.answerTime = self.reactor.seconds() if self.reactor is not None else time.time()
        self._emit("Newstate", None, "call")

    def setCallerID(self, name=None, number=None):
        """Change the caller id and announce it with NewCallerid."""
        if name is not None:
            self.caller.name = name
        if number is not None:
            self.caller.number = number
        self._emit("NewCallerid", [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
                   "call")

    def setConnectedLine(self, name=None, number=None):
        """Change the connected line and announce it with NewConnectedLine."""
        if name is not None:
            self.connected.name = name
        if number is not None:
            self.connected.number = number
        self._emit("NewConnectedLine", None, "call")

    # -- dialplan position -------------------------------------------------------

    def goto(self, context=None, exten=None, priority=1):
        """
        Move the dialplan to (context, exten, priority): the engine runs that
        step next instead of advancing.
        """
        if context:
            self.context = context
        if exten:
            self.exten = exten
        self.priority = int(priority)
        self.jumped = True

    # -- variables ---------------------------------------------------------------

    def getVariable(self, name):
        """
        A channel variable, a built-in (EXTEN, CONTEXT, ...) or a global;
        None when unset. Inheritance marks ('_', '__') are not part of the name.
        """
        value = self.variables.get(name)
        if value is not None:
            return value
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            return builtin(self)
        if name.startswith("_"):
            return self.variables.get(_stripInherit(name)[0])
        globals_ = getattr(self.pbx, "globals", None)
        if globals_:
            return globals_.get(name)
        return None

    def setVariable(self, name, value):
        """
        Set (or with None, unset) a channel variable and announce it with
        VarSet. '_NAME' is inherited by channels this one creates, once;
        '__NAME' forever.
        """
        if name[:1] == "_":
            plain, level = _stripInherit(name)
        else:
            plain, level = name, 0
        if value is None:
            self.variables.pop(plain, None)
            self._inherit.pop(plain, None)
        else:
            value = str(value)
            self.variables[plain] = value
            if level:
                self._inherit[plain] = level
            else:
                self._inherit.pop(plain, None)
        self._emit("VarSet", [("Variable", name), ("Value", "" if value is None else value)],
                   "dialplan")

    def inheritance(self) -> dict:
        """The inheritable variables' names and levels (1 for _NAME, 2 for __NAME)."""
        return dict(self._inherit)

    def adoptVariables(self, other):
        """
        Take every variable of C{other} this channel lacks, and its
        inheritance levels (the two halves of a Local channel).
        """
        for name, value in other.variables.items():
            if name not in self.variables:
                self.variables[name] = value
        for name, level in other.inheritance().items():
            self._inherit.setdefault(name, level)

    def inheritVariablesFrom(self, parent):
        """Copy the parent's inheritable variables (ast_channel_inherit_variables)."""
        for name, level in parent.inheritance().items():
            value = parent.variables.get(name)
            if value is None:
                continue
            self.variables[name] = value
            if level == 2:
                self._inherit[name] = 2

    def inheritableVariables(self):
        """(name with marks, value) of the variables a new channel inherits."""
        return [("_" * level + name, self.variables[name])
                for name, level in self._inherit.items() if name in self.variables]

    # -- reading -----------------------------------------------------------------

    def readFrame(self, timeout=None):
        """
        A Deferred firing with the next frame from the far end; with
        C{timeout} (seconds) it fires with None when nothing came. Fails with
        L{ChannelHungUp} once hangup is requested.
        """
        if self.hangupRequested:
            return defer.fail(ChannelHungUp(self.name))
        d = self._queue.get()
        if timeout is not None and not d.called:
            d.addTimeout(timeout, self.reactor, onTimeoutCancel=_timedOut)
        return d

    def abandonRead(self, d):
        """Fire a pending L{readFrame} with None (no frame lost; no failure, unlike cancel)."""
        if not d.called and d in self._queue.waiting:
            self._queue.waiting.remove(d)
            d.callback(None)

    def pendingFrames(self):
        """How many frames wait to be read."""
        return len(self._queue.pending)

    def _enqueue(self, frame):
        queue = self._queue
        if not queue.waiting and len(queue.pending) >= self._queueSize:
            pending = queue.pending
            for i, old in enumerate(pending):
                if old.kind is FrameKind.VOICE:
                    del pending[i]
                    break
            else:
                if frame.kind is FrameKind.VOICE:
                    return
        queue.put(frame)

    async def sleep(self, seconds):
        """
        Wait C{seconds} while discarding what the far end sends
        (ast_safe_sleep); raises L{ChannelHungUp} on hangup.
        """
        clock = self.reactor
        deadline = clock.seconds() + seconds
        while True:
            left = deadline - clock.seconds()
            if left <= 0:
                return
            frame = await self.readFrame(left)
            if frame is None:
                return

    async def waitForDigit(self, timeout, digits=None):
        """
        The next DTMF digit (on its end), or None after C{timeout} seconds;
        C{digits} restricts which digits count. Other frames are discarded.
        """
        clock = self.reactor
        deadline = clock.seconds() + timeout
        while True:
            left = deadline - clock.seconds()
            if left <= 0:
                return None
            frame = await self.readFrame(left)
            if frame is None:
                return None
            if frame.kind is FrameKind.DTMF_END and (not digits or frame.subclass in digits):
                return frame.subclass

    # -- acting on the far end ---------------------------------------------------

    def _check(self):
        if self.hangupRequested:
            raise ChannelHungUp(self.name)

    async def _callDriver(self, method, *args):
        driver = self.driver
        if driver is None:
            return None
        result = getattr(driver, method)(self, *args)
        if result is not None and (isinstance(result, defer.Deferred)
                                   or inspect.isawaitable(result)):
            result = await result
        return result

    async def answer(self):
        """Answer the channel (no-op when already up)."""
        self._check()
        if self.state == ChannelState.UP:
            return
        await self._callDriver("answer")
        self.setState(ChannelState.UP)

    async def writeFrame(self, frame):
        """Send a frame to the far end; DTMF frames go out as digits."""
        self._check()
        if frame.kind is FrameKind.DTMF_END:
            await self._callDriver("sendDigitEnd", frame.subclass, frame.durationMs)
            return
        if frame.kind is FrameKind.DTMF_BEGIN:
            await self._callDriver("sendDigitBegin", frame.subclass)
            return
        if frame.kind is FrameKind.CONTROL:
            await self._callDriver("indicate", frame.subclass, frame.data or None)
            return
        if frame.kind is FrameKind.TEXT:
            await self._callDriver("sendText", frame.data.decode("utf-8", "replace"))
            return
        if frame.kind is FrameKind.NULL:
            return
        driver = self.driver
        if driver is not None:
            result = driver.writeFrame(self, frame)
            if isinstance(result, defer.Deferred):
                await result

    async def indicate(self, control, data=None):
        """Signal a Control (ringing, busy, progress, hold) to the far end."""
        self._check()
        await self._callDriver("indicate", Control(control), data)

    async def sendDigit(self, digit, durationMs=100):
        """Send one DTMF digit (begin and end)."""
        self._check()
        await self._callDriver("sendDigitBegin", digit)
        await self._callDriver("sendDigitEnd", digit, durationMs)
        self._emit("DTMFEnd", [("Digit", digit), ("DurationMs", str(durationMs)),
                               ("Direction", "Sent")], "dtmf")

    async def sendText(self, text):
        self._check()
        await self._callDriver("sendText", text)

    async def call(self, dest, timeout=None):
        """Start calling the far end (the requester does this)."""
        self._check()
        await self._callDriver("call", dest, timeout)

    # -- hangup ------------------------------------------------------------------

    def _requestHangup(self, cause, event, source=""):
        if self.isHungUp:
            return
        if self.hangupCause is None and cause is not None:
            self.hangupCause = asCause(cause)
        if source and not self.hangupSource:
            self.hangupSource = source
        first = not self.hangupRequested
        self.hangupRequested = True
        if first:
            self._emit(event, [("Cause", str(int(self.hangupCause or 0)))], "call")
            self.failReaders()
        if not self.owned:
            self.hangup(cause)

    def softHangup(self, cause=HangupCause.NORMAL_CLEARING, source=""):
        """
        Ask the channel to hang up (AMI Hangup, a lost Dial race): pending
        reads fail, the owner then finishes the hangup.
        """
        self._requestHangup(cause, "SoftHangupRequest", source)

    def cancelReads(self):
        """Cancel every pending readFrame() (its reader stops waiting; the channel stays up)."""
        for d in list(self._queue.waiting):
            d.cancel()

    def failReaders(self):
        """Fail every pending readFrame() with ChannelHungUp (hangup, the h extension)."""
        waiting = list(self._queue.waiting)
        del self._queue.waiting[:]
        for d in waiting:
            d.errback(ChannelHungUp(self.name))

    def hangup(self, cause=None):
        """
        Tear the channel down for good: tell the driver (unless the far end
        already went), fail reads, announce Hangup, leave the channel list.
        Idempotent.
        """
        if self.isHungUp:
            return defer.succeed(None)
        if cause is None:
            cause = self.hangupCause if self.hangupCause is not None else HangupCause.NORMAL_CLEARING
        if self.hangupCause is None:
            self.hangupCause = asCause(cause)
        self.hangupRequested = True
        self.isHungUp = True
        self.failReaders()
        d = None
        driver = self.driver
        if driver is not None and not self._farEndGone:
            try:
                d = driver.hangup(self, self.hangupCause)
            except Exception:
                self.log.failure("driver hangup of {channel} failed", channel=self.name)
            if isinstance(d, defer.Deferred):
                d.addErrback(lambda f: self.log.failure("driver hangup of {channel} failed", f,
                                                        channel=self.name))
            else:
                d = None
        causeNum = int(self.hangupCause)
        self._emit("Hangup", [("Cause", str(causeNum)), ("Cause-txt", causeText(causeNum))], "call")
        channels = getattr(self.pbx, "channels", None)
        if channels is not None:
            causes = channels.hangupCauses
            causes[causeNum] = causes.get(causeNum, 0) + 1
            channels.remove(self)
        if self._registrar is not None:
            self._registrar.unref()
            self._registrar = None
        observers, self._hangupObservers = self._hangupObservers, []
        for callback in observers:
            try:
                callback(self)
            except Exception:
                self.log.failure("hangup observer of {channel} failed", channel=self.name)
        return d if d is not None else defer.succeed(None)

    def notifyOnHangup(self, callback):
        """Call C{callback(channel)} once the channel is finally hung up."""
        if self.isHungUp:
            callback(self)
        else:
            self._hangupObservers.append(callback)

    def whenHungUp(self):
        """A Deferred firing with the channel after its final hangup."""
        d = defer.Deferred()
        self.notifyOnHangup(d.callback)
        return d

    # -- driver to core ------------------------------------------------------------

    def frameReceived(self, frame):
        """The driver delivers media, DTMF or text from the far end."""
        if self.hangupRequested:
            return
        kind = frame.kind
        if kind is FrameKind.CONTROL:
            self.controlReceived(frame.subclass, frame.data or None)
            return
        if kind is FrameKind.DTMF_END:
            self._emit("DTMFEnd", [("Digit", frame.subclass),
                                   ("DurationMs", str(frame.durationMs)),
                                   ("Direction", "Received")], "dtmf")
        elif kind is FrameKind.DTMF_BEGIN:
            self._emit("DTMFBegin", [("Digit", frame.subclass), ("Direction", "Received")],
                       "dtmf")
        self._enqueue(frame)

    def controlReceived(self, control, data=None):
        """
        The driver reports a call-progress event from the far end; it updates
        the state and is queued for whoever reads the channel.
        """
        if self.hangupRequested:
            return
        control = Control(control)
        if control == Control.HANGUP:
            self.hungUp(self.hangupCause or HangupCause.NORMAL_CLEARING)
            return
        if control == Control.ANSWER:
            self.setState(ChannelState.UP)
        elif control == Control.RINGING:
            if self.state != ChannelState.UP:
                self.setState(ChannelState.RINGING)
        elif control == Control.BUSY:
            if self.state != ChannelState.UP:
                self.setState(ChannelState.BUSY)
        elif control == Control.HOLD:
            musicClass = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
            self._emit("Hold", [("MusicClass", musicClass)] if musicClass else None, "call")
        elif control == Control.UNHOLD:
            self._emit("Unhold", None, "call")
        self._enqueue(controlFrame(control, data if isinstance(data, bytes) else None))

    def hungUp(self, cause=HangupCause.NORMAL_CLEARING):
        """
        The far end is gone: pending reads fail, the owner finishes the
        hangup (the driver is not told again).
        """
        self._farEndGone = True
        self._requestHangup(cause, "HangupRequest", "")


def _timedOut(result, timeout):
    return None


def _cidNum(channel):
    return channel.caller.number


def _epoch(channel):
    return str(int(time.time()))


def _hangupCause(channel):
    return "" if channel.hangupCause is None else str(int(channel.hangupCause))


_BUILTINS = {
    "EXTEN": lambda c: c.exten,
    "CONTEXT": lambda c: c.context,
    "PRIORITY": lambda c: str(c.priority),
    "CHANNEL": lambda c: c.name,
    "UNIQUEID": lambda c: c.uniqueid,
    "LINKEDID": lambda c: c.linkedid,
    "CALLERIDNUM": _cidNum,
    "CALLERIDNAME": lambda c: c.caller.name,
    "CALLINGPRES": lambda c: "0",
    "LANGUAGE": lambda c: c.language,
    "ACCOUNTCODE": lambda c: c.accountcode,
    "EPOCH": _epoch,
    "HANGUPCAUSE": _hangupCause,
    "APPLICATION": lambda c: c.appl,
}


class ChannelList:
    """
    The live channels of a PBX, by name and by uniqueid. Also hands out
    uniqueids and the 8-hex-digit sequence of channel names.
    """

    def __init__(self, systemName=""):
        self._byName = {}
        self._byUniqueid = {}
        self._sequence = 0
        self._uniqueSequence = 0
        self._assigned = None
        self._systemName = systemName
        self._epoch = int(time.time())
        #: Counts read by /metrics: channels made, calls started (channels
        #: that are their own linkedid), hangups by Q.850 cause.
        self.created = 0
        self.calls = 0
        self.hangupCauses = {}

    def nextSequence(self):
        """The next 8-hex-digit suffix for a channel name."""
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        return f"{self._sequence:08x}"

    def makeName(self, tech, resource):
        """'TECH/resource-XXXXXXXX'."""
        return f"{tech}/{resource}-{self.nextSequence()}"

    def assignUniqueid(self, uniqueid):
        """
        The next channel made takes C{uniqueid} (the ids a client assigns, as
        ARI's channelId); None withdraws an assignment no channel took.
        """
        self._assigned = uniqueid

    def nextUniqueid(self):
        """'[systemname-]epoch.sequence', Asterisk's uniqueid shape."""
        assigned = self._assigned
        if assigned is not None:
            self._assigned = None
            return assigned
        self._uniqueSequence += 1
        prefix = f"{self._systemName}-" if self._systemName else ""
        return f"{prefix}{self._epoch}.{self._uniqueSequence}"

    def add(self, channel):
        self._byName[channel.name.lower()] = channel
        self._byUniqueid[channel.uniqueid] = channel

    def remove(self, channel):
        if self._byName.get(channel.name.lower()) is channel:
            del self._byName[channel.name.lower()]
        if self._byUniqueid.get(channel.uniqueid) is channel:
            del self._byUniqueid[channel.uniqueid]

    def rename(self, channel, newName):
        """Change a channel's name keeping the index right."""
        self.remove(channel)
        channel.name = newName
        self.add(channel)

    def byName(self, name):
        return self._byName.get(name.lower())

    def byUniqueid(self, uniqueid):
        return self._byUniqueid.get(uniqueid)

    def get(self, nameOrUniqueid):
        """By exact name (case-insensitive) or uniqueid."""
        return self.byName(nameOrUniqueid) or self.byUniqueid(nameOrUniqueid)

    def find(self, nameOrRegex):
        """
        Channels matching C{nameOrRegex}: an exact name or uniqueid, a name
        prefix ('SIP/alice' finds 'SIP/alice-0000001a'), or a regular
        expression when written /like this/.
        """
        if len(nameOrRegex) > 1 and nameOrRegex.startswith("/") and nameOrRegex.endswith("/"):
            pattern = re.compile(nameOrRegex[1:-1], re.IGNORECASE)
            return [c for c in self if pattern.search(c.name)]
        exact = self.get(nameOrRegex)
        if exact is not None:
            return [exact]
        lowered = nameOrRegex.lower()
        return [c for c in self if c.name.lower().startswith(lowered)]

    def __iter__(self):
        return iter(list(self._byName.values()))

    def __len__(self):
        return len(self._byName)

    def __contains__(self, name):
        return self.get(name) is not None
