"""
func_logic: conditions in the dialplan.

    ${ISNULL(text)}                    1 when text is empty
    ${EXISTS(text)}                    1 when text is not empty
    ${IF(cond?[true][:false])}         one branch by condition
    ${IFTIME(timespec?[true][:false])} one branch by time of day
    ${SET(VAR=value)}                  sets VAR and returns value
"""

import datetime
import time

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module, ReadOnly, checkCondition
from pbxcore.dialplan import timing
from pbxcore.interfaces import IDialplanFunction

log = Logger()


def splitBranches(rest):
    """C{true:false} of IF and IFTIME, at the first colon."""
    true, _, false = rest.partition(":")
    return true.strip(), false.strip()


@implementer(IDialplanFunction)
class IsNullFunction(ReadOnly):
    name = "ISNULL"
    synopsis = "Check if a value is NULL."

    def read(self, channel, args):
        return "0" if args else "1"


@implementer(IDialplanFunction)
class ExistsFunction(ReadOnly):
    name = "EXISTS"
    synopsis = "Test the existence of a value."

    def read(self, channel, args):
        return "1" if args else "0"


@implementer(IDialplanFunction)
class IfFunction(ReadOnly):
    name = "IF"
    synopsis = "Check for an expression."

    def read(self, channel, args):
        condition, sep, rest = (args or "").partition("?")
        if not sep:
            log.warn("Syntax IF(<expr>?[<true>][:<false>])")
            return ""
        true, false = splitBranches(rest)
        return true if checkCondition(condition.strip()) else false


@implementer(IDialplanFunction)
class IfTimeFunction(ReadOnly):
    name = "IFTIME"
    synopsis = "Temporal Conditional."

    def __init__(self, pbx=None):
        self.pbx = pbx

    def _now(self, spec):
        reactor = getattr(self.pbx, "reactor", None)
        seconds = reactor.seconds() if reactor is not None else time.time()
        now = datetime.datetime.fromtimestamp(seconds).astimezone()
        return now if spec.timezone else now.replace(tzinfo=None)

    def read(self, channel, args):
        spec, sep, rest = (args or "").partition("?")
        if not sep:
            log.warn("Syntax IFTIME(<timespec>?[<true>][:<false>])")
            return ""
        try:
            parsed = timing.parseTimeSpec(spec.strip())
        except timing.TimeSpecError as e:
            log.warn("IFTIME: {error}", error=str(e))
            return ""
        true, false = splitBranches(rest)
        return true if timing.matches(parsed, self._now(parsed)) else false


@implementer(IDialplanFunction)
class SetFunction(ReadOnly):
    name = "SET"
    synopsis = "SET assigns a value to a channel variable."

    def read(self, channel, args):
        name, sep, value = (args or "").partition("=")
        name = name.strip()
        if not sep or not name:
            log.warn("Syntax SET(<varname>=[<value>])")
            return ""
        if channel is not None:
            channel.setVariable(name, value)
        return value


class FuncLogicModule(Module):
    def load(self, pbx, registrar):
        for function in (IsNullFunction(), ExistsFunction(), IfFunction(),
                         IfTimeFunction(pbx), SetFunction()):
            registrar.register("function", function)
