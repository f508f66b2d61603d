"""
Verbose([level,]message) and Log(level,message): write to the PBX log from
the dialplan.
"""

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module

log = Logger(namespace="pbx.dialplan")

_LEVELS = {"ERROR": "error", "WARNING": "warn", "NOTICE": "info", "DEBUG": "debug",
           "VERBOSE": "info", "DTMF": "info"}


def _verboseLevel(pbx):
    settings = getattr(pbx, "settings", None)
    try:
        return int(settings["verbose"]) if settings is not None else 0
    except (KeyError, TypeError, ValueError):
        return 0


def verbose(channel, data):
    level, sep, message = (data or "").partition(",")
    if sep and level.strip().isdigit():
        level = int(level)
    else:
        level, message = 0, data or ""
    if level > 4:
        level = 4
    if _verboseLevel(channel.pbx) >= level:
        log.info("{message}", message=message, channel=channel.name, verboseLevel=level)


def log_(channel, data):
    level, sep, message = (data or "").partition(",")
    method = _LEVELS.get(level.strip().upper())
    if not sep or method is None:
        log.warn("Log: unknown level in \"{data}\" (ERROR, WARNING, NOTICE, DEBUG, VERBOSE, DTMF)",
                 data=data)
        return
    getattr(log, method)("{context} @ {exten} @ {priority}: {message}", context=channel.context,
                         exten=channel.exten, priority=channel.priority, message=message,
                         channel=channel.name)


class AppVerboseModule(Module):
    """Verbose and Log."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Verbose", verbose, "Send arbitrary text to verbose output"))
        registrar.register("application", FunctionApplication(
            "Log", log_, "Send arbitrary text to a selected log level"))
