"""extensions.conf to a Dialplan: every line form and every error with file:line."""

import textwrap

import pytest

from pbxcore.config import parseText
from pbxcore.dialplan.parser import (
    PRIORITY_HINT,
    parseApplication,
    parseDialplan,
    splitApplication,
)


def dialplan(text):
    return parseDialplan(parseText(textwrap.dedent(text), "extensions.conf"))


def test_generalAndGlobals():
    dp = dialplan("""
        [general]
        static = yes
        ClearGlobalVars = no
        [globals]
        B = 2
        A = 1
        B = 3
        [default]
        exten => 1,1,NoOp()
    """)
    assert dp.general == {"static": "yes", "clearglobalvars": "no"}
    assert dp.globals == [("B", "2"), ("A", "1"), ("B", "3")]
    assert dp.contextNames() == ["default"]


def test_newStyleLineWithLabel():
    dp = dialplan("""
        [default]
        exten => 100,1(start),Answer()
    """)
    step = dp.find("default", "100", 1)
    assert (step.context, step.pattern, step.priority, step.label) == ("default", "100", 1, "start")
    assert (step.app, step.data) == ("Answer", "")
    assert (step.filename, step.line) == ("extensions.conf", 3)
    assert dp.findLabel("default", "100", "start") == 1


def test_oldCommaForm():
    dp = dialplan("""
        [default]
        exten => 100,1,Dial,SIP/100,20
    """)
    step = dp.find("default", "100", 1)
    assert (step.app, step.data) == ("Dial", "SIP/100,20")


def test_argumentsKeptRaw():
    dp = dialplan("""
        [default]
        exten => 100,1,Dial(SIP/${EXTEN},,tT(foo)) 
        exten => 100,2,Set(X=$[${A} + 1])
        exten => 100,3,NoOp(a\\;b)
    """)
    assert dp.find("default", "100", 1).data == "SIP/${EXTEN},,tT(foo)"
    assert dp.find("default", "100", 2).data == "X=$[${A} + 1]"
    assert dp.find("default", "100", 3).data == "a;b"


def test_sameAndNext():
    dp = dialplan("""
        [default]
        exten => 100,1,NoOp(one)
         same => n,NoOp(two)
         same => n(three),NoOp(three)
        exten => 100,n,NoOp(four)
        exten => 100,s+2,NoOp(six)
        exten => 100,three+4,NoOp(seven)
        exten => 100,10,NoOp(ten)
         same => n+1,NoOp(twelve)
    """)
    priorities = {s.priority: s.data for s in
                  (dp.find("default", "100", p) for p in range(1, 13)) if s}
    assert priorities == {1: "one", 2: "two", 3: "three", 4: "four", 6: "six",
                          7: "seven", 10: "ten", 12: "twelve"}


def test_arrowOrEquals():
    dp = dialplan("""
        [default]
        exten = 100,1,NoOp()
        same = n,NoOp(x)
    """)
    assert dp.find("default", "100", 2).data == "x"


def test_hint():
    dp = dialplan("""
        [default]
        exten => 100,hint,SIP/100&SIP/101
        exten => 100,1,Dial(SIP/100)
        exten => 200,hint,SIP/200,CustomPresence:200
    """)
    assert dp.hint("default", "100") == "SIP/100&SIP/101"
    step = dp.find("default", "200", PRIORITY_HINT)
    assert (step.app, step.data) == ("SIP/200", "CustomPresence:200")
    assert dp.hints() == [("default", "100", "SIP/100&SIP/101"), ("default", "200", "SIP/200")]
    assert dp.hint("default", "300") is None
    # A hint is not a priority: 200 has none to run.
    assert not dp.exists("default", "200")


def test_callerIdExtensions():
    dp = dialplan("""
        [default]
        exten => 100,1,NoOp(anyone)
        exten => 100/5551234,1,NoOp(boss)
        exten => 100/_555XXXX,1,NoOp(office)
        exten => _1XX/(555) 000-0000,1,NoOp(formatted)
    """)
    assert dp.find("default", "100", 1).data == "anyone"
    assert dp.find("default", "100", 1, callerid="5551234").data == "boss"
    assert dp.find("default", "100", 1, callerid="5559999").data == "office"
    assert dp.find("default", "100", 1, callerid="6669999").data == "anyone"
    assert dp.find("default", "150", 1, callerid="5550000000").data == "formatted"
    assert dp.find("default", "150", 1, callerid="123") is None


