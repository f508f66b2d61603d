"""
func_strings: string handling in the dialplan.

    ${LEN(text)}                       the length of text
    ${CUT(VAR,delim,fields)}           fields (1, 2-, -3, 1-3&5) of ${VAR}
    ${FIELDQTY(VAR,delim)}             how many fields ${VAR} has
    ${REPLACE(VAR,find-chars[,with])}  ${VAR} with each of find-chars replaced
    ${REGEX("regex" text)}             1 when the extended regex matches text
    ${STRFTIME([epoch][,zone][,format])}  a formatted time
    ${TOUPPER(text)} ${TOLOWER(text)}
"""

import datetime
import re
import time

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module, ReadOnly
from pbxcore.dialplan.expr import splitArgs
from pbxcore.interfaces import IDialplanFunction

log = Logger()

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def decodeDelimiter(text, default="-"):
    """
    A one-character delimiter as Asterisk's ast_get_encoded_char reads it:
    C{\\t}, C{\\x2c} (hex), C{\\054} (octal), C{\\,} or a plain character.
    """
    if not text:
        return default
    if text[0] != "\\" or len(text) == 1:
        return text[0]
    c = text[1]
    if c in _ESCAPES:
        return _ESCAPES[c]
    if c == "x":
        m = re.match(r"[0-9a-fA-F]{1,2}", text[2:])
        return chr(int(m.group(0), 16)) if m else "x"
    if c.isdigit():
        m = re.match(r"[0-7]{1,3}", text[1:])
        return chr(int(m.group(0), 8)) if m else c
    return c


def _variable(channel, name):
    if channel is None:
        return ""
    value = channel.getVariable(name.strip())
    return "" if value is None else value


@implementer(IDialplanFunction)
class LenFunction(ReadOnly):
    name = "LEN"
    synopsis = "Return the length of the string given."

    def read(self, channel, args):
        return str(len(args or ""))


def parseFieldSpec(spec):
    """
    CUT's field list: C{2}, C{2-4}, C{2-} (to the end), C{-3} (from the
    first), joined by C{&}. Returns (first, last) pairs, 1-based, last None
    for "to the end"; raises ValueError.
    """
    out = []
    for part in spec.split("&"):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            first = int(a) if a.strip() else 1
            last = int(b) if b.strip() else None
        else:
            first = last = int(part)
        if first < 1 or (last is not None and last < first):
            raise ValueError(f"invalid field range {part!r}")
        out.append((first, last))
    if not out:
        raise ValueError("no fields given")
    return out


@implementer(IDialplanFunction)
class CutFunction(ReadOnly):
    name = "CUT"
    synopsis = "Slices and dices strings, based upon a named delimiter."

    def read(self, channel, args):
        parts = splitArgs(args, limit=3, removeChars=False)
        if len(parts) < 3 or not parts[0].strip():
            log.warn("Syntax: CUT(<varname>,<char-delim>,<range-spec>) - missing argument!")
            return ""
        delim = decodeDelimiter(parts[1])
        try:
            ranges = parseFieldSpec(parts[2])
        except ValueError as e:
            log.warn("CUT: {error}", error=str(e))
            return ""
        fields = _variable(channel, parts[0]).split(delim)
        chosen = []
        for first, last in ranges:
            end = len(fields) if last is None else min(last, len(fields))
            chosen.extend(fields[first - 1:end])
        return delim.join(chosen)


@implementer(IDialplanFunction)
class FieldQtyFunction(ReadOnly):
    name = "FIELDQTY"
    synopsis = "Count the fields with an arbitrary delimiter."

    def read(self, channel, args):
        parts = splitArgs(args, removeChars=False)
        if len(parts) < 2:
            log.warn("Syntax: FIELDQTY(<varname>,<delim>) - missing argument!")
            return ""
        value = _variable(channel, parts[0])
        if not value:
            return "0"
        delim = decodeDelimiter(parts[1])
        return str(value.count(delim) + 1)


@implementer(IDialplanFunction)
class ReplaceFunction(ReadOnly):
    name = "REPLACE"
    synopsis = "Replace a set of characters in a given string with another character."

    def read(self, channel, args):
        parts = splitArgs(args)
        if len(parts) < 2 or not parts[0].strip():
            log.warn("Syntax: REPLACE(<varname>,<find-chars>[,<replace-char>])")
            return ""
        value = _variable(channel, parts[0])
        find = parts[1]
        replace = parts[2][:1] if len(parts) > 2 else ""
        if not find:
            return value
        return value.translate({ord(c): replace or None for c in find})


@implementer(IDialplanFunction)
class RegexFunction(ReadOnly):
    name = "REGEX"
    synopsis = "Check string against a regular expression."

    def read(self, channel, args):
        parts = (args or "").split('"', 2)
        if len(parts) < 3:
            log.warn('Syntax: REGEX("<regular expression>" <string>)')
            return ""
        pattern, text = parts[1], parts[2]
        if text.startswith(" "):
            text = text[1:]
        try:
            return "1" if re.search(pattern, text) else "0"
        except re.error as e:
            log.warn("REGEX: malformed regular expression {pattern!r}: {error}",
                     pattern=pattern, error=str(e))
            return ""


@implementer(IDialplanFunction)
class StrftimeFunction(ReadOnly):
    name = "STRFTIME"
    synopsis = "Returns the current date/time in the specified format."

    def __init__(self, pbx=None):
        self.pbx = pbx

    def _now(self):
        reactor = getattr(self.pbx, "reactor", None)
        return reactor.seconds() if reactor is not None else time.time()

    def read(self, channel, args):
        parts = splitArgs(args, limit=3)
        parts += [""] * (3 - len(parts))
        epochText, zoneName, fmt = (p.strip() for p in parts)
        try:
            epoch = float(epochText) if epochText else self._now()
        except ValueError:
            log.warn("STRFTIME: invalid epoch {epoch!r}", epoch=epochText)
            epoch = self._now()
        tz = None
        if zoneName:
            from zoneinfo import ZoneInfo
            try:
                tz = ZoneInfo(zoneName)
            except Exception:
                log.warn("STRFTIME: unknown time zone {zone!r}", zone=zoneName)
        when = datetime.datetime.fromtimestamp(epoch, tz) if tz else \
            datetime.datetime.fromtimestamp(epoch).astimezone()
        return when.strftime(fmt or "%c")


@implementer(IDialplanFunction)
class ToUpperFunction(ReadOnly):
    name = "TOUPPER"
    synopsis = "Convert string to all uppercase letters."

    def read(self, channel, args):
        return (args or "").upper()


@implementer(IDialplanFunction)
class ToLowerFunction(ReadOnly):
    name = "TOLOWER"
    synopsis = "Convert string to all lowercase letters."

    def read(self, channel, args):
        return (args or "").lower()


class FuncStringsModule(Module):
    def load(self, pbx, registrar):
        for function in (LenFunction(), CutFunction(), FieldQtyFunction(),
                         ReplaceFunction(), RegexFunction(), StrftimeFunction(pbx),
                         ToUpperFunction(), ToLowerFunction()):
            registrar.register("function", function)
