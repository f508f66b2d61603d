"""
Conferences (Asterisk's app_confbridge, confbridge.conf).

ConfBridge(conference[,bridge_profile[,user_profile[,menu]]]) answers,
asks for the user profile's PIN (digits then #, three tries), and joins
the room: everyone hears everyone else (plugins.app_confbridge_mix,
numpy), join and leave sounds, marked and admin users, wait_marked and
end_marked, start muted, talker events, DTMF menus (toggle_mute,
leave_conference, admin_kick_last, admin_toggle_conference_lock). The
dialplan goes on afterwards with CONFBRIDGE_RESULT (HANGUP, KICKED,
ENDMARKED, LEFT). CONFBRIDGE(user|bridge,option)=value overrides a
profile option for the channel's next join; CONFBRIDGE_INFO(parties|
admins|marked|locked|muted,conference) reads a room.
"""

import os
from dataclasses import replace

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import (
    Action,
    ChannelHungUp,
    ChannelState,
    CLIUsageError,
    FrameKind,
    FunctionApplication,
    ICLICommand,
    IDialplanFunction,
    ListResponse,
    ManagerError,
    Module,
    ReadOnlyFunction,
    Success,
    channelFields,
    findSoundFile,
    parseFile,
    playFiles,
    required,
    splitArgs,
)
from pbxcore.dialplan.builtins import loadSound
from pbxcore.media import g711
from plugins.app_confbridge_config import (
    BridgeProfile,
    ConfBridgeConfig,
    UserProfile,
    parseConfBridge,
)
from plugins.app_confbridge_room import Conference, Member

log = Logger(namespace="plugins.app_confbridge")

OVERRIDES = "confbridge.overrides"


def readConfig(configDir):
    path = os.path.join(configDir, "confbridge.conf") if configDir else None
    if path and os.path.exists(path):
        return parseConfBridge(parseFile(path))
    return ConfBridgeConfig()