def test_patternsAndDashes():
    dp = dialplan("""
        [default]
        exten => 555-1234,1,NoOp(dashed)
        exten => _[1,2]XX,1,NoOp(comma in a set)
        exten => _9-NXX-XXXX,1,NoOp(nine)
    """)
    assert dp.find("default", "5551234", 1).data == "dashed"
    assert dp.find("default", "555-1234", 1).pattern == "555-1234"
    assert dp.find("default", "250", 1).data == "comma in a set"
    assert dp.find("default", ",50", 1).data == "comma in a set"
    assert dp.find("default", "92345678", 1).data == "nine"


def test_includesIgnorepatSwitch():
    dp = dialplan("""
        [default]
        include => other
        include => night,18:00-08:00,*,*,*
        ignorepat => 9
        switch => IAX2/box/ctx
        [other]
        exten => 1,1,NoOp()
        [night]
        exten => 2,1,NoOp()
    """)
    ctx = dp.contexts["default"]
    assert [i.context for i in ctx.includes] == ["other", "night"]
    assert ctx.includes[0].timespec is None
    assert ctx.includes[1].timespec.text == "18:00-08:00,*,*,*"
    assert ctx.ignorepats == ("9",)
    assert dp.warnings == [("extensions.conf", 6,
                            "'switch => IAX2/box/ctx' ignored: switches are not supported")]


def test_includeMissingContextIsAWarning():
    dp = dialplan("""
        [default]
        include => nowhere
    """)
    assert dp.warnings[0][:2] == ("extensions.conf", 3)
    assert "nowhere" in dp.warnings[0][2]


def test_repeatedContextMerges():
    dp = dialplan("""
        [default]
        exten => 1,1,NoOp(a)
        [other]
        exten => 1,1,NoOp(b)
        [default]
        exten => 2,1,NoOp(c)
    """)
    assert dp.contextNames() == ["default", "other"]
    assert dp.find("default", "2", 1).data == "c"


def test_templatesAreInherited():
    dp = dialplan("""
        [base](!)
        exten => 1,1,NoOp(from template)
        [default](base)
        exten => 2,1,NoOp(own)
    """)
    assert dp.contextNames() == ["default"]
    assert dp.find("default", "1", 1).data == "from template"


def test_splitApplication():
    assert splitApplication("Answer") == ("Answer", "")
    assert splitApplication("Answer()") == ("Answer", "")
    assert splitApplication(" NoOp( x ) ") == ("NoOp", " x ")
    assert splitApplication("Dial,SIP/1,20") == ("Dial", "SIP/1,20")
    assert splitApplication("Dial,SIP/1|20") == ("Dial", "SIP/1,20")
    assert splitApplication("${APP}(x)") == ("${APP}(x)", "")
    # As Asterisk: no closing ')' keeps the rest as arguments (with a note).
    assert parseApplication("NoOp(x")[:2] == ("NoOp", "x")
    assert "no closing parenthesis" in parseApplication("NoOp(x")[2][0]
    assert parseApplication("NoOp(x) y")[:2] == ("NoOp", "x")


