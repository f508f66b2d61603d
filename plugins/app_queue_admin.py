"""
app_queue's manager actions (QueueAdd, QueueRemove, QueuePause,
QueueStatus, QueueSummary), its console command (C{queue show}) and its
dialplan functions (QUEUE_MEMBER, QUEUE_WAITING_COUNT, QUEUE_MEMBER_LIST).
"""

from zope.interface import implementer

from pbxcore.api import (
    Action,
    CLIUsageError,
    ICLICommand,
    IDialplanFunction,
    ListResponse,
    ManagerError,
    ReadOnly,
    Success,
    isTrue,
    splitArgs,
)
from plugins.app_queue_strategy import NOT_INUSE, STATUS_TEXT, UNKNOWN, canRing


def _field(request, key):
    value = (request.get(key) or "").strip()
    if not value:
        raise ManagerError(f"'{key}' not specified.")
    return value


class QueueManager:
    """The manager actions, bound to the module."""

    def __init__(self, module):
        self.module = module

    def queueAdd(self, session, request):
        queue = _field(request, "Queue")
        interface = _field(request, "Interface")
        penalty = (request.get("Penalty") or "0").strip()
        if not penalty.isdigit():
            raise ManagerError("Penalty must be a non-negative number")
        status = self.module.addMember(queue, interface, int(penalty),
                                       isTrue(request.get("Paused") or ""),
                                       (request.get("MemberName") or "").strip(),
                                       (request.get("StateInterface") or "").strip())
        if status == "NOSUCHQUEUE":
            raise ManagerError("Unable to add interface to queue: No such queue")
        if status == "MEMBERALREADY":
            raise ManagerError("Unable to add interface: Already there")
        return Success("Added interface to queue")

    def queueRemove(self, session, request):
        status = self.module.removeMember(_field(request, "Queue"),
                                          _field(request, "Interface"))
        errors = {"NOSUCHQUEUE": "Unable to remove interface from queue: No such queue",
                  "NOTINQUEUE": "Unable to remove interface: Not there",
                  "NOTDYNAMIC": "Member not dynamic"}
        if status in errors:
            raise ManagerError(errors[status])
        return Success("Removed interface from queue")

    def queuePause(self, session, request):
        interface = _field(request, "Interface")
        paused = (request.get("Paused") or "").strip()
        if not paused:
            raise ManagerError("Need 'Interface' and 'Paused' parameters.")
        paused = isTrue(paused)
        if not self.module.pauseMember((request.get("Queue") or "").strip(), interface,
                                       paused, (request.get("Reason") or "").strip()):
            raise ManagerError("Interface not found")
        return Success("Interface paused successfully" if paused
                       else "Interface unpaused successfully")

    def _queues(self, request):
        wanted = (request.get("Queue") or "").strip().lower()
        return [q for name, q in sorted(self.module.queues.items())
                if not wanted or name.lower() == wanted]

    def queueStatus(self, session, request):
        module = self.module
        now = module.now()
        memberWanted = (request.get("Member") or "").strip().lower()
        events = []
        for queue in self._queues(request):
            config = queue.config
            events.append(("QueueParams", [
                ("Queue", queue.name), ("Max", str(config.maxlen)),
                ("Strategy", config.strategy), ("Calls", str(len(queue.callers))),
                ("Holdtime", str(int(queue.holdtime))), ("TalkTime", str(int(queue.talktime))),
                ("Completed", str(queue.completed)), ("Abandoned", str(queue.abandoned)),
                ("ServiceLevel", str(config.servicelevel)),
                ("ServicelevelPerf", f"{servicePerf(queue):.1f}"),
                ("ServicelevelPerf2", f"{servicePerf(queue, True):.1f}"),
                ("Weight", str(config.weight))]))
            for member in queue.members:
                if memberWanted and member.interface.lower() != memberWanted:
                    continue
                fields = module.memberFields(queue, member)
                fields = [("Name" if k == "MemberName" else "Location" if k == "Interface"
                           else k, v) for k, v in fields if k != "Ringinuse"]
                events.append(("QueueMember", fields))
            for position, caller in enumerate(queue.callers, 1):
                channel = caller.channel
                events.append(("QueueEntry", [
                    ("Queue", queue.name), ("Position", str(position)),
                    ("Channel", channel.name), ("Uniqueid", channel.uniqueid),
                    ("CallerIDNum", channel.caller.number or "unknown"),
                    ("CallerIDName", channel.caller.name or "unknown"),
                    ("ConnectedLineNum", channel.connected.number or "unknown"),
                    ("ConnectedLineName", channel.connected.name or "unknown"),
                    ("Wait", str(int(now - caller.start))), ("Priority", "0")]))
        return ListResponse(events, "QueueStatusComplete", "Queue status will follow")

    def queueSummary(self, session, request):
        now = self.module.now()
        events = []
        for queue in self._queues(request):
            loggedIn = [m for m in queue.members if m.status not in (4, 5)]
            available = [m for m in loggedIn if canRing(m, False, now)]
            longest = max((now - c.start for c in queue.callers), default=0)
            events.append(("QueueSummary", [
                ("Queue", queue.name), ("LoggedIn", str(len(loggedIn))),
                ("Available", str(len(available))), ("Callers", str(len(queue.callers))),
                ("HoldTime", str(int(queue.holdtime))), ("TalkTime", str(int(queue.talktime))),
                ("LongestHoldTime", str(int(longest)))]))
        return ListResponse(events, "QueueSummaryComplete", "Queue summary will follow")