class ConfBridgeModule(Module):
    """app_confbridge: the application, functions, manager actions, console."""

    def __init__(self):
        self.pbx = None
        self.config = ConfBridgeConfig()
        self.conferences = {}

    def load(self, pbx, registrar):
        self.pbx = pbx
        self.config = readConfig(getattr(pbx, "configDir", None))
        registrar.register("application", FunctionApplication(
            "ConfBridge", self.confBridge, "Conference bridge application."))
        registrar.register("function", ConfBridgeFunction())
        registrar.register("function", ConfBridgeInfoFunction(self))
        for name, synopsis, run in (
                ("ConfbridgeList", "List participants in a conference.", self.amiList),
                ("ConfbridgeListRooms", "List active conferences.", self.amiListRooms),
                ("ConfbridgeKick", "Kick a Confbridge user.", self.amiKick),
                ("ConfbridgeMute", "Mute a Confbridge user.", self.amiMute),
                ("ConfbridgeUnmute", "Unmute a Confbridge user.", self.amiUnmute),
                ("ConfbridgeLock", "Lock a Confbridge conference.", self.amiLock),
                ("ConfbridgeUnlock", "Unlock a Confbridge conference.", self.amiUnlock),
                ("ConfbridgeStartRecord", "Start recording a Confbridge conference.",
                 self.amiStartRecord),
                ("ConfbridgeStopRecord", "Stop recording a Confbridge conference.",
                 self.amiStopRecord)):
            privileges = ("reporting", "call") if name.startswith("ConfbridgeList") else ("call",)
            registrar.register("manageraction", Action(name, privileges, synopsis, run))
        registrar.register("clicommand", ConfBridgeListCommand(self))
        registrar.addCleanup(self.endAll)

    def reload(self, pbx):
        self.config = readConfig(getattr(pbx, "configDir", None))

    def endAll(self):
        for conference in list(self.conferences.values()):
            conference.end()

    def ended(self, conference):
        if self.conferences.get(conference.name) is conference:
            del self.conferences[conference.name]

    def loadSound(self, name):
        """16-bit linear audio of sound C{name} (falling back to beep), or None."""
        for candidate in (name, "beep"):
            path = findSoundFile(self.pbx, candidate) if candidate else None
            if path is None:
                continue
            try:
                fmt, audio = loadSound(path)
                return g711.transcode(fmt, "slin", audio)
            except (OSError, ValueError):
                continue
        return None

    # -- the application ---------------------------------------------------------

    def _profiles(self, channel, args):
        def pick(table, index, default):
            name = args[index].strip() if len(args) > index and args[index].strip() else default
            return table.get(name) or table[default]
        bridge = pick(self.config.bridges, 1, "default_bridge")
        user = pick(self.config.users, 2, "default_user")
        menu = pick(self.config.menus, 3, "default_menu")
        overrides = channel.datastores.get(OVERRIDES) or {}
        if overrides.get("user"):
            user = replace(user, **overrides["user"])
        if overrides.get("bridge"):
            bridge = replace(bridge, **overrides["bridge"])
        return bridge, user, menu

    async def _pinOk(self, channel, pin):
        for _ in range(3):
            await playFiles(channel, ["beep"])
            entered = ""
            while True:
                digit = await channel.waitForDigit(10)
                if digit is None or digit == "#":
                    break
                entered += digit
            if entered == pin:
                return True
            await playFiles(channel, ["invalid"])
        return False

    async def confBridge(self, channel, data):
        args = splitArgs(data or "")
        name = args[0].strip() if args else ""
        if not name:
            log.warn("ConfBridge requires a conference name")
            channel.setVariable("CONFBRIDGE_RESULT", "FAILED")
            return
        bridge, user, menu = self._profiles(channel, args)
        if channel.state != ChannelState.UP:
            await channel.answer()
        if user.pin and not await self._pinOk(channel, user.pin):
            channel.setVariable("CONFBRIDGE_RESULT", "FAILED")
            return
        conference = self.conferences.get(name)
        if conference is not None and (
                (conference.locked and not user.admin)
                or (bridge.max_members and len(conference.members) >= bridge.max_members)):
            channel.setVariable("CONFBRIDGE_RESULT", "FAILED")
            return
        if conference is None:
            conference = self.conferences[name] = Conference(self, name, bridge)
        member = Member(channel, user, menu)
        conference.add(member)
        result = await member.done
        if result == "HANGUP" and channel.hangupRequested:
            raise ChannelHungUp(channel.name)
        channel.setVariable("CONFBRIDGE_RESULT", result)

    def startReading(self, conference, member):
        d = defer.ensureDeferred(self._read(conference, member))
        d.addErrback(lambda f: log.failure("ConfBridge reader", f))

    async def _read(self, conference, member):
        channel = member.channel
        while not member.done.called:
            try:
                frame = await channel.readFrame()
            except ChannelHungUp:
                conference.remove(member, "HANGUP")
                return
            if member.done.called:
                return
            if frame.kind is FrameKind.VOICE:
                member.take(frame)
            elif frame.kind is FrameKind.DTMF_END:
                self._menuDigit(conference, member, frame.subclass)

    def _menuDigit(self, conference, member, digit):
        member.digits = (member.digits + digit)[-8:]
        keys = member.menu.keys
        action = None
        for sequence, name in keys.items():
            if member.digits.endswith(sequence):
                action = name
                break
        if action is None:
            return
        member.digits = ""
        if action == "toggle_mute":
            conference.setMuted(member, not member.muted)
        elif action == "leave_conference":
            conference.remove(member, "LEFT")
        elif action == "admin_kick_last" and member.user.admin:
            others = [m for m in conference.members if m is not member and not m.user.admin]
            if others:
                conference.kick(max(others, key=lambda m: m.joined))
        elif action == "admin_toggle_conference_lock" and member.user.admin:
            conference.locked = not conference.locked
            conference.emit("ConfbridgeLock" if conference.locked else "ConfbridgeUnlock")

    # -- manager -----------------------------------------------------------------

    def _conference(self, request):
        name = required(request, "Conference")
        conference = self.conferences.get(name)
        if conference is None:
            raise ManagerError("No Conference by that name found.")
        return conference

    def _members(self, request, conference):
        name = required(request, "Channel")
        if name.lower() == "all":
            return list(conference.members)
        if name.lower() == "participants":
            return [m for m in conference.members if not m.user.admin]
        member = conference.memberFor(name)
        if member is None:
            raise ManagerError("No Channel by that name found in Conference.")
        return [member]

    def amiList(self, session, request):
        conference = self._conference(request)
        now = self.pbx.reactor.seconds()
        events = [("ConfbridgeList", [("Conference", conference.name)] + channelFields(m.channel) + [
            ("Admin", "Yes" if m.user.admin else "No"),
            ("MarkedUser", "Yes" if m.user.marked else "No"),
            ("WaitMarked", "Yes" if m.user.wait_marked else "No"),
            ("EndMarked", "Yes" if m.user.end_marked else "No"),
            ("Waiting", "Yes" if m.waiting else "No"),
            ("Muted", "Yes" if m.muted else "No"),
            ("Talking", "Yes" if m.talker.talking else "No"),
            ("AnsweredTime", str(int(now - m.joined)))]) for m in conference.members]
        return ListResponse(events, "ConfbridgeListComplete", "Confbridge user list will follow")

    def amiListRooms(self, session, request):
        events = [("ConfbridgeListRooms", [
            ("Conference", c.name), ("Parties", str(len(c.members))),
            ("Marked", str(sum(1 for m in c.members if m.user.marked))),
            ("Locked", "Yes" if c.locked else "No"),
            ("Muted", "Yes" if c.members and all(m.muted for m in c.members) else "No")])
            for c in sorted(self.conferences.values(), key=lambda c: c.name)]
        if not events:
            raise ManagerError("No active conferences.")
        return ListResponse(events, "ConfbridgeListRoomsComplete", "Confbridge conferences will follow")

    def amiKick(self, session, request):
        conference = self._conference(request)
        for member in self._members(request, conference):
            conference.kick(member)
        return Success("User kicked")

    def _mute(self, request, muted):
        conference = self._conference(request)
        for member in self._members(request, conference):
            conference.setMuted(member, muted)
        return Success("User muted" if muted else "User unmuted")

    def amiMute(self, session, request):
        return self._mute(request, True)

    def amiUnmute(self, session, request):
        return self._mute(request, False)

    def _lock(self, request, locked):
        conference = self._conference(request)
        conference.locked = locked
        conference.emit("ConfbridgeLock" if locked else "ConfbridgeUnlock")
        return Success("Conference locked" if locked else "Conference unlocked")

    def amiLock(self, session, request):
        return self._lock(request, True)

    def amiUnlock(self, session, request):
        return self._lock(request, False)

    def amiStartRecord(self, session, request):
        conference = self._conference(request)
        if conference.recording is not None:
            raise ManagerError("Conference is already being recorded.")
        path = (request.get("RecordFile") or "").strip()
        if not path:
            stamp = int(self.pbx.reactor.seconds())
            path = f"confbridge-{conference.name}-{stamp}.wav"
        if not os.path.isabs(path):
            settings = getattr(self.pbx, "settings", None)
            spool = (settings.get("spoolDir") if settings is not None else None) or "."
            path = os.path.join(spool, "confbridge", path)
        conference.startRecording(path)
        return Success("Conference Recording Started.")

    def amiStopRecord(self, session, request):
        conference = self._conference(request)
        if not conference.stopRecording():
            raise ManagerError("Internal error while stopping recording.")
        return Success("Conference Recording Stopped.")


