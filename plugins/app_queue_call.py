"""
One caller waiting in a queue (the SHELL of Queue()): hold music and
announcements to the caller, members rung by the queue's strategy
(L{plugins.app_queue_strategy.choose}), the caller bridged to the member
that answers. Every happening (a member's frame, the caller's hangup, an
attempt's timeout, a member freed) arrives on one DeferredQueue.
"""

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.api import ApplicationHangup, ChannelHungUp, Control, FrameKind, HangupCause
from pbxcore.bridge import Bridge
from pbxcore.dialplan.builtins import playFiles, sayDigits
from plugins.app_dial import Dialer
from plugins.app_queue_strategy import canRing, choose, isEmpty, nextRRPosition

log = Logger(namespace="plugins.app_queue")


class QueueCaller:
    """A channel in a queue: its position, its wait and its attempts."""

    def __init__(self, module, queue, channel, options="", timeout=None):
        self.module = module
        self.queue = queue
        self.channel = channel
        self.options = options
        self.clock = channel.reactor
        self.start = self.clock.seconds()
        self.deadline = None if not timeout else self.start + timeout
        self.events = defer.DeferredQueue()
        self.originalPosition = 0
        self.tried = set()
        self.attempt = 0
        self.pending = {}
        self.announcedHoldtime = False
        self.leftAt = 0

    @property
    def position(self):
        return self.queue.callers.index(self) + 1 if self in self.queue.callers else 0

    def poke(self):
        self.events.put(("poke", None))

    def waited(self):
        return self.clock.seconds() - self.start

    # -- hold music and announcements ------------------------------------------

    async def hold(self):
        config = self.queue.config
        moh = self.module.moh()
        while True:
            every = config.announceFrequency or None
            if "r" in self.options:
                await self.channel.indicate(Control.RINGING)
                await self.channel.whenHungUp()
                return
            played = moh is not None and await moh.play(self.channel, config.musicclass, every)
            if not played:
                if every is None:
                    await self.channel.whenHungUp()
                    return
                await self.channel.sleep(every)
            await self.announce()

    async def announce(self):
        """The caller's position and the expected hold time (sayDigits of the numbers)."""
        config = self.queue.config
        if config.announcePosition and self.position:
            if self.position == 1:
                await playFiles(self.channel, ["queue-youarenext"])
            else:
                await playFiles(self.channel, ["queue-thereare"])
                await sayDigits(self.channel, str(self.position))
                await playFiles(self.channel, ["queue-callswaiting"])
        holdtime = int(self.queue.holdtime // 60)
        if config.announceHoldtime != "no" and holdtime > 0 and not (
                config.announceHoldtime == "once" and self.announcedHoldtime):
            self.announcedHoldtime = True
            await playFiles(self.channel, ["queue-holdtime"])
            await sayDigits(self.channel, str(holdtime))
            await playFiles(self.channel, ["queue-minutes"])

    # -- the wait --------------------------------------------------------------

    async def run(self):
        """QUEUESTATUS of the wait: TIMEOUT, LEAVEEMPTY, CONTINUE (answered), or hangup."""
        holding = defer.Deferred.fromCoroutine(self.hold())
        holding.addErrback(lambda f: None if f.check(defer.CancelledError) else
                           self.events.put(("hangup", None)))
        holding.addCallback(lambda r: self.events.put(("hangup", None)))
        try:
            return await self._wait(holding)
        finally:
            if not holding.called:
                holding.cancel()

    async def _wait(self, holding):
        while True:
            status = self._leaving()
            if status:
                return status
            members = self._ringable()
            if not members:
                if await self._idle() == "hangup":
                    return "ABANDON"
                continue
            outcome = await self._ring(members)
            if outcome == "hangup":
                return "ABANDON"
            if outcome is not None:
                holding.cancel()
                await self._connect(*outcome)
                return "CONNECTED"

    def _leaving(self):
        now = self.clock.seconds()
        if self.deadline is not None and now >= self.deadline:
            return "TIMEOUT"
        if isEmpty(self.queue.members, self.queue.config.leavewhenempty, now):
            return "LEAVEEMPTY"
        return None

    def _ringable(self):
        """The members to ring now; autofill: callers ring while members are free."""
        queue = self.queue
        config = queue.config
        now = self.clock.seconds()
        busy = {m.interface for m in queue.members if m.extra.get("ringing")}
        free = [m for m in queue.members
                if m.interface not in busy and canRing(m, config.ringinuse, now)]
        if self.position > len(free):
            return []
        return choose(config.strategy, queue.members, now, config.ringinuse,
                      self.tried | busy, queue.rrpos, self.module.random)

    async def _idle(self):
        """Wait for a change, the retry time, or the caller's deadline."""
        wait = self.queue.config.retry or 1.0
        if self.tried:
            self.tried.clear()
        if self.deadline is not None:
            wait = max(0.0, min(wait, self.deadline - self.clock.seconds()))
        self.attempt += 1
        token = self.attempt
        timer = self.clock.callLater(wait, self.events.put, ("retry", token))
        try:
            while True:
                kind, data = await self.events.get()
                if kind == "hangup":
                    return "hangup"
                if kind == "poke" or (kind == "retry" and data == token):
                    return kind
        finally:
            if timer.active():
                timer.cancel()

    # -- ringing members ---------------------------------------------------------

    def _arm(self, channel):
        d = channel.readFrame()
        self.pending[channel] = d

        def lost(failure):
            if not failure.check(defer.CancelledError):
                self.events.put((channel, None))

        d.addCallbacks(lambda frame: self.events.put((channel, frame)), lost)

    def _disarm(self, dialer):
        for d in list(self.pending.values()) + list(dialer.pending.values()):
            if not d.called:
                d.cancel()
        self.pending.clear()
        dialer.pending.clear()

    async def _ring(self, members):
        """(leg channel, member, ring time) of the member that answered, None, or 'hangup'."""
        queue = self.queue
        timeout = queue.config.timeout or None
        if self.deadline is not None:
            left = self.deadline - self.clock.seconds()
            timeout = left if timeout is None else min(timeout, left)
        dialer = Dialer(self.channel, "&".join(m.interface for m in members))
        dialer.queue = self.events
        byDevice = {m.interface: m for m in members}
        for member in members:
            self.tried.add(member.interface)
            member.extra["ringing"] = True
        started = self.clock.seconds()
        await dialer.start()
        legs = {}
        for channel, leg in dialer.legs.items():
            member = byDevice.get(leg.dialString) or byDevice.get(
                f"{channel.name.split('/', 1)[0]}/{leg.dialString}")
            if member is not None:
                legs[channel] = member
                self.module.agentCalled(self, member, channel)
        self.attempt += 1
        token = self.attempt
        timer = None
        if timeout:
            timer = self.clock.callLater(timeout, self.events.put, ("timeout", token))
        try:
            return await self._answered(dialer, legs, started, token)
        finally:
            if timer is not None and timer.active():
                timer.cancel()
            self._disarm(dialer)
            for member in members:
                member.extra.pop("ringing", None)

    async def _answered(self, dialer, legs, started, token):
        while legs:
            kind, frame = await self.events.get()
            if kind == "hangup":
                await self._dropAll(dialer, legs, started, HangupCause.NORMAL_CLEARING, False)
                return "hangup"
            if kind == "timeout" and frame == token:
                await self._dropAll(dialer, legs, started, HangupCause.NO_ANSWER, True)
                return None
            member = legs.get(kind)
            if member is None:
                continue
            channel = kind
            if frame is None or (frame.kind is FrameKind.CONTROL and frame.subclass in (
                    Control.BUSY, Control.CONGESTION)):
                del legs[channel]
                dialer.legs.pop(channel, None)
                self.module.ringNoAnswer(self, member, channel, self.clock.seconds() - started)
                await channel.hangup(HangupCause.NORMAL_CLEARING)
                continue
            if frame.kind is FrameKind.CONTROL and frame.subclass == Control.ANSWER:
                del legs[channel]
                dialer.legs.pop(channel, None)
                await self._dropAll(dialer, legs, started, HangupCause.ANSWERED_ELSEWHERE, False)
                return channel, member, self.clock.seconds() - started
            self._arm(channel)
        return None

    async def _dropAll(self, dialer, legs, started, cause, noAnswer):
        for channel, member in list(legs.items()):
            if noAnswer:
                self.module.ringNoAnswer(self, member, channel, self.clock.seconds() - started)
            dialer.legs.pop(channel, None)
            await channel.hangup(cause)
        legs.clear()

    # -- the call ----------------------------------------------------------------

    async def _connect(self, agent, member, ringtime):
        queue = self.queue
        caller = self.channel
        holdtime = self.waited()
        queue.rrpos = nextRRPosition(queue.members, member)
        self.module.leaveQueue(self)
        member.incall = True
        self.module.agentConnect(self, member, agent, holdtime, ringtime)
        identity = CallerIDOf(agent, member)
        caller.setConnectedLine(identity[0], identity[1])
        caller.setVariable("MEMBERINTERFACE", member.interface)
        caller.setVariable("MEMBERNAME", member.name)
        caller.setVariable("MEMBERCALLS", str(member.calls))
        bridge = Bridge(self.module.pbx)
        bridge.features = {caller: "T" in self.options, agent: "t" in self.options}
        talkStart = self.clock.seconds()
        leaver = None
        try:
            leaver = await bridge.run(caller, agent)
        finally:
            member.incall = False
            reason = "agent" if leaver is agent or agent.hangupRequested else "caller"
            self.module.agentComplete(self, member, agent, holdtime,
                                      self.clock.seconds() - talkStart, reason)
            if not agent.isHungUp:
                await agent.hangup(HangupCause.NORMAL_CLEARING)
        if leaver is agent and not caller.hangupRequested:
            if "c" in self.options:
                return
            raise ApplicationHangup(HangupCause.NORMAL_CLEARING)
        raise ChannelHungUp(caller.name)


def CallerIDOf(agent, member):
    """(name, number) the caller sees: the member's name and its channel's number."""
    number = member.interface.split("/", 1)[-1].split("@", 1)[0]
    return member.name if member.membername else number, number
