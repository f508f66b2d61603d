"""
func_math: arithmetic on variables.

    ${INC(VAR)} ${DEC(VAR)}         add or take one from ${VAR}, store and return it
    ${MATH(a op b[,type])}          op: + - * / % ^ < > <= >= == << >>;
                                    type: f/float (default), i/int, h/hex, c/char
"""

import math
import re

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ReadOnlyFunction
from pbxcore.interfaces import IDialplanFunction

log = Logger()

_LEADING_INT = re.compile(r"\s*([-+]?\d+)")


class _Step:
    delta = 0

    def read(self, channel, args):
        name = (args or "").strip()
        if not name:
            log.warn("Syntax: {name}(<num>) - missing argument!", name=self.name)
            return ""
        if channel is None:
            log.warn("{name} needs a channel", name=self.name)
            return ""
        current = channel.getVariable(name)
        m = _LEADING_INT.match(current or "")
        if m is None:
            log.warn("{name}: ${{{var}}} = {value!r} is not a number",
                     name=self.name, var=name, value=current)
            return ""
        value = str(int(m.group(1)) + self.delta)
        channel.setVariable(name, value)
        return value

    def write(self, channel, args, value):
        raise ReadOnlyFunction(f"{self.name} is read-only")


@implementer(IDialplanFunction)
class IncFunction(_Step):
    name = "INC"
    synopsis = "Increments the value of a variable, while returning the updated value."
    delta = 1


@implementer(IDialplanFunction)
class DecFunction(_Step):
    name = "DEC"
    synopsis = "Decrements the value of a variable, while returning the updated value."
    delta = -1


_NUMBER = r"\s*(-?(?:\d+(?:\.\d*)?|\.\d+|0x[0-9a-fA-F]+))\s*"
_MATH = re.compile(_NUMBER + r"(<<|>>|<=|>=|==|[-+*/%^<>])" + _NUMBER + r"\Z")


def _number(text):
    return float(int(text, 16)) if "x" in text.lower() else float(text)


def _format(value, kind):
    kind = (kind or "f").strip().lower()
    if kind in ("f", "float"):
        return f"{value:f}"
    if kind in ("i", "int"):
        return str(int(value))
    if kind in ("h", "hex"):
        return f"{int(value):x}"
    if kind in ("c", "char"):
        return chr(int(value) & 0xFF)
    raise ValueError(f"unknown result type {kind!r}")


@implementer(IDialplanFunction)
class MathFunction:
    name = "MATH"
    synopsis = "Performs Mathematical Functions."

    def read(self, channel, args):
        parts = splitArgs(args)
        if not parts:
            log.warn("Syntax: MATH(<number1><op><number2>[,<type_of_result>])")
            return ""
        m = _MATH.match(parts[0])
        if m is None:
            log.warn("MATH: cannot evaluate {expr!r}", expr=parts[0])
            return ""
        a, op, b = _number(m.group(1)), m.group(2), _number(m.group(3))
        try:
            if op == "+":
                value = a + b
            elif op == "-":
                value = a - b
            elif op == "*":
                value = a * b
            elif op == "/":
                value = a / b
            elif op == "%":
                value = math.fmod(a, b)
            elif op == "^":
                value = a ** b
            elif op == "<<":
                value = float(int(a) << int(b))
            elif op == ">>":
                value = float(int(a) >> int(b))
            else:
                value = float({"<": a < b, ">": a > b, "<=": a <= b,
                               ">=": a >= b, "==": a == b}[op])
            return _format(value, parts[1] if len(parts) > 1 else "")
        except ZeroDivisionError:
            log.warn("MATH: division by zero in {expr!r}", expr=parts[0])
            return ""
        except (ValueError, OverflowError) as e:
            log.warn("MATH: {error}", error=str(e))
            return ""

    def write(self, channel, args, value):
        raise ReadOnlyFunction("MATH is read-only")


class FuncMathModule(Module):
    def load(self, pbx, registrar):
        for function in (IncFunction(), DecFunction(), MathFunction()):
            registrar.register("function", function)
