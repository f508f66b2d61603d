"""func_strings: LEN, CUT, FIELDQTY, REPLACE, REGEX, STRFTIME, TOUPPER, TOLOWER."""

import pytest
from zope.interface.verify import verifyObject

from pbxcore.errors import ReadOnlyFunction
from pbxcore.interfaces import IDialplanFunction
from plugins import func_strings as fs


class StubChannel:
    def __init__(self, **variables):
        self.variables = dict(variables)

    def getVariable(self, name):
        return self.variables.get(name)

    def setVariable(self, name, value):
        self.variables[name] = value


class StubReactor:
    def __init__(self, now):
        self.now = now

    def seconds(self):
        return self.now


class StubPBX:
    def __init__(self, now=0.0):
        self.reactor = StubReactor(now)


def test_allProvideTheInterface():
    for f in (fs.LenFunction(), fs.CutFunction(), fs.FieldQtyFunction(), fs.ReplaceFunction(),
              fs.RegexFunction(), fs.StrftimeFunction(), fs.ToUpperFunction(),
              fs.ToLowerFunction()):
        verifyObject(IDialplanFunction, f)
        with pytest.raises(ReadOnlyFunction):
            f.write(None, "x", "y")


def test_len():
    assert fs.LenFunction().read(None, "hello") == "5"
    assert fs.LenFunction().read(None, "a,b") == "3"
    assert fs.LenFunction().read(None, "") == "0"


@pytest.mark.parametrize("args,expected", [
    ("V,-,1", "one"),
    ("V,-,2", "two"),
    ("V,-,2-3", "two-three"),
    ("V,-,2-", "two-three-four"),
    ("V,-,-2", "one-two"),
    ("V,-,1&3", "one-three"),
    ("V,-,1&3-4", "one-three-four"),
    ("V,-,9", ""),
    ("V,,1", "one"),               # the default delimiter is '-'
    ("C,\\,,2", "b"),              # an escaped comma
    ("C,\\x2c,3", "c"),            # hex
    ("T,\\t,2", "y"),
    ("UNSET,-,1", ""),
])
def test_cut(args, expected):
    channel = StubChannel(V="one-two-three-four", C="a,b,c", T="x\ty")
    assert fs.CutFunction().read(channel, args) == expected


def test_cutBadArguments():
    channel = StubChannel(V="a-b")
    assert fs.CutFunction().read(channel, "V,-") == ""
    assert fs.CutFunction().read(channel, "V,-,x") == ""
    assert fs.CutFunction().read(channel, "V,-,3-1") == ""


def test_fieldqty():
    channel = StubChannel(V="a-b-c", E="", C="1,2")
    f = fs.FieldQtyFunction()
    assert f.read(channel, "V,-") == "3"
    assert f.read(channel, "V,x") == "1"
    assert f.read(channel, "E,-") == "0"
    assert f.read(channel, "C,\\,") == "2"
    assert f.read(channel, "V") == ""


def test_replace():
    channel = StubChannel(V="555-123.4567")
    f = fs.ReplaceFunction()
    assert f.read(channel, "V,-.") == "5551234567"
    assert f.read(channel, "V,-.,_") == "555_123_4567"
    assert f.read(channel, "V,-.,xy") == "555x123x4567"
    assert f.read(channel, "V,") == "555-123.4567"


def test_regex():
    f = fs.RegexFunction()
    assert f.read(None, '"^5[0-9]+$" 5551234') == "1"
    assert f.read(None, '"^5[0-9]+$" 6551234') == "0"
    assert f.read(None, '"a b" xa by') == "1"
    assert f.read(None, '"(" x') == ""
    assert f.read(None, "no quotes") == ""


def test_strftime():
    f = fs.StrftimeFunction(StubPBX(now=86400 * 365))
    assert f.read(None, "0,UTC,%Y-%m-%d %H:%M:%S") == "1970-01-01 00:00:00"
    assert f.read(None, "1700000000,America/New_York,%H:%M") == "17:13"
    assert f.read(None, ",UTC,%Y") == "1971"        # the PBX's clock
    assert f.read(None, "0,UTC") != ""               # default format %c


def test_case():
    assert fs.ToUpperFunction().read(None, "abC1") == "ABC1"
    assert fs.ToLowerFunction().read(None, "AbC1") == "abc1"


def test_decodeDelimiter():
    assert fs.decodeDelimiter("") == "-"
    assert fs.decodeDelimiter("|") == "|"
    assert fs.decodeDelimiter("\\n") == "\n"
    assert fs.decodeDelimiter("\\054") == ","
    assert fs.decodeDelimiter("\\x41") == "A"
