"""
While loops: While(expr) ... EndWhile, with ExitWhile and ContinueWhile.

The loops a channel is inside are kept in its datastore 'while_stack' as
(context, exten, priority of While). A false While, and ExitWhile, jump
past the matching EndWhile, found by scanning the extension's priorities
and counting nested loops.
"""

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module, checkCondition
from pbxcore.errors import ApplicationHangup

log = Logger(namespace="plugins.app_while")

STACK = "while_stack"
#: How far ahead the matching EndWhile is looked for.
SCAN_LIMIT = 10000


def _stack(channel):
    return channel.datastores.setdefault(STACK, [])


def findEndWhile(channel, context, exten, priority):
    """The priority of the EndWhile matching the While at C{priority}, or None."""
    dialplan = channel.pbx.dialplan
    if dialplan is None:
        return None
    cid = channel.caller.number or None
    depth = 0
    for candidate in range(priority + 1, priority + SCAN_LIMIT):
        step = dialplan.find(context, exten, candidate, cid)
        if step is None:
            return None
        app = step.app.lower()
        if app == "while":
            depth += 1
        elif app == "endwhile":
            if depth == 0:
                return candidate
            depth -= 1
    return None


def _leaveLoop(channel, loop, app):
    end = findEndWhile(channel, *loop)
    if end is None:
        log.warn("{app}: couldn't find matching EndWhile for While at {exten}@{context} "
                 "priority {priority}", app=app, context=loop[0], exten=loop[1],
                 priority=loop[2])
        raise ApplicationHangup(None)
    channel.goto(loop[0], loop[1], end + 1)


def while_(channel, data):
    stack = _stack(channel)
    here = (channel.context, channel.exten, channel.priority)
    if not stack or stack[-1] != here:
        stack.append(here)
    if checkCondition(data):
        return
    stack.pop()
    _leaveLoop(channel, here, "While")


def endWhile(channel, data):
    stack = _stack(channel)
    if not stack:
        log.warn("EndWhile without While on '{channel}'", channel=channel.name)
        return
    context, exten, priority = stack[-1]
    channel.goto(context, exten, priority)


def exitWhile(channel, data):
    stack = _stack(channel)
    if not stack:
        log.warn("ExitWhile outside a While loop on '{channel}'", channel=channel.name)
        return
    _leaveLoop(channel, stack.pop(), "ExitWhile")


def continueWhile(channel, data):
    endWhile(channel, data)


class AppWhileModule(Module):
    """While, EndWhile, ExitWhile and ContinueWhile."""

    def load(self, pbx, registrar):
        for name, func, synopsis in (
                ("While", while_, "Start a while loop"),
                ("EndWhile", endWhile, "End a while loop"),
                ("ExitWhile", exitWhile, "End a While loop"),
                ("ContinueWhile", continueWhile, "Restart a While loop")):
            registrar.register("application", FunctionApplication(name, func, synopsis))