@implementer(IDialplanFunction)
class ConfBridgeFunction:
    """CONFBRIDGE(user|bridge,option)=value: a profile option for the next join."""

    name = "CONFBRIDGE"
    synopsis = "Set a custom dynamic bridge, user, or menu profile on a channel"

    def read(self, channel, args):
        return ""

    def write(self, channel, args, value):
        kind, _, option = (args or "").partition(",")
        kind, option = kind.strip().lower(), option.strip().lower()
        if channel is None or kind not in ("user", "bridge") or not option:
            return
        cls = UserProfile if kind == "user" else BridgeProfile
        current = getattr(cls(), option, None)
        if current is None or option == "name":
            log.warn("CONFBRIDGE: unknown {kind} option {option}", kind=kind, option=option)
            return
        if isinstance(current, bool):
            parsed = value.strip().lower() in ("yes", "true", "1", "on")
        elif isinstance(current, int):
            try:
                parsed = int(value)
            except ValueError:
                return
        else:
            parsed = value
        channel.datastores.setdefault(OVERRIDES, {}).setdefault(kind, {})[option] = parsed


@implementer(IDialplanFunction)
class ConfBridgeInfoFunction:
    """CONFBRIDGE_INFO(parties|admins|marked|locked|muted,conference)."""

    name = "CONFBRIDGE_INFO"
    synopsis = "Get information about a ConfBridge conference."

    def __init__(self, module):
        self.module = module

    def read(self, channel, args):
        kind, _, name = (args or "").partition(",")
        conference = self.module.conferences.get(name.strip())
        members = conference.members if conference is not None else []
        kind = kind.strip().lower()
        if kind == "parties":
            return str(len(members))
        if kind == "admins":
            return str(sum(1 for m in members if m.user.admin))
        if kind == "marked":
            return str(sum(1 for m in members if m.user.marked))
        if kind == "locked":
            return "1" if conference is not None and conference.locked else "0"
        if kind == "muted":
            return "1" if members and all(m.muted for m in members) else "0"
        return ""

    def write(self, channel, args, value):
        raise ReadOnlyFunction("CONFBRIDGE_INFO is read-only")


