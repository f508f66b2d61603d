"""${} substitution, the $[] language and argument splitting."""

import pytest

from pbxcore.dialplan.expr import (
    ExpressionError,
    evaluate,
    formatNumber,
    splitArgs,
    substitute,
    substring,
)

VARS = {
    "FOO": "1234567890",
    "NAME": "FOO",
    "A": "3",
    "EMPTY": "",
    "WHO": "world",
    "X": "NAME",
}


def getVar(name):
    return VARS.get(name)


class Functions:
    def __init__(self):
        self.calls = []

    def __call__(self, name, args):
        self.calls.append((name, args))
        if name == "LEN":
            return str(len(args))
        if name == "UPPER":
            return args.upper()
        if name == "CALLERID":
            return "5551234" if args == "num" else "Alice"
        if name == "BOOM":
            raise RuntimeError("boom")
        return None


def sub(text, **kw):
    return substitute(text, getVar, Functions(), **kw)


@pytest.mark.parametrize("text,expected", [
    ("plain text", "plain text"),
    ("${FOO}", "1234567890"),
    ("<${WHO}>", "<world>"),
    ("${UNSET}x", "x"),
    ("${FOO:3}", "4567890"),
    ("${FOO:0:3}", "123"),
    ("${FOO:-3}", "890"),
    ("${FOO:-4:3}", "789"),
    ("${FOO:2:-2}", "345678"),
    ("${FOO:0:-3}", "1234567"),
    ("${FOO:20}", ""),
    ("${FOO:-20:2}", "12"),
    ("${FOO:8:-5}", ""),
    ("${FOO::3}", "1234567890"),      # sscanf reads no offset: whole value
    ("${${NAME}}", "1234567890"),
    ("${${${X}}:1:2}", "23"),
    ("${LEN(${FOO})}", "10"),
    ("${UPPER(${WHO} and ${A})}", "WORLD AND 3"),
    ("${CALLERID(num):0:3}", "555"),
    ("${CALLERID(name)} <${CALLERID(num)}>", "Alice <5551234>"),
    ("${NOSUCH(x)}", ""),
    ("$[1 + ${A}]", "4"),
    ("$[${A} * $[2 + 1]]", "9"),
    ("${LEN($[${A}*100])}", "3"),
    ("cost: $5", "cost: $5"),
    ("\\${FOO}", "${FOO}"),
    ("a\\\\${A}", "a\\\\3"),
    ("${FOO:1:2}${FOO:-1}", "230"),
])
def test_substitute(text, expected):
    assert sub(text) == expected


def test_functionArgumentsAreSubstitutedFirst():
    functions = Functions()
    assert substitute("${UPPER(${WHO},${A})}", getVar, functions) == "WORLD,3"
    assert functions.calls == [("UPPER", "world,3")]


def test_errorsRaiseWithoutOnError():
    with pytest.raises(ExpressionError, match="missing '}'"):
        sub("x ${FOO")
    with pytest.raises(ExpressionError, match="division by zero"):
        sub("$[1/0]")
    with pytest.raises(RuntimeError):
        sub("${BOOM()}")


def test_onErrorReportsAndCarriesOn():
    errors = []
    assert sub("a$[1/0]b${BOOM()}c", onError=errors.append) == "abc"
    assert len(errors) == 2
    errors = []
    assert sub("x ${FOO", onError=errors.append) == "x ${FOO"
    assert "missing '}'" in str(errors[0])


@pytest.mark.parametrize("value,offset,length,expected", [
    ("abcdef", 0, None, "abcdef"),
    ("abcdef", 2, None, "cdef"),
    ("abcdef", -2, None, "ef"),
    ("abcdef", 1, 2, "bc"),
    ("abcdef", 1, -1, "bcde"),
    ("abcdef", -3, -1, "de"),
    ("abcdef", 6, None, ""),
    ("abcdef", 0, 0, ""),
])
def test_substring(value, offset, length, expected):
    assert substring(value, offset, length) == expected


