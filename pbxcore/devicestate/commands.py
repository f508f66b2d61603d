"""
The device and presence state console commands: C{core show hints},
C{devstate list|change}, C{presencestate list|change}. They read and write
C{pbx.devicestate} (a L{pbxcore.devicestate.engine.DeviceStateEngine}).
"""

from zope.interface import implementer

from pbxcore.devicestate.aggregation import (
    CUSTOM_PREFIX,
    PRESENCE_PREFIX,
    DeviceState,
    extensionStateText,
    isPresenceProvider,
)
from pbxcore.errors import CLIUsageError
from pbxcore.interfaces import ICLICommand


@implementer(ICLICommand)
class CoreShowHints:
    """C{core show hints}: every hint with its state and watchers."""

    name = "core show hints"
    summary = "Show dialplan hints"
    usage = "Usage: core show hints\n       List registered hints."

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        engine = pbx.devicestate
        hints = engine.hints()
        lines = ["", "    -= Registered Asterisk Dial Plan Hints =-"]
        for context, exten, hint in hints:
            state = engine.extensionState(context, exten)
            provider = engine.hintPresence(context, exten)
            shown = f"{hint},{provider}" if provider else hint
            lines.append("%20s: %-20s  State:%-15s Presence:%-15s Watchers %2d" % (
                f"{exten}@{context}", shown, extensionStateText(state),
                engine.extensionPresence(context, exten).state,
                engine.watcherCount(context, exten)))
        lines.append("----------------")
        lines.append(f"- {len(hints)} hints registered")
        return "\n".join(lines) + "\n"


@implementer(ICLICommand)
class DevstateList:
    """C{devstate list}: the cached state of every device seen."""

    name = "devstate list"
    summary = "List currently known device states"
    usage = "Usage: devstate list"

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        lines = ["", "---------------------------------------------------------------------",
                 "--- Device States ---------------------------------------------------",
                 "---------------------------------------------------------------------"]
        for device, state in pbx.devicestate.devices():
            lines.append(f"--- Name: '{device}'  State: '{state.name}'")
        lines.append("---------------------------------------------------------------------")
        return "\n".join(lines) + "\n"


@implementer(ICLICommand)
class DevstateChange:
    """C{devstate change Custom:x STATE}: set a custom device state."""

    name = "devstate change"
    summary = "Change a custom device state"
    usage = ("Usage: devstate change <device> <state>\n"
             "       Change a custom device to a new state.")

    def execute(self, pbx, args):
        if len(args) != 2 or not args[0].lower().startswith(CUSTOM_PREFIX):
            raise CLIUsageError(self.usage)
        name = args[0][len(CUSTOM_PREFIX):]
        state = DeviceState.parse(args[1])
        pbx.devicestate.setCustomState(name, state)
        return f"Changing {args[0]} to {state.name}\n"


@implementer(ICLICommand)
class PresencestateList:
    """C{presencestate list}: every custom presence written."""

    name = "presencestate list"
    summary = "List currently known custom presence states"
    usage = "Usage: presencestate list"

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        engine = pbx.devicestate
        lines = ["", "---------------------------------------------------------------------",
                 "--- Custom Presence States ------------------------------------------",
                 "---------------------------------------------------------------------"]
        for name, value in engine.customPresences():
            presence = engine.presenceState("CustomPresence:" + name)
            encoded = "yes" if value.rsplit(",", 1)[-1].strip() == "e" and \
                value.count(",") >= 3 else "no"
            lines += ["---", f"Name: 'CustomPresence:{name}'", f"State: '{presence.state}'",
                      f"Subtype: '{presence.subtype}'", f"Message: '{presence.message}'",
                      f"Base64 Encoded: {encoded}"]
        lines.append("---------------------------------------------------------------------")
        return "\n".join(lines) + "\n"


@implementer(ICLICommand)
class PresencestateChange:
    """C{presencestate change CustomPresence:x state[,subtype[,message[,options]]]}."""

    name = "presencestate change"
    summary = "Change a custom presence state"
    usage = ("Usage: presencestate change <entity> <state>[,<subtype>[,message[,options]]]\n"
             "       Change a custom presence to a new state.")

    def execute(self, pbx, args):
        if len(args) < 2 or not isPresenceProvider(args[0]):
            raise CLIUsageError(self.usage)
        value = " ".join(args[1:])
        try:
            pbx.devicestate.setCustomPresence(args[0][len(PRESENCE_PREFIX):], value)
        except ValueError as e:
            raise CLIUsageError(f"{e}\n{self.usage}") from None
        return f"Changing {args[0]} to {value}\n"


def register(registrar):
    """Register the device-state console commands through C{registrar}."""
    for command in (CoreShowHints(), DevstateList(), DevstateChange(),
                    PresencestateList(), PresencestateChange()):
        registrar.register("clicommand", command)
