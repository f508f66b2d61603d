"""func_rand, func_math and func_global."""

import random

import pytest
from zope.interface.verify import verifyObject

from pbxcore.errors import ReadOnlyFunction
from pbxcore.interfaces import IDialplanFunction, IModule
from plugins import func_global, func_math, func_rand


class StubChannel:
    def __init__(self, **variables):
        self.variables = dict(variables)

    def getVariable(self, name):
        return self.variables.get(name)

    def setVariable(self, name, value):
        self.variables[name] = value


class StubPBX:
    def __init__(self):
        self.globals = {}
        self.events = []

    def emitEvent(self, name, fields, category):
        self.events.append((name, dict(fields), category))


def test_rand():
    f = func_rand.RandFunction(random.Random(1))
    verifyObject(IDialplanFunction, f)
    values = {int(f.read(None, "1,3")) for _ in range(200)}
    assert values == {1, 2, 3}
    assert {int(f.read(None, "5,5")) for _ in range(5)} == {5}
    assert 10 <= int(f.read(None, "20,10")) <= 20       # swapped bounds
    assert 0 <= int(f.read(None, "")) <= func_rand.RAND_MAX
    assert 0 <= int(f.read(None, "x,4")) <= 4
    with pytest.raises(ReadOnlyFunction):
        f.write(None, "", "1")


def test_incDec():
    channel = StubChannel(N="41", BAD="abc")
    inc, dec = func_math.IncFunction(), func_math.DecFunction()
    assert inc.read(channel, "N") == "42"
    assert channel.variables["N"] == "42"
    assert dec.read(channel, "N") == "41"
    assert dec.read(channel, "BAD") == ""
    assert inc.read(channel, "UNSET") == ""
    assert inc.read(channel, "") == ""


@pytest.mark.parametrize("args,expected", [
    ("3*8", "24.000000"),
    ("3*8,i", "24"),
    ("3 + 4,int", "7"),
    ("10/4", "2.500000"),
    ("10/4,i", "2"),
    ("10%3,i", "1"),
    ("2^10,i", "1024"),
    ("1<<4,i", "16"),
    ("256>>4,i", "16"),
    ("255+0,h", "ff"),
    ("65+0,c", "A"),
    ("-5+2,i", "-3"),
    ("3<4,i", "1"),
    ("3>=4,i", "0"),
    ("3==3,i", "1"),
    ("1/0", ""),
    ("abc+1", ""),
    ("1+1,z", ""),
])
def test_math(args, expected):
    assert func_math.MathFunction().read(None, args) == expected


def test_global():
    pbx = StubPBX()
    f = func_global.GlobalFunction(pbx)
    verifyObject(IDialplanFunction, f)
    assert f.read(None, "X") == ""
    f.write(None, "X", "1")
    assert pbx.globals == {"X": "1"}
    assert f.read(None, " X ") == "1"
    assert pbx.events == [("VarSet", {"Channel": "none", "Variable": "X", "Value": "1",
                                      "Uniqueid": "none"}, "dialplan")]
    with pytest.raises(ValueError):
        f.write(None, "", "1")


class Registrar:
    def __init__(self):
        self.registered = []

    def register(self, kind, obj):
        self.registered.append((kind, obj.name))


def test_modulesRegister():
    for module, names in ((func_rand.FuncRandModule(), ["RAND"]),
                          (func_math.FuncMathModule(), ["INC", "DEC", "MATH"]),
                          (func_global.FuncGlobalModule(), ["GLOBAL"])):
        verifyObject(IModule, module)
        registrar = Registrar()
        module.load(StubPBX(), registrar)
        assert registrar.registered == [("function", n) for n in names]