@implementer(ICLICommand)
class ConfBridgeListCommand:
    """C{confbridge list [conference]}."""

    name = "confbridge list"
    summary = "List conference bridges and participants."
    usage = "Usage: confbridge list [<name>]\n       Lists all currently active conference bridges or a specific conference bridge."

    def __init__(self, module):
        self.module = module

    def execute(self, pbx, args):
        module = self.module
        if len(args) > 1:
            raise CLIUsageError(self.usage)
        if not args:
            lines = ["Conference Bridge Name           Users  Marked Locked Muted",
                     "================================ ====== ====== ====== ====="]
            for c in sorted(module.conferences.values(), key=lambda c: c.name):
                marked = sum(1 for m in c.members if m.user.marked)
                muted = bool(c.members) and all(m.muted for m in c.members)
                lines.append(f"{c.name:<32} {len(c.members):>6} {marked:>6} "
                             f"{'locked' if c.locked else 'unlocked':<6} {'Yes' if muted else 'No'}")
            return "\n".join(lines) + "\n"
        conference = module.conferences.get(args[0])
        if conference is None:
            return f"No conference bridge named '{args[0]}' found!\n"
        lines = ["Channel                        Flags  User Profile     Bridge Profile",
                 "============================== ====== ================ ================"]
        for m in conference.members:
            flags = ("A" if m.user.admin else "") + ("M" if m.user.marked else "") + \
                ("W" if m.user.wait_marked else "") + ("E" if m.user.end_marked else "") + \
                ("m" if m.muted else "") + ("w" if m.waiting else "")
            lines.append(f"{m.channel.name:<30} {flags:<6} {m.user.name:<16} {conference.bridge.name}")
        return "\n".join(lines) + "\n"
