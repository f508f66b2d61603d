"""
The console: finding a command in the 'clicommand' registry from a typed
line, completing command words, and the core commands themselves.

The core registers these with L{register}; modules add their own
(C{sip show peers}, C{manager show connected}) as kind 'clicommand'.
Output tables follow Asterisk's column layouts so that scripts written
against Asterisk's console keep working.
"""

import platform
import shlex
import time

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.channel import technologyName
from pbxcore.errors import CLIUsageError, ModuleError
from pbxcore.interfaces import ICLICommand

log = Logger()


# -- dispatch ---------------------------------------------------------------

def splitLine(line):
    """Words of a console line; quotes group words as Asterisk's parser does."""
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def findCommand(pbx, words):
    """
    The command whose words are the longest prefix of C{words}
    (case-insensitive), and the remaining arguments; (None, words) if none.
    """
    try:
        registry = pbx.registry("clicommand")
    except KeyError:
        return None, words
    lowered = [w.lower() for w in words]
    best, bestLen = None, 0
    for command in registry:
        cwords = command.name.lower().split()
        if len(cwords) > bestLen and lowered[:len(cwords)] == cwords:
            best, bestLen = command, len(cwords)
    return best, words[bestLen:]


def runCommand(pbx, line):
    """
    Run one console line; a Deferred firing with the output text. Unknown
    commands and usage errors give text, never an exception.
    """
    words = splitLine(line.strip())
    if not words:
        return defer.succeed("")
    command, args = findCommand(pbx, words)
    if command is None:
        return defer.succeed(
            f"No such command '{' '.join(words)}' (type 'core show help "
            f"{words[0]}' for other possible commands)\n")
    d = defer.maybeDeferred(command.execute, pbx, list(args))

    def failed(failure):
        if failure.check(CLIUsageError):
            text = str(failure.value) or command.usage
            return text if text.endswith("\n") else text + "\n"
        if failure.check(ModuleError):
            return f"{failure.value}\n"
        log.failure("console command {line!r} failed", failure, line=line)
        return f"Command '{line.strip()}' failed: {failure.getErrorMessage()}\n"

    def normalise(text):
        text = "" if text is None else str(text)
        if text and not text.endswith("\n"):
            text += "\n"
        return text

    d.addCallbacks(normalise, failed)
    return d


def completions(pbx, line):
    """
    Possible next words for a partly typed line: command words only, as the
    console's tab completion needs.
    """
    try:
        registry = pbx.registry("clicommand")
    except KeyError:
        return []
    endsWithSpace = line.endswith(" ") or not line
    words = line.lower().split()
    done = words if endsWithSpace else words[:-1]
    partial = "" if endsWithSpace else words[-1]
    result = set()
    for command in registry:
        cwords = command.name.lower().split()
        if len(cwords) > len(done) and cwords[:len(done)] == done:
            nxt = cwords[len(done)]
            if nxt.startswith(partial):
                result.add(nxt)
    return sorted(result)


# -- helpers ------------------------------------------------------------------

