"""func_logic: ISNULL, EXISTS, IF, IFTIME, SET."""

import calendar

import pytest
from zope.interface.verify import verifyObject

from pbxcore.interfaces import IDialplanFunction
from plugins import func_logic as fl


class StubChannel:
    def __init__(self):
        self.variables = {}

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
    def __init__(self, now):
        self.reactor = StubReactor(now)


def test_interfaces():
    for f in (fl.IsNullFunction(), fl.ExistsFunction(), fl.IfFunction(), fl.IfTimeFunction(),
              fl.SetFunction()):
        verifyObject(IDialplanFunction, f)


def test_isnullExists():
    assert fl.IsNullFunction().read(None, "") == "1"
    assert fl.IsNullFunction().read(None, "x") == "0"
    assert fl.ExistsFunction().read(None, "") == "0"
    assert fl.ExistsFunction().read(None, "0") == "1"


@pytest.mark.parametrize("args,expected", [
    ("1?yes:no", "yes"),
    ("0?yes:no", "no"),
    ("?yes:no", "no"),
    ("abc?yes:no", "yes"),
    ("00?yes:no", "no"),
    (" 2 ?yes:no", "yes"),
    ("1?yes", "yes"),
    ("0?yes", ""),
    ("0?:no", "no"),
    ("1?a:b:c", "a"),
    ("0?a:b:c", "b:c"),
    ("no question mark", ""),
])
def test_if(args, expected):
    assert fl.IfFunction().read(None, args) == expected


def test_checkCondition():
    assert not fl.checkCondition("")
    assert not fl.checkCondition("0")
    assert not fl.checkCondition("-0")
    assert fl.checkCondition("-1")
    assert fl.checkCondition("yes")
    assert fl.checkCondition("1abc")


def test_iftime():
    # 2024-01-02 12:00 UTC, a Tuesday; the spec names its zone so the test
    # does not depend on the machine's.
    noon = calendar.timegm((2024, 1, 2, 12, 0, 0))
    f = fl.IfTimeFunction(StubPBX(noon))
    assert f.read(None, "09:00-17:00,mon-fri,*,*,UTC?open:closed") == "open"
    assert f.read(None, "18:00-23:00,*,*,*,UTC?open:closed") == "closed"
    assert f.read(None, "*,sat-sun,*,*,UTC?weekend") == ""
    assert f.read(None, "99:00,*,*,*?a:b") == ""
    assert f.read(None, "no question") == ""


def test_set():
    channel = StubChannel()
    assert fl.SetFunction().read(channel, "FOO=bar=baz") == "bar=baz"
    assert channel.variables == {"FOO": "bar=baz"}
    assert fl.SetFunction().read(channel, "=x") == ""


def test_conditionsReadALeadingIntegerAsAsteriskDoes():
    from pbxcore.dialplan.builtins import checkCondition

    for value, expected in [("", False), (None, False), ("0", False), (" 0", False),
                            ("0.5", False), ("1", True), ("-1", True), ("2abc", True),
                            ("00", False), ("abc", True), ("  ", True)]:
        assert checkCondition(value) is expected, value
