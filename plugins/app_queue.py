"""
Call queues (Asterisk's app_queue).

queues.conf (L{plugins.app_queue_config}) defines the queues and their
static members; members join and leave at run time through the
applications AddQueueMember, RemoveQueueMember, PauseQueueMember and
UnpauseQueueMember or the manager's QueueAdd, QueueRemove and QueuePause,
and (persistentmembers, the default) are kept in astdb under
Queue/PersistentMembers so they come back after a restart.

Queue(queuename[,options[,URL[,announceoverride[,timeout]]]]) puts the
caller in line with hold music and position/hold-time announcements; the
strategy (L{plugins.app_queue_strategy}) picks the members to ring, their
device states say who is free (ringinuse), and the caller is bridged to the
member that answers. Options: C{t}/C{T} the called/calling party may
transfer, C{r} ring instead of hold music, C{c} go on in the dialplan when
the member hangs up. QUEUESTATUS is TIMEOUT, FULL, JOINEMPTY, LEAVEEMPTY,
JOINUNAVAIL, LEAVEUNAVAIL or CONTINUE.

Every step is written to queue_log in Asterisk's format
(L{plugins.app_queue_log}), <astlogdir>/queue_log (var/log/asterisk next to
var/lib), and published as Asterisk's manager events.
"""

import os
import random

from twisted.logger import Logger

from pbxcore.api import (
    ApplicationHangup,
    ChannelHungUp,
    ChannelState,
    FunctionApplication,
    Module,
    channelFields,
    parseFile,
    splitArgs,
)
from plugins import app_queue_admin
from plugins.app_queue_call import QueueCaller
from plugins.app_queue_config import parseQueues, persistentMembers
from plugins.app_queue_log import logLine
from plugins.app_queue_strategy import UNKNOWN, Member, isEmpty

log = Logger(namespace="plugins.app_queue")

PERSIST_FAMILY = "Queue/PersistentMembers"


class CallQueue:
    """A queue at run time: its members, its callers and its counters."""

    def __init__(self, config):
        self.config = config
        self.members = []
        self.callers = []
        self.rrpos = 0
        self.completed = 0
        self.abandoned = 0
        self.holdtime = 0.0
        self.talktime = 0.0
        self.servicelevelCalls = 0

    @property
    def name(self):
        return self.config.name

    def member(self, interface):
        wanted = (interface or "").lower()
        for member in self.members:
            if member.interface.lower() == wanted:
                return member
        return None

    def leave(self, caller):
        if caller in self.callers:
            self.callers.remove(caller)
            for other in self.callers:
                other.poke()

    def recordHold(self, holdtime):
        # Asterisk's running average: (old * 3 + new) / 4.
        self.holdtime = (self.holdtime * 3 + holdtime) / 4

    def recordTalk(self, talktime):
        self.completed += 1
        self.talktime = (self.talktime * 3 + talktime) / 4


def logDirectory(pbx):
    settings = getattr(pbx, "settings", None)
    configured = settings.get("astlogdir") if settings is not None else None
    if configured:
        return configured
    dataDir = getattr(pbx, "dataDir", None) or "."
    return os.path.join(os.path.dirname(os.path.abspath(dataDir)), "log", "asterisk")


def channelDevice(channel):
    """SIP/1001 of SIP/1001-00000002 (the interface a channel's own member has)."""
    name = channel.name
    return name.rsplit("-", 1)[0] if "-" in name else name


