"""
The dialplan's text language: C{${VAR}} and C{${FUNC(args)}} substitution,
the C{$[...]} expression language, and application argument splitting.

Everything here is pure: variables and functions come in as callables, so
the same code serves a live channel, the console and the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, ROUND_HALF_EVEN
from typing import Callable, Optional

__all__ = [
    "ExpressionError",
    "substitute",
    "evaluate",
    "splitArgs",
    "substring",
    "formatNumber",
]


class ExpressionError(ValueError):
    """A C{$[...]} expression or a C{${...}} reference that cannot be evaluated."""


# --- argument splitting ---------------------------------------------------

def splitArgs(data: Optional[str], sep: str = ",", limit: Optional[int] = None,
              removeChars: bool = True) -> list[str]:
    """
    Split application arguments as Asterisk's C{AST_STANDARD_APP_ARGS}: a
    separator inside parentheses, square brackets or double quotes does not
    split; with C{removeChars} the double quotes are dropped and a backslash
    makes the next character literal (C{AST_STANDARD_RAW_ARGS} keeps both).

    An empty string has no arguments; a trailing separator adds an empty
    one. With C{limit}, the last argument takes the rest of the text.
    """
    if not data:
        return []
    args: list[str] = []
    current: list[str] = []
    paren = bracket = 0
    quote = False
    i = 0
    n = len(data)
    while i < n:
        c = data[i]
        if c == "(":
            paren += 1
        elif c == ")":
            if paren:
                paren -= 1
        elif c == "[":
            bracket += 1
        elif c == "]":
            if bracket:
                bracket -= 1
        elif c == '"' and sep != '"':
            quote = not quote
            if removeChars:
                i += 1
                continue
        elif c == "\\":
            if i + 1 < n:
                if removeChars:
                    current.append(data[i + 1])
                else:
                    current.append(c)
                    current.append(data[i + 1])
                i += 2
                continue
            if removeChars:
                i += 1
                continue
        elif (c == sep and not paren and not quote and not bracket
              and (limit is None or len(args) < limit - 1)):
            args.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    args.append("".join(current))
    return args


# --- substitution ---------------------------------------------------------

def substring(value: str, offset: int, length: Optional[int] = None) -> str:
    """
    C{${VAR:offset:length}}: a negative offset counts from the end, a
    negative length leaves that many characters off the end.
    """
    lr = len(value)
    if offset == 0 and (length is None or length >= lr):
        return value
    if offset < 0:
        offset = max(lr + offset, 0)
    if offset >= lr:
        return ""
    if length is None:
        return value[offset:]
    if length >= 0:
        return value[offset:offset + length]
    if lr > offset - length:
        return value[offset:lr + length]
    return ""


_LEADING_INT = re.compile(r"\s*([-+]?\d+)")


def _scanInt(text: str) -> tuple[Optional[int], str]:
    """Like C{sscanf("%d")}: the leading integer and the rest, or (None, text)."""
    m = _LEADING_INT.match(text)
    if not m:
        return None, text
    return int(m.group(1)), text[m.end():]


def _splitName(inner: str) -> tuple[str, bool, Optional[int], Optional[int]]:
    """
    The name part of a C{${...}} reference, whether it is a function call,
    and the substring offset and length after the first colon outside
    parentheses.
    """
    parens = 0
    isFunc = False
    for i, c in enumerate(inner):
        if c == "(":
            isFunc = True
            parens += 1
        elif c == ")":
            parens -= 1
        elif c == ":" and parens == 0:
            offset, rest = _scanInt(inner[i + 1:])
            length = None
            if offset is None:
                offset = 0
            elif rest.startswith(":"):
                length, _ = _scanInt(rest[1:])
            return inner[:i], isFunc, offset, length
    return inner, isFunc, None, None


def _findClose(text: str, start: int, opener: str, closer: str) -> int:
    """Index of the closer balancing an opener just before C{start}, or -1."""
    depth = 1
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def splitFunction(call: str) -> tuple[str, str]:
    """C{NAME(args)} to (NAME, args): args run to the last C{)}."""
    open_ = call.find("(")
    if open_ < 0:
        return call.strip(), ""
    close = call.rfind(")")
    if close < open_:
        raise ExpressionError(f"function {call[:open_]!r} has no closing parenthesis")
    return call[:open_].strip(), call[open_ + 1:close]


GetVar = Callable[[str], Optional[str]]
CallFunction = Callable[[str, str], Optional[str]]
OnError = Callable[[Exception], None]


def substitute(text: str, getVar: GetVar, callFunction: CallFunction,
               onError: Optional[OnError] = None) -> str:
    """
    Expand C{${VAR}}, C{${VAR:offset:length}}, C{${FUNC(args)}} and
    C{$[expression]} in C{text}, innermost first. C{\\$} is a literal
    dollar; C{\\\\} is kept for the argument splitter.

    C{getVar(name)} returns a string or None (empty). C{callFunction(name,
    args)} gets the already substituted argument text. Errors (a bad
    expression, a failing function, an unclosed reference) raise unless
    C{onError} is given, in which case it is told and the reference
    expands to nothing, as Asterisk does.
    """
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "\\$":
            if text[i + 1] == "$":
                out.append("$")
            else:
                out.append("\\\\")
            i += 2
            continue
        if c == "$" and i + 1 < n and text[i + 1] in "{[":
            opener = text[i + 1]
            closer = "}" if opener == "{" else "]"
            end = _findClose(text, i + 2, opener, closer)
            if end < 0:
                err = ExpressionError(f"missing '{closer}' in {text[i:]!r}")
                if onError is None:
                    raise err
                onError(err)
                out.append(text[i:])
                break
            inner = text[i + 2:end]
            i = end + 1
            try:
                if "$" in inner:
                    inner = substitute(inner, getVar, callFunction, onError)
                if opener == "[":
                    out.append(evaluate(inner))
                else:
                    out.append(_expandReference(inner, getVar, callFunction))
            except Exception as e:
                if onError is None:
                    raise
                onError(e)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _expandReference(inner: str, getVar: GetVar, callFunction: CallFunction) -> str:
    name, isFunc, offset, length = _splitName(inner)
    if isFunc:
        fname, args = splitFunction(name)
        value = callFunction(fname, args)
    else:
        value = getVar(name)
    value = "" if value is None else str(value)
    if offset is not None:
        value = substring(value, offset, length)
    return value


# --- the $[...] language --------------------------------------------------

_CTX = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[DivisionByZero, InvalidOperation])

_NUMERIC = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)\Z")


def formatNumber(value: Decimal) -> str:
    """
    A number as Asterisk prints expression results (C{%.18Lg}): 18
    significant digits, no trailing zeros, exponent form only when very
    large or very small.
    """
    if value.is_zero():
        return "0"
    sci = format(value, ".17e")
    mantissa, exp = sci.split("e")
    exponent = int(exp)
    if exponent < -4 or exponent >= 18:
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        sign = "-" if exponent < 0 else "+"
        return f"{mantissa}e{sign}{abs(exponent):02d}"
    rounded = Decimal(sci)
    fixed = format(rounded, f".{max(17 - exponent, 0)}f")
    if "." in fixed:
        fixed = fixed.rstrip("0").rstrip(".")
    if fixed in ("-0", ""):
        fixed = "0"
    return fixed


@dataclass
class _Val:
    """
    An expression value: a number, or text that may look like one. Quoted
    strings keep their quotes, as in Asterisk, except where an operator
    strips them.
    """

    text: Optional[str] = None
    num: Optional[Decimal] = None

    @classmethod
    def number(cls, n) -> "_Val":
        return cls(num=n if isinstance(n, Decimal) else Decimal(n))

    def isNumber(self) -> bool:
        return self.num is not None

    def isString(self) -> bool:
        """A value that does not look like a number at all."""
        return self.num is None and not _NUMERIC.match(self.text)

    def toNumber(self) -> Optional[Decimal]:
        if self.num is not None:
            return self.num
        if _NUMERIC.match(self.text):
            return Decimal(self.text)
        return None

    def str(self) -> str:
        return formatNumber(self.num) if self.num is not None else self.text

    def isZeroOrNull(self) -> bool:
        if self.num is not None:
            return self.num == 0
        if self.text == "":
            return True
        n = self.toNumber()
        return n is not None and n == 0


def _stripQuotes(s: str) -> str:
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1]
    return s


_OPERATORS = ("=~", "==", "!=", ">=", "<=", "::", "~~", "|", "&", "=", ">", "<",
              "+", "-", "*", "/", "%", "?", "!", ":", "(", ")")
_OPCHARS = set("|&=!<>+-*/%?:()~")


def _tokenize(expression: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: kind is 'op' or 'tok'."""
    tokens = []
    i = 0
    n = len(expression)
    while i < n:
        c = expression[i]
        if c.isspace():
            i += 1
            continue
        if c == '"':
            end = expression.find('"', i + 1)
            if end < 0:
                raise ExpressionError(f"unterminated string in $[{expression}]")
            tokens.append(("tok", expression[i:end + 1]))
            i = end + 1
            continue
        if c in _OPCHARS:
            for op in _OPERATORS:
                if expression.startswith(op, i):
                    tokens.append(("op", op))
                    i += len(op)
                    break
            else:
                raise ExpressionError(f"unexpected {c!r} in $[{expression}]")
            continue
        j = i
        while j < n and not expression[j].isspace() and expression[j] not in _OPCHARS \
                and expression[j] != '"':
            j += 1
        tokens.append(("tok", expression[i:j]))
        i = j
    return tokens


