"""
pbx_config: the dialplan from extensions.conf.

Load reads C{<configDir>/extensions.conf} as Asterisk does, installs it as
C{pbx.dialplan} and sets C{pbx.globals} from its [globals]. What Asterisk
loads with a warning loads here with the warning logged (file:line); only a
file Asterisk's reader gives up on (no closing ']', a missing #include, ...)
makes the module decline, as pbx_config does. Reload parses the whole new
file first and only then swaps it in, so such a file keeps the running
dialplan and a live call simply finds its next step in whichever dialplan
is current.

Console: C{dialplan show [CONTEXT|EXTEN@CONTEXT]}, C{dialplan reload},
C{dialplan check} (reads extensions.conf again and prints every warning).
"""

import os

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.config import Config, ConfigError, isTrue
from pbxcore.dialplan.expr import substitute
from pbxcore.dialplan.parser import checkReport, parseDialplan
from pbxcore.dialplan.parser import readDialplan as readDialplanFile
from pbxcore.dialplan.pattern import extensionMatch
from pbxcore.errors import CLIUsageError
from pbxcore.interfaces import ICLICommand

log = Logger()

FILENAME = "extensions.conf"


def readDialplan(configDir):
    """
    Read extensions.conf from C{configDir}; a missing file gives an empty
    dialplan (and a warning). Raises ConfigError only where Asterisk's
    reader gives up on the file; everything else is in C{.warnings}.
    """
    path = os.path.join(configDir or ".", FILENAME)
    if not os.path.exists(path):
        log.warn("{path} not found: starting with an empty dialplan", path=path)
        return parseDialplan(Config(path))
    return readDialplanFile(path, configDir or ".")


def globalValues(pbx, dialplan, keep):
    """
    The [globals] of C{dialplan} with ${...} expanded in order, as Asterisk
    does when it loads them; earlier globals (and, when C{keep}, the
    current ones) are visible to later values.
    """
    values = {}

    def getVar(name):
        if name in values:
            return values[name]
        return keep.get(name) if keep is not None else None

    def callFunction(name, args):
        try:
            function = pbx.registry("function").get(name)
        except KeyError:
            function = None
        if function is None:
            log.warn("[globals]: function {name} is not available", name=name)
            return ""
        return function.read(None, args)

    def onError(error):
        log.warn("[globals]: {error}", error=str(error))

    for name, raw in dialplan.globals:
        values[name] = substitute(raw, getVar, callFunction, onError)
    return values


def installDialplan(pbx, dialplan):
    """Swap C{dialplan} in and apply its [globals] (clearglobalvars honoured)."""
    for filename, line, message in dialplan.warnings:
        log.warn("{filename}:{line}: {message}", filename=filename, line=line,
                 message=message)
    if dialplan.warnings:
        count = len(dialplan.warnings)
        log.warn("dialplan loaded with {count} warning{s} (as Asterisk loads it; "
                 "'dialplan check' lists them)", count=count, s="" if count == 1 else "s")
    if getattr(pbx, "globals", None) is None:
        pbx.globals = {}
    clear = isTrue(dialplan.general.get("clearglobalvars"))
    values = globalValues(pbx, dialplan, None if clear else dict(pbx.globals))
    if clear:
        pbx.globals.clear()
    pbx.globals.update(values)
    pbx.dialplan = dialplan
    devicestate = getattr(pbx, "devicestate", None)
    if devicestate is not None:
        # Hints may have changed: watchers (BLF) hear about it now.
        devicestate.dialplanReloaded()


@implementer(ICLICommand)
class DialplanShowCommand:
    name = "dialplan show"
    summary = "Show dialplan"
    usage = ("Usage: dialplan show [[exten@]context]\n"
             "       Show the dialplan, one context, or one extension of a context.\n")

    def execute(self, pbx, args):
        dialplan = getattr(pbx, "dialplan", None)
        if dialplan is None:
            return "There is no dialplan loaded.\n"
        if len(args) > 1:
            raise CLIUsageError(self.usage)
        if not args:
            return "\n".join(dialplan.describe()) + "\n"
        exten, at, context = args[0].rpartition("@")
        if not at:
            exten, context = "", args[0]
        try:
            lines = dialplan.describe(context)
        except KeyError:
            return f"There is no existence of '{context}' context\n"
        if exten:
            lines = _filterExtension(dialplan, context, exten, lines)
        return "\n".join(lines) + "\n"


def _filterExtension(dialplan, context, exten, lines):
    """Only the blocks of extensions that C{exten} dials in C{context}."""
    ctx = dialplan.contexts[context]
    keep = {ext.name for ext in ctx.extensions() if extensionMatch(ext.name, exten)}
    out = lines[:1]
    showing = False
    for line in lines[1:-1]:
        if line.startswith("  '"):
            showing = line[3:].split("'", 1)[0] in keep
        elif not line.startswith("   "):
            showing = False
        if showing:
            out.append(line)
    if len(out) == 1:
        return [f"There is no existence of {exten}@{context} extension"]
    return out


@implementer(ICLICommand)
class DialplanReloadCommand:
    name = "dialplan reload"
    summary = "Reload extensions and *only* extensions"
    usage = "Usage: dialplan reload\n       Reload extensions.conf only.\n"

    def __init__(self, module):
        self.module = module

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        try:
            self.module.reload(pbx)
        except ConfigError as e:
            return f"Dialplan reload failed, the old dialplan stays: {e}\n"
        count = len(pbx.dialplan.warnings)
        if count:
            plural = "" if count == 1 else "s"
            return (f"Dialplan reloaded with {count} warning{plural} "
                    "(logged; 'dialplan check' lists them).\n")
        return "Dialplan reloaded.\n"


@implementer(ICLICommand)
class DialplanCheckCommand:
    name = "dialplan check"
    summary = "Check extensions.conf and list every warning"
    usage = ("Usage: dialplan check\n"
             "       Read extensions.conf again (without loading it) and print every\n"
             "       warning with file:line.\n")

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        lines, _ = checkReport(os.path.join(pbx.configDir or ".", FILENAME))
        return "\n".join(lines) + "\n"


class PBXConfigModule(Module):
    """The IModule of pbx_config."""

    def load(self, pbx, registrar):
        installDialplan(pbx, readDialplan(pbx.configDir))
        registrar.register("clicommand", DialplanShowCommand())
        registrar.register("clicommand", DialplanReloadCommand(self))
        registrar.register("clicommand", DialplanCheckCommand())

    def reload(self, pbx):
        dialplan = readDialplan(pbx.configDir)  # raises before anything changes
        installDialplan(pbx, dialplan)

    def unload(self, pbx):
        pbx.dialplan = None
