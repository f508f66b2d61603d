"""
ExecIf(expression?appiftrue(args)[:appiffalse(args)]): run one application
or the other depending on a condition.
"""

import inspect

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module, checkCondition
from pbxcore.errors import ApplicationHangup
from plugins.app_stack import splitBranches

log = Logger(namespace="plugins.app_exec")


def _appCall(text):
    text = text.strip()
    opened = text.find("(")
    if opened < 0:
        return text, ""
    closed = text.rfind(")")
    if closed < opened:
        closed = len(text)
    return text[:opened].strip(), text[opened + 1:closed]


async def execIf(channel, data):
    condition, sep, rest = (data or "").partition("?")
    if not sep:
        log.warn("ExecIf requires an argument: ExecIf(expression?app(args)[:app(args)])")
        return
    true, false = splitBranches(rest)
    branch = true if checkCondition(condition) else false
    if not branch.strip():
        return
    name, args = _appCall(branch)
    app = channel.pbx.registry("application").get(name)
    if app is None:
        log.warn("Could not find application ({app})", app=name)
        raise ApplicationHangup(None)
    result = app.execute(channel, args)
    if result is not None and inspect.isawaitable(result):
        await result


class AppExecModule(Module):
    """ExecIf."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "ExecIf", execIf, "Executes dialplan application, conditionally"))