# Lines Asterisk's pbx_config warns about and goes on: each is noted at its
# line and left out (or read as Asterisk reads it); the load goes on.
# (Before issue 20 these refused the whole dialplan.)
WARNINGS = [
    # text, line, message fragment
    ("[default]\nexten => 100,abc,NoOp()\n", 2, "invalid priority/label 'abc'"),
    ("[default]\nexten => 100,0,NoOp()\n", 2, "invalid priority '0'"),
    ("[default]\nexten => 100,,NoOp()\n", 2, "invalid priority/label ''"),
    ("[default]\nsame => n,NoOp()\n", 2, "no previous pattern in the first entry"),
    ("[default]\nexten => 100,n,NoOp()\n", 2, "can't use 'next' priority on the first"),
    ("[default]\nexten => 100,s,NoOp()\n", 2, "can't use 'same' priority on the first"),
    ("[default]\nexten => 1,1,NoOp()\n\nexten => 1,1,Hangup()\n", 4,
     "priority 1 in [default], already in use (at extensions.conf:2)"),
    ("[default]\nexten => 1,hint,SIP/1\nexten => 1,hint,SIP/2\n", 3, "hint in [default], already"),
    ("[default]\nexten => 1,1(a),NoOp()\nexten => 1,2(a),NoOp()\n", 3, "label 'a' of extension"),
    ("[default]\nexten => 1,1(a,NoOp()\n", 2, "label missing trailing ')'"),
    ("[default]\nfoo => bar\n", 2, "unknown directive 'foo' in context [default]: ignored"),
    ("[default]\nexten => _[12,1,NoOp()\n", 2, "an unclosed '[' swallows"),
    ("[default]\nexten => 1/_[5,1,NoOp()\n", 2, "an unclosed '[' swallows"),
    ("[default]\nexten => _[12],1,NoOp()\nexten => 1/_[5],1,NoOp()\nexten => 3/_[5,1,NoOp()\n",
     4, "an unclosed '[' swallows"),
    ("[default]\nignorepat => _[9\n", 2, "unclosed '['"),
    ("[default]\nexten => 1,1,\n", 2, "names no application"),
    ("[default]\nexten => 1,1\n", 2, "names no application"),
    ("[default]\nexten => 1,1,NoOp(x\n", 2, "no closing parenthesis found"),
    ("[default]\nexten => 1,1,NoOp(x) y\n", 2, "text after the closing ')'"),
    ("[default]\nexten => ,1,NoOp()\n", 2, "no extension name"),
    ("[default]\nexten => 1,hint,\n", 2, "names no device"),
    ("[default]\nexten => 1,1+x,NoOp()\n", 2, "offset '+x' is not a number"),
    ("[default]\ninclude => other,25:00-26:00\n[other]\n", 2, "invalid time"),
    ("[default]\ninclude => other,*,funday\n[other]\n", 2, "invalid weekday"),
    ("[default]\ninclude =>\n", 2, "include with no context name"),
    ("[a]\ninclude => b\n[b]\ninclude => c\n[c]\ninclude => a\n", 6,
     "include loop: a -> b -> c -> a"),
    ("[a]\ninclude => a\n", 2, "include loop: a -> a"),
    ("[a]\nautohints = yes\n", 2, "autohints in [a] is not supported"),
    ("[default]\nexten => _.,1,NoOp()\n", 2, "use '_X.' instead"),
]


@pytest.mark.parametrize("text,line,fragment", WARNINGS)
def test_warningsCarryFileAndLine(text, line, fragment):
    dp = dialplan(text)
    assert len(dp.warnings) == 1, dp.warnings
    filename, at, message = dp.warnings[0]
    assert (filename, at) == ("extensions.conf", line)
    assert fragment in message


def test_globalsAreSubstitutedAtLoad():
    # As pbx_config: [globals] are set before the contexts are read, wherever
    # they are written, and names, includes, ignorepats and hints use them.
    dp = dialplan("""
        [default]
        exten => ${OP},1,NoOp(op)
        exten => ${OP}/${VIP},1,NoOp(vip)
        exten => 7,hint,${DESK}
        include => ${OTHER}
        ignorepat => ${OP}
        exten => ${LEN(x)}9,1,NoOp()
        [globals]
        OP = 0
        VIP = 555${OP}
        DESK = SIP/${GLOBAL(OP)}desk
        OTHER = second
        [second]
    """)
    assert dp.find("default", "0", 1).data == "op"
    assert dp.find("default", "0", 1, callerid="5550").data == "vip"
    assert dp.hint("default", "7") == "SIP/0desk"
    assert [i.context for i in dp.contexts["default"].includes] == ["second"]
    assert dp.contexts["default"].ignorepats == ("0",)
    assert dp.find("default", "9", 1).app == "NoOp"
    assert dp.warnings == [("extensions.conf", 8,
                            "'${LEN(x)}9': LEN() is not available when the dialplan loads")]