def servicePerf(queue, withAbandoned=False):
    total = queue.completed + (queue.abandoned if withAbandoned else 0)
    return 100.0 * queue.servicelevelCalls / total if total else 0.0


def _minutes(seconds):
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def showQueue(module, queue, now):
    """The lines of C{queue show} for one queue, as Asterisk prints them."""
    config = queue.config
    maximum = str(config.maxlen) if config.maxlen else "unlimited"
    lines = [f"{queue.name} has {len(queue.callers)} calls (max {maximum}) in "
             f"'{config.strategy}' strategy ({int(queue.holdtime)}s holdtime, "
             f"{int(queue.talktime)}s talktime), W:{config.weight}, C:{queue.completed}, "
             f"A:{queue.abandoned}, SL:{servicePerf(queue):.1f}%, "
             f"SL2:{servicePerf(queue, True):.1f}% within {config.servicelevel}s"]
    if queue.members:
        lines.append("   Members: ")
        for member in queue.members:
            ringinuse = config.ringinuse if member.ringinuse is None else member.ringinuse
            parts = [f"      {member.name}"]
            if member.membername:
                parts.append(f" ({member.interface})")
            if member.penalty:
                parts.append(f" with penalty {member.penalty}")
            parts.append(" (ringinuse enabled)" if ringinuse else " (ringinuse disabled)")
            parts.append(" (dynamic)" if member.dynamic else "")
            if member.paused:
                parts.append(f" (paused{':' + member.reason if member.reason else ''})")
            if member.incall:
                parts.append(" (in call)")
            parts.append(f" ({STATUS_TEXT.get(member.status, 'Unknown')})")
            if member.calls:
                parts.append(f" has taken {member.calls} calls (last was "
                             f"{int(now - member.lastcall)} secs ago)")
            else:
                parts.append(" has taken no calls yet")
            lines.append("".join(parts))
    else:
        lines.append("   No Members")
    if queue.callers:
        lines.append("   Callers: ")
        for position, caller in enumerate(queue.callers, 1):
            lines.append(f"      {position}. {caller.channel.name} "
                         f"(wait: {_minutes(now - caller.start)}, prio: 0)")
    else:
        lines.append("   No Callers")
    return lines