class QueueModule(Module):
    """app_queue: Queue() and the member applications, AMI, CLI and functions."""

    def __init__(self):
        self.pbx = None
        self.queues = {}
        self.persistent = True
        self.random = random.randrange

    # -- configuration -------------------------------------------------------

    def _read(self, pbx):
        configDir = getattr(pbx, "configDir", None)
        path = os.path.join(configDir, "queues.conf") if configDir else None
        if not path or not os.path.exists(path):
            return {}, {}
        return parseQueues(parseFile(path))

    def _apply(self, general, configs):
        old = self.queues
        self.persistent = persistentMembers(general)
        queues = {}
        for name, config in configs.items():
            queue = old.get(name) or CallQueue(config)
            queue.config = config
            dynamic = [m for m in queue.members if m.dynamic]
            queue.members = [self._newMember(m.interface, m.penalty, m.membername,
                                             m.stateinterface, ringinuse=m.ringinuse)
                             for m in config.members]
            known = {m.interface.lower() for m in queue.members}
            queue.members += [m for m in dynamic if m.interface.lower() not in known]
            queues[name] = queue
        self.queues = queues

    def load(self, pbx, registrar):
        self.pbx = pbx
        self._apply(*self._read(pbx))
        self._restore()
        for name, run, synopsis in (
                ("Queue", self.queueApp, "Queue a call for a call queue."),
                ("AddQueueMember", self.addQueueMember, "Dynamically adds queue members."),
                ("RemoveQueueMember", self.removeQueueMember,
                 "Dynamically removes queue members."),
                ("PauseQueueMember", self.pauseQueueMember, "Pauses a queue member."),
                ("UnpauseQueueMember", self.unpauseQueueMember, "Unpauses a queue member.")):
            registrar.register("application", FunctionApplication(name, run, synopsis))
        app_queue_admin.register(self, registrar)
        events = getattr(pbx, "events", None)
        if events is not None:
            registrar.addCleanup(events.subscribe(self._deviceChanged, ("DeviceStateChange",)))
        self.writeLog("NONE", "NONE", "NONE", "QUEUESTART")

    def reload(self, pbx):
        self._apply(*self._read(pbx))
        self.writeLog("NONE", "NONE", "NONE", "CONFIGRELOAD")

    def queue(self, name):
        wanted = (name or "").strip().lower()
        for queue in self.queues.values():
            if queue.name.lower() == wanted:
                return queue
        return None

    # -- members -------------------------------------------------------------

    def now(self):
        return self.pbx.reactor.seconds()

    def _deviceState(self, device):
        engine = getattr(self.pbx, "devicestate", None) if self.pbx is not None else None
        if engine is None:
            return UNKNOWN
        try:
            return int(engine.deviceState(device))
        except Exception:
            log.failure("device state of {device} failed", device=device)
            return UNKNOWN

    def _newMember(self, interface, penalty=0, membername="", stateinterface="",
                   dynamic=False, paused=False, reason="", ringinuse=None):
        member = Member(interface, membername, penalty, stateinterface, dynamic, paused,
                        reason, logintime=self.now() if self.pbx is not None else 0.0,
                        ringinuse=ringinuse)
        member.status = self._deviceState(member.device)
        return member

    def _deviceChanged(self, event):
        device = (event.get("Device") or "").lower()
        for queue in self.queues.values():
            for member in queue.members:
                if member.device.lower() != device:
                    continue
                status = self._deviceState(member.device)
                if status != member.status:
                    member.status = status
                    self.memberEvent("QueueMemberStatus", queue, member)
                self.poke(queue)

    def poke(self, queue):
        for caller in list(queue.callers):
            caller.poke()

    def addMember(self, queueName, interface, penalty=0, paused=False, membername="",
                  stateinterface="", reason=""):
        """ADDED, MEMBERALREADY or NOSUCHQUEUE (AddQueueMember's AQMSTATUS)."""
        queue = self.queue(queueName)
        if queue is None:
            return "NOSUCHQUEUE"
        if queue.member(interface) is not None:
            return "MEMBERALREADY"
        member = self._newMember(interface, penalty, membername, stateinterface, True, paused,
                                 reason)
        queue.members.append(member)
        self.memberEvent("QueueMemberAdded", queue, member)
        self.writeLog("MANAGER", queue.name, member.name, "ADDMEMBER", "")
        self._persist(queue)
        self.poke(queue)
        return "ADDED"

    def removeMember(self, queueName, interface):
        """REMOVED, NOTINQUEUE, NOSUCHQUEUE or NOTDYNAMIC (RQMSTATUS)."""
        queue = self.queue(queueName)
        if queue is None:
            return "NOSUCHQUEUE"
        member = queue.member(interface)
        if member is None:
            return "NOTINQUEUE"
        if not member.dynamic:
            return "NOTDYNAMIC"
        queue.members.remove(member)
        self.memberEvent("QueueMemberRemoved", queue, member)
        self.writeLog("MANAGER", queue.name, member.name, "REMOVEMEMBER", "")
        self._persist(queue)
        self.poke(queue)
        return "REMOVED"

    def pauseMember(self, queueName, interface, paused, reason=""):
        """Whether a member was found (in C{queueName}, or in every queue when empty)."""
        found = False
        for queue in self.queues.values():
            if queueName and queue.name.lower() != queueName.strip().lower():
                continue
            member = queue.member(interface)
            if member is None:
                continue
            found = True
            member.paused = paused
            member.reason = reason if paused else ""
            member.lastpause = self.now() if paused else member.lastpause
            self.memberEvent("QueueMemberPause", queue, member)
            self.writeLog("NONE", queue.name, member.name, "PAUSE" if paused else "UNPAUSE",
                          reason)
            if member.dynamic:
                self._persist(queue)
            self.poke(queue)
        return found

    # -- persistence (Asterisk's persistentmembers) ------------------------------

    def _persist(self, queue):
        db = getattr(self.pbx, "astdb", None)
        if db is None or not self.persistent:
            return
        dynamic = [m for m in queue.members if m.dynamic]
        if not dynamic:
            db.delete(PERSIST_FAMILY, queue.name)
            return
        db.put(PERSIST_FAMILY, queue.name, "|".join(
            f"{m.interface};{m.penalty};{int(m.paused)};{m.membername};{m.stateinterface};"
            f"{m.reason}" for m in dynamic))

    def _restore(self):
        db = getattr(self.pbx, "astdb", None)
        if db is None or not self.persistent:
            return
        for queue in self.queues.values():
            value = db.get(PERSIST_FAMILY, queue.name) or ""
            for item in filter(None, value.split("|")):
                parts = item.split(";") + [""] * 6
                interface = parts[0].strip()
                if not interface or queue.member(interface) is not None:
                    continue
                penalty = int(parts[1]) if parts[1].strip().isdigit() else 0
                queue.members.append(self._newMember(
                    interface, penalty, parts[3], parts[4], True, parts[2].strip() == "1",
                    parts[5]))

    # -- the log and the events ------------------------------------------------

    def writeLog(self, callid, queue, agent, event, *data):
        directory = logDirectory(self.pbx)
        try:
            os.makedirs(directory, exist_ok=True)
            with open(os.path.join(directory, "queue_log"), "a") as f:
                f.write(logLine(self.now(), callid, queue, agent, event, *data))
        except OSError as e:
            log.warn("queue_log: {error}", error=str(e))

    def memberFields(self, queue, member):
        return [("Queue", queue.name), ("MemberName", member.name),
                ("Interface", member.interface), ("StateInterface", member.device),
                ("Membership", "dynamic" if member.dynamic else "static"),
                ("Penalty", str(member.penalty)), ("CallsTaken", str(member.calls)),
                ("LastCall", str(int(member.lastcall))),
                ("LastPause", str(int(member.lastpause))),
                ("LoginTime", str(int(member.logintime))),
                ("InCall", "1" if member.incall else "0"), ("Status", str(member.status)),
                ("Paused", "1" if member.paused else "0"), ("PausedReason", member.reason),
                ("Ringinuse", "1" if (queue.config.ringinuse if member.ringinuse is None
                                      else member.ringinuse) else "0"),
                ("Wrapuptime", str(int(queue.config.wrapuptime)))]

    def memberEvent(self, name, queue, member):
        self.pbx.emitEvent(name, self.memberFields(queue, member), "agent")

    def _agentEvent(self, name, caller, member, agent, extra=()):
        fields = channelFields(caller.channel)
        if agent is not None:
            fields += channelFields(agent, "Dest")
        fields += [("Queue", caller.queue.name), ("MemberName", member.name),
                   ("Interface", member.interface)] + list(extra)
        self.pbx.emitEvent(name, fields, "agent")

    def agentCalled(self, caller, member, agent):
        self._agentEvent("AgentCalled", caller, member, agent)

    def ringNoAnswer(self, caller, member, agent, ringtime):
        self._agentEvent("AgentRingNoAnswer", caller, member, agent,
                         [("RingTime", str(int(ringtime * 1000)))])
        self.writeLog(caller.channel.uniqueid, caller.queue.name, member.name, "RINGNOANSWER",
                      int(ringtime * 1000))

    def agentConnect(self, caller, member, agent, holdtime, ringtime):
        queue = caller.queue
        queue.recordHold(holdtime)
        if queue.config.servicelevel and holdtime <= queue.config.servicelevel:
            queue.servicelevelCalls += 1
        self._agentEvent("AgentConnect", caller, member, agent,
                         [("RingTime", str(int(ringtime))), ("HoldTime", str(int(holdtime)))])
        self.writeLog(caller.channel.uniqueid, queue.name, member.name, "CONNECT",
                      int(holdtime), agent.uniqueid, int(ringtime))

    def agentComplete(self, caller, member, agent, holdtime, talktime, reason):
        queue = caller.queue
        member.calls += 1
        member.lastcall = self.now()
        if queue.config.wrapuptime:
            member.wrapupUntil = member.lastcall + queue.config.wrapuptime
            self.pbx.reactor.callLater(queue.config.wrapuptime, self.poke, queue)
        queue.recordTalk(talktime)
        self._agentEvent("AgentComplete", caller, member, agent,
                         [("HoldTime", str(int(holdtime))), ("TalkTime", str(int(talktime))),
                          ("Reason", reason)])
        self.writeLog(caller.channel.uniqueid, queue.name, member.name,
                      "COMPLETEAGENT" if reason == "agent" else "COMPLETECALLER",
                      int(holdtime), int(talktime), caller.originalPosition)
        self.memberEvent("QueueMemberStatus", queue, member)
        self.poke(queue)

    def callerEvent(self, name, caller, extra=()):
        self.pbx.emitEvent(name, channelFields(caller.channel) + [
            ("Queue", caller.queue.name), ("Position", str(caller.position))] + list(extra),
            "agent")

    def leaveQueue(self, caller):
        """Take C{caller} out of its queue's line (QueueCallerLeave)."""
        queue = caller.queue
        if caller not in queue.callers:
            return
        caller.leftAt = caller.position
        queue.leave(caller)
        self.pbx.emitEvent("QueueCallerLeave", channelFields(caller.channel) + [
            ("Queue", queue.name), ("Count", str(len(queue.callers))),
            ("Position", str(caller.leftAt))], "agent")

    def moh(self):
        loader = getattr(self.pbx, "loader", None)
        entry = loader.modules.get("res_musiconhold") if loader is not None else None
        return getattr(entry, "module", None)

    # -- the applications ----------------------------------------------------------

    async def queueApp(self, channel, data):
        args = splitArgs(data or "")
        queue = self.queue(args[0] if args else "")
        if queue is None:
            log.warn("Queue: no queue {name!r}", name=args[0] if args else "")
            channel.setVariable("QUEUESTATUS", "UNKNOWN")
            return
        options = args[1].strip() if len(args) > 1 else ""
        timeout = args[4].strip() if len(args) > 4 else ""
        try:
            timeout = float(timeout) if timeout else None
        except ValueError:
            log.warn("Queue: invalid timeout {timeout!r}, waiting without one", timeout=timeout)
            timeout = None
        status = self._joinStatus(queue)
        if status:
            channel.setVariable("QUEUESTATUS", status)
            return
        caller = QueueCaller(self, queue, channel, options, timeout)
        queue.callers.append(caller)
        caller.originalPosition = caller.position
        if channel.state != ChannelState.UP:
            await channel.answer()
        self.callerEvent("QueueCallerJoin", caller, [("Count", str(len(queue.callers)))])
        self.writeLog(channel.uniqueid, queue.name, "NONE", "ENTERQUEUE",
                      args[2].strip() if len(args) > 2 else "", channel.caller.number or "")
        await self._wait(caller)

    def _joinStatus(self, queue):
        now = self.now()
        if queue.config.maxlen and len(queue.callers) >= queue.config.maxlen:
            return "FULL"
        if queue.config.joinempty:
            empty = isEmpty(queue.members, queue.config.joinempty, now)
            if empty:
                return "JOINEMPTY" if empty == "nomembers" else "JOINUNAVAIL"
        return None

    async def _wait(self, caller):
        queue = caller.queue
        channel = caller.channel
        position = caller.position
        try:
            outcome = await caller.run()
        except (ChannelHungUp, ApplicationHangup):
            raise
        finally:
            position = caller.leftAt or caller.position or position
            self.leaveQueue(caller)
        waited = int(caller.waited())
        if outcome == "ABANDON":
            queue.abandoned += 1
            self.pbx.emitEvent("QueueCallerAbandon", channelFields(channel) + [
                ("Queue", queue.name), ("Position", str(position)),
                ("OriginalPosition", str(caller.originalPosition)), ("HoldTime", str(waited))],
                "agent")
            self.writeLog(channel.uniqueid, queue.name, "NONE", "ABANDON", position,
                          caller.originalPosition, waited)
            raise ChannelHungUp(channel.name)
        if outcome == "TIMEOUT":
            self.writeLog(channel.uniqueid, queue.name, "NONE", "EXITWITHTIMEOUT", position,
                          caller.originalPosition, waited)
        elif outcome == "LEAVEEMPTY":
            self.writeLog(channel.uniqueid, queue.name, "NONE", "EXITEMPTY", position,
                          caller.originalPosition, waited)
        channel.setVariable("QUEUESTATUS", "CONTINUE" if outcome == "CONNECTED" else outcome)

    def _memberArgs(self, channel, data, app):
        args = splitArgs(data or "")
        name = args[0].strip() if args else ""
        interface = args[1].strip() if len(args) > 1 and args[1].strip() else channelDevice(
            channel)
        return args, name, interface

    async def addQueueMember(self, channel, data):
        args, name, interface = self._memberArgs(channel, data, "AddQueueMember")
        penalty = args[2].strip() if len(args) > 2 else ""
        status = self.addMember(
            name, interface, int(penalty) if penalty.isdigit() else 0,
            False, args[4].strip() if len(args) > 4 else "",
            args[5].strip() if len(args) > 5 else "")
        channel.setVariable("AQMSTATUS", status)

    async def removeQueueMember(self, channel, data):
        args, name, interface = self._memberArgs(channel, data, "RemoveQueueMember")
        channel.setVariable("RQMSTATUS", self.removeMember(name, interface))

    async def pauseQueueMember(self, channel, data):
        args, name, interface = self._memberArgs(channel, data, "PauseQueueMember")
        found = self.pauseMember(name, interface, True, args[3].strip() if len(args) > 3 else "")
        channel.setVariable("PQMSTATUS", "PAUSED" if found else "NOTFOUND")

    async def unpauseQueueMember(self, channel, data):
        args, name, interface = self._memberArgs(channel, data, "UnpauseQueueMember")
        found = self.pauseMember(name, interface, False,
                                 args[3].strip() if len(args) > 3 else "")
        channel.setVariable("UPQMSTATUS", "UNPAUSED" if found else "NOTFOUND")
