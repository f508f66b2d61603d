"""Dialplan lookups: exact before pattern, caller id, includes, partial matches."""

import datetime
import textwrap

from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan


def dialplan(text):
    return parseDialplan(parseText(textwrap.dedent(text), "extensions.conf"))


SAMPLE = """
    [default]
    exten => 100,1,NoOp(exact)
    exten => _1XX,1,NoOp(1xx)
    exten => _1XX,2,NoOp(1xx two)
    exten => _X.,1,NoOp(anything)
    exten => _X.,5,NoOp(anything five)
    exten => _8!,1,NoOp(eight)
    include => inner
    include => second
    [inner]
    exten => 2000,1,NoOp(inner)
    exten => _3XXX,1,NoOp(inner 3xxx)
    exten => 100,2,NoOp(inner 100 two)
    exten => 100,9,NoOp(inner 100 nine)
    [second]
    exten => 2000,1,NoOp(second)
    exten => abc,1,NoOp(letters)
    exten => 44444,1,NoOp(long)
    exten => _9!,1,NoOp(early)
    exten => 9999,1,NoOp(after early)
"""


def test_exactBeforePattern():
    dp = dialplan(SAMPLE)
    assert dp.find("default", "100", 1).data == "exact"
    assert dp.find("default", "150", 1).data == "1xx"
    assert dp.find("default", "1500", 1).data == "anything"


def test_missingPriorityFallsThroughToNextMatch():
    dp = dialplan(SAMPLE)
    # 100 has no priority 2 itself: the next extension that matches does.
    assert dp.find("default", "100", 2).data == "1xx two"
    assert dp.find("default", "100", 5).data == "anything five"
    # ... and then the includes.
    assert dp.find("default", "100", 9).data == "inner 100 nine"
    assert dp.find("default", "100", 3) is None


def test_includesInOrder():
    dp = dialplan(SAMPLE)
    # A pattern of the context itself wins over an exact name in an include.
    assert dp.find("default", "2000", 1).data == "anything"
    assert dp.find("inner", "2000", 1).data == "inner"
    assert dp.find("default", "abc", 1).data == "letters"
    assert dp.find("default", "nothing", 1) is None
    assert dp.find("nowhere", "100", 1) is None


def test_existsAndLabels():
    dp = dialplan("""
        [a]
        include => b
        [b]
        exten => 1,1,NoOp()
         same => n(here),NoOp()
    """)
    assert dp.exists("a", "1")
    assert dp.exists("a", "1", 2)
    assert not dp.exists("a", "1", 3)
    assert dp.findLabel("a", "1", "here") == 2
    assert dp.findLabel("a", "1", "there") is None


def test_canMatchAndMatchMore():
    dp = dialplan(SAMPLE)
    assert dp.canMatch("default", "1")
    assert dp.canMatch("default", "")
    assert dp.matchMore("default", "10")
    assert dp.canMatch("default", "ab")           # 'abc' in an include
    assert dp.matchMore("default", "ab")
    assert not dp.canMatch("default", "ax")
    assert dp.matchMore("default", "4444")        # 44444 in an include
    assert dp.matchMore("inner", "3")
    assert not dp.matchMore("inner", "3000")
    assert dp.canMatch("inner", "3000")


def test_earlyMatchStopsCollectingInItsContext():
    dp = dialplan(SAMPLE)
    # '_8!' in default says "stop collecting" for 8...
    assert not dp.matchMore("default", "8")
    assert not dp.matchMore("default", "81")
    assert dp.canMatch("default", "8")
    # In [second] the plain 9999 is tried before the '_9!' pattern.
    assert dp.matchMore("second", "9")
    assert dp.find("second", "9", 1).data == "early"
    assert dp.find("second", "9999", 1).data == "after early"


def test_earlyMatchInAnIncludeLetsLaterIncludesAnswer():
    dp = dialplan("""
        [top]
        include => stopper
        include => longer
        [stopper]
        exten => _5!,1,NoOp()
        [longer]
        exten => 5555,1,NoOp()
    """)
    assert dp.matchMore("top", "5")