# Binary operators by precedence, loosest first; each level is left
# associative. Unary '-' and '!' sit between '*' and ':'.
_LEVELS = (
    ("?",),
    ("|",),
    ("&",),
    ("=", "==", ">", "<", ">=", "<=", "!="),
    ("+", "-"),
    ("*", "/", "%"),
)
_REGEX_OPS = (":", "=~", "~~")


class _Parser:
    def __init__(self, expression: str):
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.pos = 0

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(f"{message} in $[{self.expression}]")

    def peek(self) -> Optional[tuple[str, str]]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def peekOp(self) -> Optional[str]:
        t = self.peek()
        return t[1] if t is not None and t[0] == "op" else None

    def parse(self) -> _Val:
        if not self.tokens:
            return _Val(text="")
        value = self.level(0)
        if self.pos != len(self.tokens):
            raise self.error(f"syntax error near {self.tokens[self.pos][1]!r}")
        return value

    def level(self, depth: int) -> _Val:
        if depth == len(_LEVELS):
            return self.unary()
        left = self.level(depth + 1)
        ops = _LEVELS[depth]
        while True:
            op = self.peekOp()
            if op not in ops:
                return left
            self.pos += 1
            if op == "?":
                middle = self.level(depth + 1)
                if self.peekOp() != "::":
                    raise self.error("'?' without '::'")
                self.pos += 1
                right = self.level(depth + 1)
                left = _cond(left, middle, right)
            else:
                right = self.level(depth + 1)
                left = self.binary(op, left, right)

    def unary(self) -> _Val:
        op = self.peekOp()
        if op == "-":
            self.pos += 1
            value = self.unary()
            n = value.toNumber()
            if n is None:
                raise self.error(f"non-numeric argument {value.str()!r} to unary '-'")
            return _Val.number(-n)
        if op == "!":
            self.pos += 1
            value = self.unary()
            return _Val.number(0 if _truthOfComplement(value) else 1)
        return self.regex()

    def regex(self) -> _Val:
        left = self.primary()
        while self.peekOp() in _REGEX_OPS:
            op = self.peekOp()
            self.pos += 1
            right = self.primary()
            if op == "~~":
                left = _Val(text=_stripQuotes(left.str()) + _stripQuotes(right.str()))
            else:
                left = self.match(op, left, right)
        return left

    def primary(self) -> _Val:
        t = self.peek()
        if t is None:
            raise self.error("unexpected end of expression")
        kind, text = t
        self.pos += 1
        if kind == "tok":
            return _Val(text=text)
        if text == "(":
            value = self.level(0)
            if self.peekOp() != ")":
                raise self.error("missing ')'")
            self.pos += 1
            return value
        if text in ("-", "!"):
            self.pos -= 1
            return self.unary()
        raise self.error(f"syntax error near {text!r}")

    def match(self, op: str, left: _Val, right: _Val) -> _Val:
        subject = _stripQuotes(left.str())
        try:
            regex = re.compile(_stripQuotes(right.str()))
        except re.error as e:
            raise self.error(f"bad regular expression {right.str()!r}: {e}")
        m = regex.match(subject) if op == ":" else regex.search(subject)
        if m is not None:
            if regex.groups and m.group(1) is not None:
                return _Val(text=m.group(1))
            if regex.groups == 0:
                return _Val.number(m.end() - m.start())
            return _Val(text="")
        return _Val(text="") if regex.groups else _Val.number(0)

    def binary(self, op: str, left: _Val, right: _Val) -> _Val:
        if op == "|":
            return right if left.isZeroOrNull() else left
        if op == "&":
            if left.isZeroOrNull() or right.isZeroOrNull():
                return _Val.number(0)
            return left
        if op in ("=", "==", ">", "<", ">=", "<=", "!="):
            a, b = left.toNumber(), right.toNumber()
            if a is None or b is None:
                a, b = left.str(), right.str()
            result = {
                "=": a == b, "==": a == b, "!=": a != b,
                ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b,
            }[op]
            return _Val.number(1 if result else 0)
        a, b = left.toNumber(), right.toNumber()
        if a is None or b is None:
            bad = left if a is None else right
            raise self.error(f"non-numeric argument {bad.str()!r} to '{op}'")
        try:
            if op == "+":
                return _Val.number(_CTX.add(a, b))
            if op == "-":
                return _Val.number(_CTX.subtract(a, b))
            if op == "*":
                return _Val.number(_CTX.multiply(a, b))
            if b == 0:
                raise self.error("division by zero")
            if op == "/":
                return _Val.number(_CTX.divide(a, b))
            return _Val.number(_CTX.remainder(a, b))
        except (InvalidOperation, DivisionByZero) as e:
            raise self.error(f"arithmetic error ({e.__class__.__name__})")


_ATOI = re.compile(r"\s*([-+]?\d+)")


def _truthOfComplement(value: _Val) -> bool:
    """
    What C{!} negates: a number's value, else the text's leading integer
    (C{atoi}), so C{!abc} is 1 as in Asterisk.
    """
    if value.num is not None:
        return value.num != 0
    m = _ATOI.match(value.text)
    return m is not None and int(m.group(1)) != 0


def _cond(condition: _Val, yes: _Val, no: _Val) -> _Val:
    if condition.isNumber():
        return yes if condition.num != 0 else no
    text = condition.str()
    if text and text != '""' and text != "0":
        return yes
    return no


def evaluate(expression: str) -> str:
    """
    The value of an Asterisk C{$[...]} expression, as text: C{| &} (Asterisk's
    value-returning or/and), comparisons (numeric when both sides are
    numbers, else textual), C{+ - * / %} (decimal arithmetic printed as
    Asterisk prints it), unary C{-} and C{!}, C{:} (regular expression
    anchored at the start) and C{=~} (anywhere), both giving the first
    group or the match length, C{~~} concatenation, C{cond ? a :: b} and
    parentheses. Raises L{ExpressionError} with the expression quoted.
    """
    return _Parser(expression).parse().str()
