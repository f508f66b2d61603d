"""Pure helpers of the core applications: conditions, prompts, option strings."""

from pbxcore.dialplan.builtins import checkCondition, numberPrompts
from plugins.app_dial import parseOptions
from plugins.app_stack import splitBranches, splitCall


def test_checkCondition():
    assert not checkCondition("")
    assert not checkCondition(" 0 ")
    assert not checkCondition(None)
    assert checkCondition("1")
    assert checkCondition("-2")
    assert checkCondition("abc")
    assert not checkCondition("0.0")


def test_numberPrompts():
    assert numberPrompts(0) == ["digits/0"]
    assert numberPrompts(15) == ["digits/15"]
    assert numberPrompts(42) == ["digits/40", "digits/2"]
    assert numberPrompts(1205) == ["digits/1", "digits/thousand", "digits/2",
                                   "digits/hundred", "digits/5"]
    assert numberPrompts(-3) == ["digits/minus", "digits/3"]
    assert numberPrompts(2000000) == ["digits/2", "digits/million"]


def test_parseOptions():
    assert parseOptions("gr") == {"g": "", "r": ""}
    assert parseOptions("U(sub^a(b))tT") == {"U": "sub^a(b)", "t": "", "T": ""}
    assert parseOptions("") == {}


def test_splitCallAndBranches():
    assert splitCall("sub,s,1(a,b)") == ("sub,s,1", ["a", "b"])
    assert splitCall("label") == ("label", [])
    assert splitBranches("a(x:y):b(z)") == ("a(x:y)", "b(z)")
    assert splitBranches("only") == ("only", "")
