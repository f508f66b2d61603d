"""
func_rand: ${RAND([min][,max])}, a random integer between min and max
inclusive (0 and 2147483647 by default).
"""

import random

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ReadOnlyFunction
from pbxcore.interfaces import IDialplanFunction

log = Logger()

RAND_MAX = 2147483647


@implementer(IDialplanFunction)
class RandFunction:
    name = "RAND"
    synopsis = "Choose a random number in a range."

    def __init__(self, rng=None):
        self.rng = rng if rng is not None else random.Random()

    def _bound(self, text, default):
        text = text.strip()
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            log.warn("RAND: {text!r} is not an integer, using {default}",
                     text=text, default=default)
            return default

    def read(self, channel, args):
        parts = splitArgs(args) + ["", ""]
        low = self._bound(parts[0], 0)
        high = self._bound(parts[1], RAND_MAX)
        if low > high:
            low, high = high, low
        return str(self.rng.randint(low, high))

    def write(self, channel, args, value):
        raise ReadOnlyFunction("RAND is read-only")


class FuncRandModule(Module):
    def load(self, pbx, registrar):
        registrar.register("function", RandFunction())
