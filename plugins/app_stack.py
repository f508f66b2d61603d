"""
Dialplan subroutines: Gosub, GosubIf, Return, StackPop and the LOCAL()
function.

Each Gosub pushes a frame holding the return address and the previous
values of the variables the subroutine scopes (ARG1..ARGn and anything set
through LOCAL()); Return and StackPop put those values back. Frames live in
the channel's datastore 'gosub_stack'.
"""

from dataclasses import dataclass, field

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import FunctionApplication, Module, checkCondition
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ApplicationHangup
from pbxcore.interfaces import IDialplanFunction

log = Logger(namespace="plugins.app_stack")

#: Nesting allowed before Gosub refuses (a runaway recursion guard);
#: pbx.settings['maxgosubdepth'] overrides it.
MAX_DEPTH = 100

STACK = "gosub_stack"


@dataclass
class StackFrame:
    context: str
    exten: str
    priority: int
    argc: int
    saved: dict = field(default_factory=dict)


def _stack(channel):
    return channel.datastores.setdefault(STACK, [])


def frameSetVariable(channel, frame, name, value):
    """Set C{name} for the life of C{frame}; its old value comes back on Return."""
    if name not in frame.saved:
        frame.saved[name] = channel.variables.get(name)
    channel.setVariable(name, value)


def _popFrame(channel):
    stack = _stack(channel)
    if not stack:
        return None
    frame = stack.pop()
    for name, old in frame.saved.items():
        channel.setVariable(name, old)
    return frame


def splitCall(text):
    """'target(a,b)' -> ('target', ['a', 'b']); no parentheses -> no args."""
    text = text.strip()
    opened = text.find("(")
    if opened < 0:
        return text, []
    closed = text.rfind(")")
    if closed < opened:
        closed = len(text)
    return text[:opened], splitArgs(text[opened + 1:closed])


def splitBranches(text):
    """'a(x:y):b' -> ('a(x:y)', 'b'): the ':' outside parentheses splits."""
    depth = 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif c == ":" and depth == 0:
            return text[:i], text[i + 1:]
    return text, ""


def _maxDepth(channel):
    settings = getattr(channel.pbx, "settings", None)
    try:
        value = settings["maxgosubdepth"] if settings is not None else None
    except KeyError:
        value = None
    return int(value) if value else MAX_DEPTH


def gosubTo(channel, target, args, app="Gosub"):
    """Push a frame returning after the current priority and jump to C{target}."""
    stack = _stack(channel)
    if len(stack) >= _maxDepth(channel):
        log.error("{app}: maximum stack depth {depth} reached on '{channel}'", app=app,
                  depth=len(stack), channel=channel.name)
        raise ApplicationHangup(None)
    engine = channel.pbx.engine
    try:
        context, exten, priority = engine.parseGoto(channel, target)
    except ValueError as e:
        log.error("{app}: {error}", app=app, error=str(e))
        raise ApplicationHangup(None)
    dialplan = channel.pbx.dialplan
    if dialplan is None or dialplan.find(context, exten, priority,
                                         channel.caller.number or None) is None:
        log.error("Attempt to reach a non-existent destination for {app}: "
                  "(Context:{context}, Extension:{exten}, Priority:{priority})",
                  app=app, context=context, exten=exten, priority=priority)
        raise ApplicationHangup(None)
    frame = StackFrame(channel.context, channel.exten, channel.priority + 1, len(args))
    outerArgc = max((f.argc for f in stack), default=0)
    stack.append(frame)
    for i, value in enumerate(args, 1):
        frameSetVariable(channel, frame, f"ARG{i}", value)
    for i in range(len(args) + 1, outerArgc + 1):
        frameSetVariable(channel, frame, f"ARG{i}", "")
    channel.goto(context, exten, priority)


def gosub(channel, data):
    if not data or not data.strip():
        log.error("Gosub requires an argument: Gosub([[context,]exten,]priority[(arg1[,...])])")
        raise ApplicationHangup(None)
    target, args = splitCall(data)
    gosubTo(channel, target, args)


def gosubIf(channel, data):
    condition, sep, rest = (data or "").partition("?")
    if not sep:
        log.warn("GosubIf requires an argument: GosubIf(cond?label1(args):label2(args))")
        return
    true, false = splitBranches(rest)
    branch = true if checkCondition(condition) else false
    if branch.strip():
        target, args = splitCall(branch)
        gosubTo(channel, target, args, "GosubIf")


def return_(channel, data):
    frame = _popFrame(channel)
    if frame is None:
        log.error("Return without Gosub: stack is empty on '{channel}'", channel=channel.name)
        raise ApplicationHangup(None)
    channel.setVariable("GOSUB_RETVAL", data or "")
    channel.goto(frame.context, frame.exten, frame.priority)


def stackPop(channel, data):
    if _popFrame(channel) is None:
        log.warn("StackPop: stack is empty on '{channel}'", channel=channel.name)


@implementer(IDialplanFunction)
class LocalFunction:
    """LOCAL(var): a variable scoped to the current Gosub frame."""

    name = "LOCAL"
    synopsis = "Manage variables local to the gosub stack frame"

    def read(self, channel, args):
        if channel is None:
            return ""
        return channel.getVariable(args.strip()) or ""

    def write(self, channel, args, value):
        stack = _stack(channel) if channel is not None else []
        if not stack:
            log.warn("LOCAL({name}) set outside of a Gosub", name=args)
            return
        frameSetVariable(channel, stack[-1], args.strip(), value)


class AppStackModule(Module):
    """Gosub, GosubIf, Return, StackPop and LOCAL()."""

    def load(self, pbx, registrar):
        for name, func, synopsis in (
                ("Gosub", gosub, "Jump to label, saving return address"),
                ("GosubIf", gosubIf, "Conditionally jump to label, saving return address"),
                ("Return", return_, "Return from gosub routine"),
                ("StackPop", stackPop, "Remove one address from gosub stack")):
            registrar.register("application", FunctionApplication(name, func, synopsis))
        registrar.register("function", LocalFunction())