@implementer(ICLICommand)
class QueueShow:
    """C{queue show [queuename]}."""

    name = "queue show"
    summary = "Show status of a specified queue"
    usage = "Usage: queue show\n       Provides summary information on a specified queue."

    def __init__(self, module):
        self.module = module

    def execute(self, pbx, args):
        if len(args) > 1:
            raise CLIUsageError(self.usage)
        module = self.module
        queues = [q for name, q in sorted(module.queues.items())
                  if not args or name.lower() == args[0].lower()]
        if args and not queues:
            return f"No such queue: {args[0]}.\n"
        if not queues:
            return "No queues.\n"
        now = module.now()
        lines = []
        for queue in queues:
            lines += showQueue(module, queue, now) + [""]
        return "\n".join(lines) + "\n"


class _QueueFunction(ReadOnly):
    def __init__(self, module):
        self.module = module


@implementer(IDialplanFunction)
class QueueMemberFunction(_QueueFunction):
    """QUEUE_MEMBER(queue,option[,interface]): logged, free, ready, count, penalty, paused, ignorebusy."""

    name = "QUEUE_MEMBER"
    synopsis = "Provides a count of queue members based on the provided criteria, or updates a queue member's settings."

    def read(self, channel, args):
        parts = [p.strip() for p in splitArgs(args or "")]
        queue = self.module.queue(parts[0] if parts else "")
        option = parts[1].lower() if len(parts) > 1 else ""
        if queue is None or not option:
            return ""
        now = self.module.now()
        members = queue.members
        if option in ("penalty", "paused", "ignorebusy"):
            member = queue.member(parts[2] if len(parts) > 2 else "")
            if member is None:
                return ""
            if option == "penalty":
                return str(member.penalty)
            if option == "paused":
                return "1" if member.paused else "0"
            ringinuse = queue.config.ringinuse if member.ringinuse is None else member.ringinuse
            return "1" if ringinuse else "0"
        counts = {
            "logged": lambda m: m.status not in (4, 5),
            "free": lambda m: m.status in (NOT_INUSE, UNKNOWN) and not m.paused,
            "ready": lambda m: m.status in (NOT_INUSE, UNKNOWN) and not m.paused
            and m.wrapupUntil <= now,
            "count": lambda m: True,
        }
        if option not in counts:
            return ""
        return str(sum(1 for m in members if counts[option](m)))


@implementer(IDialplanFunction)
class QueueWaitingCountFunction(_QueueFunction):
    name = "QUEUE_WAITING_COUNT"
    synopsis = "Count number of calls currently waiting in a queue."

    def read(self, channel, args):
        queue = self.module.queue(args or "")
        return str(len(queue.callers)) if queue is not None else "0"


@implementer(IDialplanFunction)
class QueueMemberListFunction(_QueueFunction):
    name = "QUEUE_MEMBER_LIST"
    synopsis = "Returns a list of interfaces on a queue."

    def read(self, channel, args):
        queue = self.module.queue(args or "")
        return ",".join(m.interface for m in queue.members) if queue is not None else ""


def register(module, registrar):
    """Register the actions, the command and the functions of C{module}."""
    manager = QueueManager(module)
    for name, privileges, synopsis, run in (
            ("QueueAdd", ("agent",), "Add interface to queue.", manager.queueAdd),
            ("QueueRemove", ("agent",), "Remove interface from queue.", manager.queueRemove),
            ("QueuePause", ("agent",), "Makes a queue member temporarily unavailable.",
             manager.queuePause),
            ("QueueStatus", (), "Show queue status.", manager.queueStatus),
            ("QueueSummary", (), "Show queue summary.", manager.queueSummary)):
        registrar.register("manageraction", Action(name, privileges, synopsis, run))
    registrar.register("clicommand", QueueShow(module))
    for function in (QueueMemberFunction, QueueWaitingCountFunction, QueueMemberListFunction):
        registrar.register("function", function(module))