def test_matchMoreNeedsPriorityOne():
    dp = dialplan("""
        [a]
        exten => 12,2,NoOp()
    """)
    assert not dp.canMatch("a", "1")
    assert not dp.matchMore("a", "1")


def test_callerIdBeforePlainAcrossPatterns():
    dp = dialplan("""
        [a]
        exten => _X.,1,NoOp(plain)
        exten => _X./100,1,NoOp(from 100)
        exten => 5,1,NoOp(five)
    """)
    assert dp.find("a", "55", 1, callerid="100").data == "from 100"
    assert dp.find("a", "55", 1, callerid="200").data == "plain"
    assert dp.find("a", "55", 1).data == "plain"
    # An exact name still beats a caller id matched pattern.
    assert dp.find("a", "5", 1, callerid="100").data == "five"


def test_diamondIncludesSearchedOnce():
    dp = dialplan("""
        [top]
        include => left
        include => right
        [left]
        include => bottom
        [right]
        include => bottom
        exten => 7,1,NoOp(right)
        [bottom]
        exten => 8,1,NoOp(bottom)
    """)
    assert dp.find("top", "8", 1).data == "bottom"
    assert dp.find("top", "7", 1).data == "right"


def test_timedInclude():
    dp = dialplan("""
        [top]
        include => office,09:00-17:00,mon-fri,*,*
        include => after
        [office]
        exten => 0,1,NoOp(reception)
        [after]
        exten => 0,1,NoOp(voicemail)
    """)
    tuesdayNoon = datetime.datetime(2024, 1, 2, 12, 0)
    tuesdayNight = datetime.datetime(2024, 1, 2, 21, 0)
    sundayNoon = datetime.datetime(2024, 1, 7, 12, 0)
    assert dp.find("top", "0", 1, now=tuesdayNoon).data == "reception"
    assert dp.find("top", "0", 1, now=tuesdayNight).data == "voicemail"
    assert dp.find("top", "0", 1, now=sundayNoon).data == "voicemail"


def test_ignorePatterns():
    dp = dialplan("""
        [a]
        ignorepat => 9
        ignorepat => _8X
        include => b
        [b]
        ignorepat => 7
    """)
    assert dp.isIgnorePattern("a", "9")
    assert dp.isIgnorePattern("a", "81")
    assert not dp.isIgnorePattern("a", "8")
    assert not dp.isIgnorePattern("a", "7")     # includes are not consulted
    assert not dp.isIgnorePattern("zzz", "9")


def test_describe():
    dp = dialplan("""
        [a]
        exten => 1,hint,SIP/1
        exten => 1,1(go),Answer()
        exten => _X.,1,NoOp(${EXTEN})
        include => b
        ignorepat => 9
        [b]
        exten => 2,1,NoOp()
    """)
    lines = dp.describe("a")
    assert lines[0] == "[ Context 'a' created by 'pbx_config' ]"
    text = "\n".join(lines)
    assert "'1' =>" in text and "hint: SIP/1" in text
    assert "1. [go] Answer()" in text
    assert "'_X.' =>" in text and "NoOp(${EXTEN})" in text
    assert "[extensions.conf:4]" in text
    assert "Include =>" in text and "'b'" in text
    assert "Ignore pattern =>" in text
    assert lines[-1] == "-= 2 extensions (2 priorities) in 1 context. =-"
    assert dp.describe()[-1] == "-= 3 extensions (3 priorities) in 2 contexts. =-"
    try:
        dp.describe("zzz")
    except KeyError:
        pass
    else:
        raise AssertionError("unknown context accepted")


def test_largeDialplanLookups():
    lines = ["[big]"]
    lines += [f"exten => {n},1,NoOp({n})" for n in range(10000, 12000)]
    lines += [f"exten => _{n}XXXX,1,NoOp(p{n})" for n in range(200, 400)]
    dp = parseDialplan(parseText("\n".join(lines), "big.conf"))
    assert dp.find("big", "11999", 1).data == "11999"
    assert dp.find("big", "3991234", 1).data == "p399"
    assert dp.find("big", "4001234", 1) is None
    assert dp.matchMore("big", "1000")
    assert dp.matchMore("big", "399")
