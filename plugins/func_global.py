"""
func_global: ${GLOBAL(name)} and Set(GLOBAL(name)=value), the PBX-wide
variables of the dialplan's [globals].
"""

from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.interfaces import IDialplanFunction


@implementer(IDialplanFunction)
class GlobalFunction:
    name = "GLOBAL"
    synopsis = "Gets or sets the global variable specified."

    def __init__(self, pbx):
        self.pbx = pbx

    def read(self, channel, args):
        value = self.pbx.globals.get((args or "").strip())
        return "" if value is None else value

    def write(self, channel, args, value):
        name = (args or "").strip()
        if not name:
            raise ValueError("GLOBAL needs a variable name")
        if value is None:
            self.pbx.globals.pop(name, None)
        else:
            self.pbx.globals[name] = str(value)
        emit = getattr(self.pbx, "emitEvent", None)
        if emit is not None:
            emit("VarSet", [("Channel", "none"), ("Variable", name),
                            ("Value", "" if value is None else str(value)),
                            ("Uniqueid", "none")], "dialplan")


class FuncGlobalModule(Module):
    def load(self, pbx, registrar):
        registrar.register("function", GlobalFunction(pbx))