def formatDuration(seconds):
    """Asterisk's uptime phrasing: '1 hour, 2 minutes, 3 seconds'."""
    seconds = int(seconds)
    parts = []
    for name, size in (("year", 31536000), ("week", 604800), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {name}{'s' if n != 1 else ''}")
    if seconds or not parts:
        parts.append(f"{seconds} second{'s' if seconds != 1 else ''}")
    return ", ".join(parts)


def hms(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def channelList(pbx):
    channels = getattr(pbx, "channels", None)
    return list(channels) if channels is not None else []


def _stateText(channel):
    state = getattr(channel, "state", None)
    return getattr(state, "description", str(state))


def _now(pbx):
    reactor = getattr(pbx, "reactor", None)
    return reactor.seconds() if reactor is not None else time.time()


def _duration(pbx, channel):
    created = getattr(channel, "creationTime", None)
    if created is None:
        return 0
    return max(0, int(_now(pbx) - created))


def _bridgeID(channel):
    bridge = getattr(channel, "bridge", None)
    if bridge is None:
        return ""
    return str(getattr(bridge, "uniqueid", getattr(bridge, "id", "")) or "")


@implementer(ICLICommand)
class Command:
    """A console command made of a function C{run(pbx, args) -> str}."""

    def __init__(self, name, summary, usage, run, minArgs=0, maxArgs=None):
        self.name = name
        self.summary = summary
        self.usage = usage
        self._run = run
        self._min = minArgs
        self._max = maxArgs

    def execute(self, pbx, args):
        if len(args) < self._min or (self._max is not None and len(args) > self._max):
            raise CLIUsageError(self.usage)
        return self._run(pbx, args)

    def __repr__(self):
        return f"<Command {self.name!r}>"


# -- core show ... ------------------------------------------------------------

def showVersion(pbx, args):
    version = getattr(pbx, "version", None)
    if version is None:
        from pbxcore import __version__ as version
    return (f"txpbx {version} on Python {platform.python_version()} "
            f"running {platform.system()} on a {platform.machine()}\n")


def showUptime(pbx, args):
    now = _now(pbx)
    start = getattr(pbx, "startTime", None) or now
    reload = getattr(pbx, "reloadTime", None) or start
    if args and args[0].lower() == "seconds":
        return f"System uptime: {int(now - start)}\nLast reload: {int(now - reload)}\n"
    if args:
        raise CLIUsageError("Usage: core show uptime [seconds]")
    return (f"System uptime: {formatDuration(now - start)}\n"
            f"Last reload: {formatDuration(now - reload)}\n")


def _appData(channel):
    appl = getattr(channel, "appl", None) or ""
    data = getattr(channel, "data", None) or ""
    if not appl:
        return "(None)"
    return f"{appl}({data})"


def showChannels(pbx, args):
    mode = args[0].lower() if args else ""
    if mode not in ("", "concise", "verbose", "count"):
        raise CLIUsageError("Usage: core show channels [concise|verbose|count]")
    channels = channelList(pbx)
    lines = []
    if mode == "concise":
        for c in channels:
            caller = getattr(c, "caller", None)
            lines.append("!".join(str(x) for x in (
                c.name, c.context or "", c.exten or "", c.priority or 0, _stateText(c),
                getattr(c, "appl", None) or "(None)", getattr(c, "data", None) or "",
                getattr(caller, "number", "") or "", getattr(c, "accountcode", "") or "",
                "", getattr(c, "amaflags", 3) or 3, _duration(pbx, c), _bridgeID(c),
                c.uniqueid)))
        return "\n".join(lines) + ("\n" if lines else "")
    if mode == "verbose":
        fmt = "{:<20.20} {:<20.20} {:<20.20} {:<4.4} {:<7.7} {:<12.12} {:<25.25} {:<15.15} {:>8.8} {:<11.11} {:<11.11} {:<20.20}"
        lines.append(fmt.format("Channel", "Context", "Extension", "Prio", "State",
                                "Application", "Data", "CallerID", "Duration",
                                "Accountcode", "PeerAccount", "BridgeID"))
        for c in channels:
            caller = getattr(c, "caller", None)
            lines.append(fmt.format(
                c.name, c.context or "", c.exten or "", str(c.priority or ""),
                _stateText(c), getattr(c, "appl", None) or "(None)",
                getattr(c, "data", None) or "", getattr(caller, "number", "") or "",
                hms(_duration(pbx, c)), getattr(c, "accountcode", "") or "", "",
                _bridgeID(c)))
    elif mode == "":
        fmt = "{:<20.20} {:<20.20} {:<7.7} {:<30.30}"
        lines.append(fmt.format("Channel", "Location", "State", "Application(Data)"))
        for c in channels:
            location = f"{c.exten or ''}@{c.context or ''}:{c.priority or 1}"
            lines.append(fmt.format(c.name, location, _stateText(c), _appData(c)))
    n = len(channels)
    calls = len({getattr(c, "linkedid", c.uniqueid) for c in channels})
    lines.append(f"{n} active channel{'s' if n != 1 else ''}")
    lines.append(f"{calls} active call{'s' if calls != 1 else ''}")
    processed = getattr(getattr(pbx, "engine", None), "callsProcessed", None)
    if processed is not None:
        lines.append(f"{processed} call{'s' if processed != 1 else ''} processed")
    return "\n".join(lines) + "\n"


def findChannel(pbx, name):
    """A live channel by exact name (case-insensitive) or unique prefix."""
    channels = channelList(pbx)
    lowered = name.lower()
    for c in channels:
        if c.name.lower() == lowered or c.uniqueid == name:
            return c
    matches = [c for c in channels if c.name.lower().startswith(lowered)]
    return matches[0] if len(matches) == 1 else None


def showChannel(pbx, args):
    channel = findChannel(pbx, args[0])
    if channel is None:
        return f"{args[0]} is not a known channel\n"
    c = channel
    caller = getattr(c, "caller", None)
    connected = getattr(c, "connected", None)
    rows = [
        ("Name", c.name), ("Type", technologyName(c)),
        ("UniqueID", c.uniqueid), ("LinkedID", getattr(c, "linkedid", "")),
        ("Caller ID", getattr(caller, "number", "") or "(N/A)"),
        ("Caller ID Name", getattr(caller, "name", "") or "(N/A)"),
        ("Connected Line ID", getattr(connected, "number", "") or "(N/A)"),
        ("Connected Line ID Name", getattr(connected, "name", "") or "(N/A)"),
        ("State", f"{_stateText(c)} ({int(getattr(c, 'state', 0))})"),
        ("Language", getattr(c, "language", "") or ""),
        ("Accountcode", getattr(c, "accountcode", "") or ""),
        ("Elapsed Time", hms(_duration(pbx, c))),
        ("Bridge ID", _bridgeID(c) or "(Not bridged)"),
        ("Context", c.context or ""), ("Extension", c.exten or ""),
        ("Priority", c.priority or ""),
        ("Application", getattr(c, "appl", None) or "(N/A)"),
        ("Data", getattr(c, "data", None) or "(Empty)"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [" -- General --"] + [f"{k:>{width}}: {v}" for k, v in rows]
    variables = getattr(c, "variables", None) or {}
    lines.append("      Variables:")
    for name, value in (variables.items() if hasattr(variables, "items") else variables):
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def showSettings(pbx, args):
    settings = getattr(pbx, "settings", None)

    def setting(key, default=""):
        if settings is None:
            return default
        try:
            value = settings.get(key, default)
        except Exception:
            value = getattr(settings, key, default)
        return default if value is None else value

    rows = [
        ("Version", getattr(pbx, "version", "")),
        ("Maximum calls", setting("maxcalls") or "Not set"),
        ("Verbosity", setting("verbose", 0)),
        ("Debug level", setting("debug", 0)),
        ("System name", setting("systemname")),
        ("Default language", setting("defaultlanguage", "en")),
        ("Configuration directory", getattr(pbx, "configDir", "")),
        ("Data directory", getattr(pbx, "dataDir", "")),
        ("Python", platform.python_version()),
    ]
    lines = ["", "PBX Core settings", "-----------------"]
    lines += [f"  {k + ':':<28}{v}" for k, v in rows]
    return "\n".join(lines) + "\n"


def _registryMembers(pbx, kind):
    try:
        return list(pbx.registry(kind))
    except KeyError:
        return []


def showApplications(pbx, args):
    apps = sorted(_registryMembers(pbx, "application"), key=lambda a: a.name.lower())
    if args and args[0].lower() == "like" and len(args) > 1:
        apps = [a for a in apps if args[1].lower() in a.name.lower()]
    lines = ["    -= Registered Applications =-"]
    lines += [f"{a.name:>20}: {getattr(a, 'synopsis', '')}" for a in apps]
    lines.append(f"    -= {len(apps)} Applications Registered =-")
    return "\n".join(lines) + "\n"


def showApplication(pbx, args):
    out = []
    for name in args:
        registry = pbx.registry("application")
        app = registry.get(name)
        if app is None:
            out.append(f"Your application {name} was not found\n")
            continue
        out.append(f"\n  -= Info about application '{app.name}' =- \n\n[Synopsis]\n"
                   f"{getattr(app, 'synopsis', '')}\n\n[Description]\n"
                   f"{getattr(app, 'description', '') or 'Not available'}\n")
    return "".join(out)


def showFunctions(pbx, args):
    funcs = sorted(_registryMembers(pbx, "function"), key=lambda f: f.name.lower())
    if args and args[0].lower() == "like" and len(args) > 1:
        funcs = [f for f in funcs if args[1].lower() in f.name.lower()]
    lines = ["Installed Custom Functions:", "-" * 80]
    for f in funcs:
        syntax = getattr(f, "syntax", "") or f"{f.name}()"
        lines.append(f"{f.name:<20.20} {syntax:<35.35} {getattr(f, 'synopsis', '')}")
    lines.append(f"{len(funcs)} custom functions installed.")
    return "\n".join(lines) + "\n"


def showHelp(pbx, args):
    commands = sorted(_registryMembers(pbx, "clicommand"), key=lambda c: c.name)
    if args:
        prefix = " ".join(args).lower()
        exact = [c for c in commands if c.name.lower() == prefix]
        if exact:
            return exact[0].usage + "\n"
        commands = [c for c in commands if c.name.lower().startswith(prefix)]
        if not commands:
            return f"No such command '{' '.join(args)}'.\n"
    # Asterisk's help1(): "%-30s -- %s", every registered command.
    return "".join(f"{c.name:<30} -- {c.summary or '<no description available>'}\n" for c in commands)


def requestHangup(pbx, args):
    """C{channel request hangup <channel>|all}: Asterisk's soft hangup, one line per channel."""
    target = args[0]
    if target.lower() == "all":
        channels = channelList(pbx)
    else:
        channel = findChannel(pbx, target)
        if channel is None:
            return f"{target} is not a known channel\n"
        channels = [channel]
    lines = []
    for channel in channels:
        lines.append(f"Requested Hangup on channel '{channel.name}'")
        soft = getattr(channel, "softHangup", None)
        if soft is not None:
            soft(source="CLI")
        else:
            channel.hangup()
    return "\n".join(lines) + ("\n" if lines else "")


# -- core reload / stop ---------------------------------------------------------

def coreReload(pbx, args):
    d = defer.maybeDeferred(pbx.reload)

    def done(results):
        failed = [(n, e) for n, e in (results or []) if e]
        lines = [f"Unable to reload {n}: {e}" for n, e in failed]
        lines.append(f"Reloaded {len(results or []) - len(failed)} modules")
        return "\n".join(lines) + "\n"

    return d.addCallback(done)


def coreStop(pbx, args):
    when = " ".join(args).lower()
    if when not in ("now", "gracefully", "when convenient"):
        raise CLIUsageError("Usage: core stop now|gracefully|when convenient")
    reactor = pbx.reactor
    if when == "now" or not channelList(pbx):
        reactor.callLater(0, reactor.stop)
        return "Shutting down now\n"

    def poll():
        if not channelList(pbx):
            reactor.stop()
        else:
            reactor.callLater(1, poll)

    reactor.callLater(1, poll)
    return f"Stopping {when}: waiting for {len(channelList(pbx))} channels to end\n"


# -- module ... ------------------------------------------------------------------

def moduleShow(pbx, args):
    like = None
    if args:
        if args[0].lower() != "like" or len(args) != 2:
            raise CLIUsageError("Usage: module show [like keyword]")
        like = args[1].lower()
    loader = pbx.loader
    fmt = "{:<30} {:<40.40} {:<10} {:<11} {:>13}"
    lines = [fmt.format("Module", "Description", "Use Count", "Status", "Support Level")]
    count = 0
    for name, loaded in sorted(loader.modules.items()):
        if like and like not in name.lower():
            continue
        d = loaded.descriptor
        lines.append(fmt.format(name, getattr(d, "description", ""), loaded.useCount,
                                loaded.status, getattr(d, "supportLevel", "core")))
        count += 1
    lines.append(f"{count} modules loaded")
    return "\n".join(lines) + "\n"


def moduleLoad(pbx, args):
    name = args[0]
    d = defer.maybeDeferred(pbx.loader.load, name)
    return d.addCallback(lambda _: f"Loaded {name}\n")


def moduleUnload(pbx, args):
    force = False
    if args[0] in ("-f", "-h"):
        force = args[0] == "-f"
        args = args[1:]
        if not args:
            raise CLIUsageError("Usage: module unload [-f|-h] <modulename>")
    name = args[0]
    d = defer.maybeDeferred(pbx.loader.unload, name, force)
    return d.addCallback(lambda _: f"Unloaded {name}\n")


def moduleReload(pbx, args):
    name = args[0] if args else None
    d = defer.maybeDeferred(pbx.loader.reload, name)

    def done(results):
        lines = []
        for n, error in results:
            lines.append(f"Unable to reload {n}: {error}" if error
                         else f"Module '{n}' reloaded successfully.")
        return "\n".join(lines) + "\n"

    return d.addCallback(done)


def coreCommands():
    """The core's console commands, fresh objects for one registrar."""
    return [
        Command("core show version", "Display version info", "Usage: core show version",
                showVersion, 0, 0),
        Command("core show uptime", "Show uptime information",
                "Usage: core show uptime [seconds]", showUptime, 0, 1),
        Command("core show channels", "Display information on channels",
                "Usage: core show channels [concise|verbose|count]", showChannels, 0, 1),
        Command("core show channel", "Display information on a specific channel",
                "Usage: core show channel <channel>", showChannel, 1, 1),
        Command("core show settings", "Show some core settings",
                "Usage: core show settings", showSettings, 0, 0),
        Command("core show applications", "Shows registered dialplan applications",
                "Usage: core show applications [like <text>]", showApplications, 0, 2),
        Command("core show application", "Describe a specific dialplan application",
                "Usage: core show application <application> [<application> ...]",
                showApplication, 1),
        Command("core show functions", "Shows registered dialplan functions",
                "Usage: core show functions [like <text>]", showFunctions, 0, 2),
        Command("channel request hangup", "Request a hangup on a given channel",
                "Usage: channel request hangup <channel>|<all>\n"
                "       Request that a channel be hung up. The hangup takes effect\n"
                "       the next time the driver reads or writes from the channel.\n"
                "       If 'all' is specified instead of a channel name, all channels\n"
                "       will see the hangup request.", requestHangup, 1, 1),
        Command("core show help", "Display help list, or specific help on a command",
                "Usage: core show help [topic]", showHelp),
        Command("help", "Display help list, or specific help on a command",
                "Usage: help [topic]", showHelp),
        Command("core reload", "Global reload", "Usage: core reload", coreReload, 0, 0),
        Command("core stop", "Shut down the PBX",
                "Usage: core stop now|gracefully|when convenient", coreStop, 1, 2),
        Command("module show", "List modules and info",
                "Usage: module show [like keyword]", moduleShow, 0, 2),
        Command("module load", "Load a module", "Usage: module load <module name>",
                moduleLoad, 1, 1),
        Command("module unload", "Unload a module",
                "Usage: module unload [-f|-h] <module name>", moduleUnload, 1, 2),
        Command("module reload", "Reload configuration for a module",
                "Usage: module reload [module ...]", moduleReload, 0, 1),
    ]


def register(registrar):
    """
    Register the core console commands and the astdb C{database} commands
    (the console control socket is L{pbxcore.console.cli.register}'s).
    """
    pbx = getattr(registrar, "pbx", None)
    for command in coreCommands():
        if pbx is not None and _registered(pbx, command.name):
            continue
        registrar.register("clicommand", command)
    if pbx is not None and not _registered(pbx, "database show"):
        from pbxcore.store import astdb

        astdb.register(registrar)


def _registered(pbx, name):
    try:
        return name in pbx.registry("clicommand")
    except KeyError:
        return False