@pytest.mark.parametrize("expression,expected", [
    ("1 + 1", "2"),
    ("1+1", "2"),
    ("2 * 3 + 4", "10"),
    ("2 + 3 * 4", "14"),
    ("(2 + 3) * 4", "20"),
    ("10 - 2 - 3", "5"),
    ("7 % 3", "1"),
    ("-7 % 3", "-1"),
    ("10 / 4", "2.5"),
    ("10 / 3", "3.33333333333333333"),
    ("2 / 3", "0.666666666666666667"),
    ("0.1 + 0.2", "0.3"),
    ("1.5 * 2", "3"),
    ("1 / 1000000", "1e-06"),
    ("100000000000000000000 * 10", "1e+21"),
    ("-5 + 2", "-3"),
    ("- (2 + 3)", "-5"),
    ("3 - -2", "5"),
    ("!0", "1"),
    ("!5", "0"),
    ('!""', "1"),
    ("!abc", "1"),                # atoi("abc") is 0, as in Asterisk
    ("!2abc", "0"),
    ("5 > 3", "1"),
    ("5 < 3", "0"),
    ("5 >= 5", "1"),
    ("4 <= 3", "0"),
    ("5 = 5", "1"),
    ("5 == 5.0", "1"),
    ("05 = 5", "1"),
    ("5 != 5", "0"),
    ("10 > 9", "1"),              # numeric
    ("10 > 9a", "0"),             # textual: "10" < "9a"
    ("abc = abc", "1"),
    ('"abc" = "abc"', "1"),
    ('"abc" < "abd"', "1"),
    ('"" = ""', "1"),
    ('"5" = 5', "0"),             # a quoted string is text
    ("2 * 3 > 5", "1"),           # comparison binds looser than arithmetic
    ("1 | 0", "1"),
    ("0 | 7", "7"),
    ('"" | abc', '""'),           # a quoted empty string is not null
    ("0 | abc", "abc"),
    ("3 & 4", "3"),
    ("3 & 0", "0"),
    ("1 | 0 & 0", "1"),           # & binds tighter than |
    ("1 = 1 & 2 = 3", "0"),
    ("1 ? yes :: no", "yes"),
    ("0 ? yes :: no", "no"),
    ('"" ? yes :: no', "no"),
    ("abc ? yes :: no", "yes"),
    ("1 = 2 ? a :: b", "b"),
    ("(1 ? 2 :: 3) + 1", "3"),
    ('"abcdef" : "abc"', "3"),
    ('"abcdef" : "bcd"', "0"),    # ':' is anchored at the start
    ('"abcdef" =~ "bcd"', "3"),   # '=~' is not
    ('"abcdef" : "a(b.)d"', "bc"),
    ('"abcdef" =~ "x(y)"', ""),
    ("5551234 : 555", "3"),
    ('"abc" : "x"', "0"),
    ("abc ~~ def", "abcdef"),
    ('"ab" ~~ "cd"', "abcd"),
    ("abc", "abc"),
    ("5.0", "5.0"),               # a token is returned as written
    ('"quoted"', '"quoted"'),
    ("", ""),
    ("   ", ""),
])
def test_evaluate(expression, expected):
    assert evaluate(expression) == expected


@pytest.mark.parametrize("expression,fragment", [
    ("1 +", "unexpected end"),
    ("1 / 0", "division by zero"),
    ("1 % 0", "division by zero"),
    ("abc + 1", "non-numeric argument 'abc' to '+'"),
    ("-abc", "non-numeric argument"),
    ("(1 + 2", "missing ')'"),
    ("1 ? 2", "'?' without '::'"),
    ('"a" =~ "("', "bad regular expression"),
    ("1 2", "syntax error near '2'"),
    ('"open', "unterminated string"),
    ("1 ~ 2", "unexpected '~'"),
    (")", "syntax error near ')'"),
])
def test_evaluateErrors(expression, fragment):
    with pytest.raises(ExpressionError) as info:
        evaluate(expression)
    assert fragment in str(info.value)
    assert f"$[{expression}]" in str(info.value)


def test_formatNumber():
    from decimal import Decimal
    assert formatNumber(Decimal("0")) == "0"
    assert formatNumber(Decimal("-0.5")) == "-0.5"
    assert formatNumber(Decimal("123456789012345678")) == "123456789012345678"
    assert formatNumber(Decimal("1234567890123456789")) == "1.23456789012345679e+18"
    assert formatNumber(Decimal("0.0001")) == "0.0001"


@pytest.mark.parametrize("data,expected", [
    ("", []),
    (None, []),
    ("a", ["a"]),
    ("a,b,c", ["a", "b", "c"]),
    ("a,,c", ["a", "", "c"]),
    ("a,", ["a", ""]),
    (",", ["", ""]),
    ('"a,b",c', ["a,b", "c"]),
    ('x"a,b"y,c', ["xa,by", "c"]),
    ('""', [""]),
    ("f(a,b),c", ["f(a,b)", "c"]),
    ("f(g(a,b),c),d", ["f(g(a,b),c)", "d"]),
    ("[a,b],c", ["[a,b]", "c"]),
    ("a\\,b,c", ["a,b", "c"]),
    ("a\\\\,b", ["a\\", "b"]),
    ("a\\", ["a"]),
    (" a , b ", [" a ", " b "]),
    ("a)b,c", ["a)b", "c"]),
])
def test_splitArgs(data, expected):
    assert splitArgs(data) == expected


def test_splitArgsLimitAndRaw():
    assert splitArgs("a,b,c,d", limit=2) == ["a", "b,c,d"]
    assert splitArgs("a,b", limit=5) == ["a", "b"]
    assert splitArgs('a\\,b,"c,d"', removeChars=False) == ['a\\,b', '"c,d"']
    assert splitArgs("a|b|c", sep="|") == ["a", "b", "c"]
