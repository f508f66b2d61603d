"""
extensions.conf: from a parsed L{pbxcore.config.Config} to an immutable
L{Dialplan} that answers the questions the PBX asks at every step (which
step runs next, could more digits match, what is the hint of 1001).

Contexts follow Asterisk's rules: plain extensions before patterns,
patterns most specific first, caller id matched extensions before plain
ones, then includes in order (each searched once per lookup, timed
includes only in their time window).

Loading follows Asterisk's pbx_config: a line Asterisk loads with a warning
(a priority defined twice, an unknown label, a missing ')', an unknown
directive) is read as Asterisk reads it or left out, and noted with its
file:line in L{Dialplan.warnings}; nothing in a context stops the load.

Pure: the lookups take C{now} when a timed include needs it.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from pbxcore.config import Config, ConfigError, isFalse, isTrue
from pbxcore.dialplan.conffile import readConfig
from pbxcore.dialplan.expr import substitute
from pbxcore.dialplan.pattern import (
    EARLYMATCH,
    MATCHED,
    MatchMode,
    PatternError,
    PatternIndex,
    PrefixIndex,
    callerIdMatches,
    extensionMatch,
    isPattern,
    normalizeExten,
    shrinkPhoneNumber,
    sortKey,
    validatePattern,
)
from pbxcore.dialplan.timing import TimeSpec, TimeSpecError, matches, parseTimeSpec

__all__ = [
    "PRIORITY_HINT",
    "Step",
    "Include",
    "Extension",
    "Context",
    "Dialplan",
    "parseDialplan",
    "readDialplan",
    "checkReport",
    "parseApplication",
    "splitExtension",
    "splitApplication",
]

#: The pseudo priority under which an extension's hint is kept.
PRIORITY_HINT = -1

_SPECIAL_SECTIONS = ("general", "globals")
_SWITCH_KEYS = ("switch", "lswitch", "eswitch")


@dataclass(frozen=True)
class Step:
    """
    One priority of one extension: the application and its raw (not yet
    substituted) arguments, and where it was written. For a hint, C{app}
    holds the devices and C{data} the presence provider.
    """

    context: str
    pattern: str
    priority: int
    label: Optional[str]
    app: str
    data: str
    filename: str
    line: int
    callerid: Optional[str] = None


@dataclass(frozen=True)
class Include:
    """C{include => context[,timespec]} of one context."""

    context: str
    timespec: Optional[TimeSpec]
    filename: str
    line: int

    def activeAt(self, now: Optional[datetime.datetime]) -> bool:
        if self.timespec is None:
            return True
        return matches(self.timespec, now if now is not None else datetime.datetime.now())


class Extension:
    """
    One extension as written (with its caller id match, if any): its
    priorities and labels.
    """

    __slots__ = ("name", "cid", "steps", "labels")

    def __init__(self, name: str, cid: Optional[str]):
        self.name = name
        self.cid = cid
        self.steps: dict[int, Step] = {}
        self.labels: dict[str, int] = {}

    @property
    def displayName(self) -> str:
        return self.name if self.cid is None else f"{self.name}/{self.cid}"

    def priorities(self) -> list[Step]:
        """Steps in priority order, the hint first."""
        return [self.steps[p] for p in sorted(self.steps)]


def _variantOrder(ext: Extension) -> tuple:
    """Caller id matched variants of one extension first, by ext_cmp."""
    if ext.cid is None:
        return (1, ())
    return (0, sortKey(ext.cid))


class Context:
    """
    One dialplan context: plain extensions in a dict (and a sorted index
    for prefix questions), patterns in a L{PatternIndex}.
    """

    def __init__(self, name: str, filename: str, line: int,
                 extensions: dict, includes: tuple, ignorepats: tuple,
                 switches: tuple):
        self.name = name
        self.filename = filename
        self.line = line
        self.includes: tuple[Include, ...] = includes
        self.ignorepats: tuple[str, ...] = ignorepats
        self.switches: tuple = switches
        exact: dict[str, tuple] = {}
        patterns: list = []
        for key, variants in extensions.items():
            ordered = tuple(sorted(variants, key=_variantOrder))
            if isPattern(key):
                patterns.append((key, ordered))
            else:
                exact[key] = ordered
        self._exact = exact
        self._prefix = PrefixIndex(exact)
        self._patterns = PatternIndex(patterns)

    def __len__(self) -> int:
        return len(self._exact) + len(self._patterns)

    def extensions(self) -> Iterator[Extension]:
        """Every extension variant in Asterisk's lookup order."""
        for key in sorted(self._exact):
            yield from self._exact[key]
        for _, variants in self._patterns:
            yield from variants

    def candidates(self, data: str, mode: MatchMode) -> Iterator[tuple[Extension, int]]:
        """Extension variants matching C{data} in C{mode}, in lookup order."""
        if mode == MatchMode.MATCH:
            for ext in self._exact.get(data, ()):
                yield ext, MATCHED
        else:
            for key in self._prefix.withPrefix(data):
                if mode == MatchMode.MATCHMORE and key == data:
                    continue
                for ext in self._exact[key]:
                    yield ext, MATCHED
        for _, variants, result in self._patterns.candidates(data, mode):
            for ext in variants:
                yield ext, result


_STOP = object()


class Dialplan:
    """
    A whole dialplan, immutable once built: swap a new one in to reload.
    """

    def __init__(self, general: dict, globals_: list, contexts: dict,
                 warnings: list):
        self.general: dict = general
        self.globals: list = globals_
        self.contexts: dict[str, Context] = contexts
        #: (filename, line, message) notes for the loader to log.
        self.warnings: list = warnings

    # -- lookups -------------------------------------------------------------

    def _search(self, contextName: str, data: str, mode: MatchMode,
                callerid: Optional[str], now, want: Callable, visited: set):
        context = self.contexts.get(contextName)
        if context is None or contextName in visited:
            return None
        visited.add(contextName)
        for ext, result in context.candidates(data, mode):
            if ext.cid is not None and not callerIdMatches(ext.cid, callerid):
                continue
            if result == EARLYMATCH and mode == MatchMode.MATCHMORE:
                # An early match ('!') is final: collect no more digits here.
                return _STOP
            found = want(ext)
            if found is not None:
                return found
        for include in context.includes:
            if not include.activeAt(now):
                continue
            found = self._search(include.context, data, mode, callerid, now, want, visited)
            if found is not None and found is not _STOP:
                return found
        return None

    def _lookup(self, context, exten, mode, callerid, now, want):
        found = self._search(context, normalizeExten(exten or ""), mode, callerid or None,
                             now, want, set())
        return None if found is _STOP else found

    def find(self, context: str, exten: str, priority: int,
             callerid: Optional[str] = None, now=None) -> Optional[Step]:
        """The step to run for C{exten} at C{priority} in C{context}, or None."""
        return self._lookup(context, exten, MatchMode.MATCH, callerid, now,
                            lambda ext: ext.steps.get(priority))

    def findLabel(self, context: str, exten: str, label: str,
                  callerid: Optional[str] = None, now=None) -> Optional[int]:
        """The priority carrying C{label} for C{exten}, or None."""
        return self._lookup(context, exten, MatchMode.MATCH, callerid, now,
                            lambda ext: ext.labels.get(label))

    def exists(self, context: str, exten: str, priority: int = 1,
               callerid: Optional[str] = None, now=None) -> bool:
        """Whether C{exten} has C{priority} in C{context}."""
        return self.find(context, exten, priority, callerid, now) is not None

    def canMatch(self, context: str, exten: str, callerid: Optional[str] = None,
                 now=None) -> bool:
        """Whether C{exten} matches now or could after more digits."""
        return self._lookup(context, exten, MatchMode.CANMATCH, callerid, now,
                            lambda ext: ext.steps.get(1)) is not None

    def matchMore(self, context: str, exten: str, callerid: Optional[str] = None,
                  now=None) -> bool:
        """Whether more digits could still match a longer extension."""
        return self._lookup(context, exten, MatchMode.MATCHMORE, callerid, now,
                            lambda ext: ext.steps.get(1)) is not None

    def hint(self, context: str, exten: str) -> Optional[str]:
        """The devices of C{exten}'s hint (C{SIP/100&SIP/101}), or None."""
        step = self.find(context, exten, PRIORITY_HINT)
        return None if step is None else step.app

    def hints(self) -> list[tuple[str, str, str]]:
        """Every hint as (context, extension, devices), in file order."""
        out = []
        for context in self.contexts.values():
            for ext in context.extensions():
                step = ext.steps.get(PRIORITY_HINT)
                if step is not None:
                    out.append((step.filename, step.line, context.name, ext.name, step.app))
        out.sort(key=lambda t: (t[0], t[1]))
        return [t[2:] for t in out]

    def isIgnorePattern(self, context: str, digits: str) -> bool:
        """Whether C{digits} match an C{ignorepat} of C{context} (no includes)."""
        ctx = self.contexts.get(context)
        if ctx is None:
            return False
        return any(extensionMatch(p, digits) for p in ctx.ignorepats)

    def contextNames(self) -> list[str]:
        return list(self.contexts)

    def describe(self, context: Optional[str] = None) -> list[str]:
        """
        Display lines for C{dialplan show [CONTEXT]}; raises KeyError for an
        unknown context.
        """
        if context is not None:
            if context not in self.contexts:
                raise KeyError(context)
            names = [context]
        else:
            names = list(self.contexts)
        lines: list[str] = []
        nExt = nPri = 0
        for name in names:
            ctx = self.contexts[name]
            lines.append(f"[ Context '{name}' created by 'pbx_config' ]")
            for ext in ctx.extensions():
                nExt += 1
                head = f"'{ext.name}'"
                if ext.cid is not None:
                    head += f" (CID match '{ext.cid}')"
                head += " =>"
                for step in ext.priorities():
                    where = f"[{step.filename}:{step.line}]"
                    if step.priority == PRIORITY_HINT:
                        body = f"hint: {step.app}"
                        if step.data:
                            body += f",{step.data}"
                    else:
                        nPri += 1
                        label = f"[{step.label}] " if step.label else ""
                        body = f"{step.priority}. {label}{step.app}({step.data})"
                    lines.append(f"  {head:<17} {body:<45} {where}")
                    head = ""
            for include in ctx.includes:
                shown = f"'{include.context}'"
                if include.timespec is not None:
                    shown += f"|{include.timespec.text}"
                lines.append(f"  {'Include =>':<17} {shown:<45} [{include.filename}:{include.line}]")
            for pat in ctx.ignorepats:
                lines.append(f"  {'Ignore pattern =>':<17} '{pat}'")
            lines.append("")
        contextsWord = "context" if len(names) == 1 else "contexts"
        lines.append(f"-= {nExt} extensions ({nPri} priorities) in {len(names)} {contextsWord}. =-")
        return lines


# -- parsing ------------------------------------------------------------------
#
# As Asterisk's pbx_config: a line Asterisk loads with a warning loads here
# with the same kind of warning, at its file:line, and the dialplan goes on.

#: [general] keys pbx_config reads.
_GENERAL_KEYS = frozenset((
    "static", "writeprotect", "autofallthrough", "clearglobalvars",
    "extenpatternmatchnew", "userscontext", "overrideswitch", "priorityjumping",
))

_LEADING_INT = re.compile(r"[ \t]*([+-]?\d+)")


def splitExtension(value: str) -> tuple[str, str]:
    """
    Split an C{exten =>} value at the first comma outside C{[...]} (a
    pattern's set may hold commas) and not escaped by a backslash, as
    pbx_config's C{pbx_strsep}: (extension, rest).
    """
    depth = 0
    i = 0
    while i < len(value):
        c = value[i]
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        elif c == "\\":
            i += 1
        elif c == "," and depth == 0:
            return value[:i], value[i + 1:]
        i += 1
    return value, ""


def parseApplication(text: str) -> tuple[str, str, list]:
    """
    C{App(args)} (or Asterisk 1.4's C{App,args}) to (app, raw args, notes):
    the notes say what Asterisk would warn about or read differently.
    """
    text = text.strip()
    paren = text.find("(")
    comma = text.find(",")
    if paren >= 0 and (comma < 0 or paren < comma):
        app = text[:paren].strip()
        if "${" in app or "$[" in app:
            return text, "", []
        close = text.rfind(")")
        if close < paren:
            return app, text[paren + 1:], [
                f"no closing parenthesis found in '{_shorten(text)}': the arguments "
                "run to the end of the line"]
        trailing = text[close + 1:].strip()
        data = text[paren + 1:close]
        notes = []
        if trailing:
            notes.append(f"text after the closing ')' of {app}() is dropped: "
                         f"{_shorten(trailing)!r}")
        if _unbalanced(data):
            notes.append(f"unbalanced parentheses in the arguments of {app}(): "
                         f"{_shorten(data)!r}")
        return app, data, notes
    if comma >= 0:
        app = text[:comma].strip()
        return app, text[comma + 1:].replace("|", ","), [
            f"'{_shorten(text)}' is Asterisk 1.4's form of {app}(...); read as "
            f"{app}({_shorten(text[comma + 1:].replace('|', ','))})"]
    return text, "", []


def _unbalanced(data: str) -> bool:
    """Whether C{(} and C{)} outside double quotes (and not escaped) fail to pair."""
    depth = 0
    quoted = False
    i = 0
    while i < len(data):
        c = data[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
            if depth < 0:
                return True
        i += 1
    return depth != 0


def splitApplication(text: str) -> tuple[str, str]:
    """C{App(args)} or the older C{App,args} to (app, raw args)."""
    app, data, _ = parseApplication(text)
    return app, data


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _ContextBuilder:
    def __init__(self, name, filename, line):
        self.name = name
        self.filename = filename
        self.line = line
        self.extensions: dict[str, list[Extension]] = {}
        self.variants: dict[tuple, Extension] = {}
        self.includes: list[Include] = []
        self.ignorepats: list[str] = []
        self.switches: list = []
        self.autohints = False
        # pbx_config's 'lastextension' and 'lastpri', reset per section.
        self.lastExten: Optional[str] = None
        self.lastPriority: int = -2

    def build(self) -> Context:
        return Context(self.name, self.filename, self.line, self.extensions,
                       tuple(self.includes), tuple(self.ignorepats), tuple(self.switches))


class _DialplanParser:
    def __init__(self, config: Config, warnings=()):
        self.config = config
        self.general: dict = {}
        self.globals: list = []
        self.contexts: dict[str, _ContextBuilder] = {}
        self.warnings: list = list(warnings)
        # [globals] as pbx_config sets them before it reads the contexts:
        # extension names, includes, ignorepats, switches and hints may
        # use them (${NAME}); functions are not available at load.
        self.loadVariables: dict = {}

    def warn(self, entry, message: str) -> None:
        self.warnings.append((entry.filename, entry.line, message))

    def loadFunction(self, name: str, args: str) -> Optional[str]:
        """The functions a load-time substitution has: GLOBAL() only."""
        if name.upper() == "GLOBAL":
            return self.loadVariables.get(args.strip()) or ""
        return None

    def expand(self, text: str, entry) -> str:
        """C{text} with ${...} of [globals] substituted, as pbx_config does at load."""
        if "$" not in text:
            return text
        problems: list = []

        def callFunction(name, args):
            value = self.loadFunction(name, args)
            if value is None:
                problems.append(f"{name}() is not available when the dialplan loads")
            return value or ""

        out = substitute(text, self.loadVariables.get, callFunction,
                         lambda error: problems.append(str(error)))
        for problem in problems:
            self.warn(entry, f"'{_shorten(text)}': {problem}")
        return out

    def parse(self) -> Dialplan:
        for section in self.config.sections:
            if section.name.lower() == "globals":
                for entry in section.entries:
                    self.globals.append((entry.key, entry.value))
                    self.loadVariables[entry.key] = substitute(
                        entry.value, self.loadVariables.get,
                        lambda name, args: self.loadFunction(name, args) or "",
                        lambda error: None)
        for section in self.config.sections:
            lowered = section.name.lower()
            if lowered == "general":
                self.generalSection(section)
            elif lowered == "globals":
                continue
            else:
                builder = self.contexts.get(section.name)
                if builder is None:
                    builder = _ContextBuilder(section.name, section.filename, section.line)
                    self.contexts[section.name] = builder
                # A context written again carries on where it was, but 'same'
                # and 'n' refer to lines of this section only.
                builder.lastExten = None
                builder.lastPriority = -2
                for entry in section.entries:
                    self.entry(builder, entry)
        self.checkIncludes()
        contexts = {name: b.build() for name, b in self.contexts.items()}
        return Dialplan(self.general, self.globals, contexts, self.warnings)

    def generalSection(self, section) -> None:
        for entry in section.entries:
            key = entry.key.lower()
            self.general[key] = entry.value
            if key not in _GENERAL_KEYS:
                self.warn(entry, f"[general] '{entry.key}' is not a pbx_config "
                          "option: ignored")
            elif key == "autofallthrough" and isFalse(entry.value):
                self.warn(entry, "autofallthrough = no is not supported: a call whose "
                          "extension runs out is hung up (autofallthrough = yes)")
            elif key == "overrideswitch" and entry.value.strip():
                self.warn(entry, f"overrideswitch '{entry.value}' ignored: switches are "
                          "not supported")

    def entry(self, ctx: _ContextBuilder, entry) -> None:
        key = entry.key.lower()
        if key.startswith("same"):  # Asterisk compares the first four letters only
            if ctx.lastExten is None:
                self.warn(entry, f"no previous pattern in the first entry of context "
                          f"[{ctx.name}] to match '{entry.key}': ignored")
                return
            self.addLine(ctx, ctx.lastExten, entry.value, entry)
        elif key == "exten":
            exten, rest = splitExtension(entry.value)
            if not rest and "[" in exten and "," in exten:
                ctx.lastExten = exten.strip()
                self.warn(entry, f"extension '{_shorten(exten.strip())}': an unclosed '[' "
                          "swallows the rest of the line: line ignored")
                return
            ctx.lastExten = self.expand(exten, entry).strip()
            self.addLine(ctx, ctx.lastExten, rest, entry)
        elif key == "include":
            self.addInclude(ctx, entry)
        elif key == "ignorepat":
            self.addIgnorePattern(ctx, entry)
        elif key in _SWITCH_KEYS:
            value = self.expand(entry.value, entry) if key == "switch" else entry.value
            ctx.switches.append((entry.key, value))
            self.warn(entry, f"'{entry.key} => {entry.value}' ignored: switches are "
                      "not supported")
        elif key == "autohints":
            ctx.autohints = isTrue(entry.value)
            if ctx.autohints:
                self.warn(entry, f"autohints in [{ctx.name}] is not supported: no hints "
                          "are made for devices automatically")
        else:
            self.warn(entry, f"unknown directive '{entry.key}' in context "
                      f"[{ctx.name}]: ignored")

    def patternProblem(self, pattern: str) -> Optional[str]:
        try:
            validatePattern(pattern)
        except PatternError as e:
            return str(e)
        return None

    def addIgnorePattern(self, ctx: _ContextBuilder, entry) -> None:
        pattern = self.expand(entry.value, entry).strip()
        problem = "no pattern" if not pattern else self.patternProblem(pattern)
        if problem is None and pattern in ctx.ignorepats:
            problem = "already in this context"
        if problem is not None:
            self.warn(entry, f"unable to add ignorepat '{pattern}' to context "
                      f"[{ctx.name}] ({problem}): ignored")
            return
        ctx.ignorepats.append(pattern)

    def addInclude(self, ctx: _ContextBuilder, entry) -> None:
        value = self.expand(entry.value, entry).strip()
        cut = min([i for i in (value.find(","), value.find("|")) if i >= 0], default=-1)
        name, spec = (value, "") if cut < 0 else (value[:cut].strip(), value[cut + 1:].strip())
        if not name:
            self.warn(entry, f"include with no context name in [{ctx.name}]: ignored")
            return
        if any(i.context == name for i in ctx.includes):
            self.warn(entry, f"context '{name}' already included in [{ctx.name}]: ignored")
            return
        timespec = None
        if spec:
            try:
                timespec = parseTimeSpec(spec)
            except TimeSpecError as e:
                self.warn(entry, f"include => {name}: {e}: ignored")
                return
        ctx.includes.append(Include(name, timespec, entry.filename, entry.line))

    def addLine(self, ctx: _ContextBuilder, exten: str, rest: str, entry) -> None:
        name, slash, cid = exten.partition("/")
        name = name.strip()
        cid = (shrinkPhoneNumber(cid.strip()) or None) if slash else None
        priText, _, appText = rest.partition(",")
        priText = priText.strip()
        label = None
        if "(" in priText:
            priText, _, labelText = priText.partition("(")
            if ")" not in labelText:
                self.warn(entry, "label missing trailing ')': line ignored")
                return
            label = labelText[:labelText.index(")")].strip() or None
            priText = priText.strip()
        plusText = None
        if "+" in priText:
            priText, _, plusText = priText.partition("+")
            priText = priText.strip()
        key = name if isPattern(name) else normalizeExten(name)
        priority = self.priority(ctx, key, cid, priText, entry)
        if priority is None:
            return
        if priority == 0:
            self.warn(entry, f"priority '{priText}' after a hint is 0 (as in Asterisk, "
                      "which ignores it): line ignored")
            return
        if plusText is not None:
            offset = _LEADING_INT.match(plusText)
            if offset is None:
                self.warn(entry, f"priority offset '+{plusText}' is not a number: read as +0")
            priority += int(offset.group(1)) if offset else 0
        ctx.lastPriority = priority
        if name in ("_.", "_!"):
            self.warn(entry, f"the use of '{name}' for an extension is strongly discouraged "
                      f"and can have unexpected behavior; use '_X{name[1]}' instead")
        problem = self.extensionProblem(name, cid)
        if problem is not None:
            self.warn(entry, f"unable to register extension '{exten}': {problem}: "
                      "line ignored")
            return
        if priority == PRIORITY_HINT:
            self.addHint(ctx, key, name, cid, exten, appText, entry)
        else:
            self.addPriority(ctx, key, name, cid, exten, priority, label, appText, entry)

    def priority(self, ctx, key, cid, priText, entry) -> Optional[int]:
        """pbx_config's reading of a priority field; None (warned) to skip the line."""
        if priText == "hint":
            return PRIORITY_HINT
        if priText in ("next", "n", "same", "s"):
            word = "next" if priText[0] == "n" else "same"
            if ctx.lastPriority <= -2:
                self.warn(entry, f"can't use '{word}' priority on the first entry: "
                          "line ignored")
                return None
            return ctx.lastPriority + (1 if word == "next" else 0)
        number = _LEADING_INT.match(priText)
        if number is None:
            variant = ctx.variants.get((key, cid))
            found = variant.labels.get(priText) if variant is not None else None
            if found is None:
                self.warn(entry, f"invalid priority/label '{priText}': line ignored")
            return found
        value = int(number.group(1))
        if value < 1:
            self.warn(entry, f"invalid priority '{priText}': line ignored")
            return None
        if priText[number.end():].strip():
            self.warn(entry, f"priority '{priText}' read as {value}")
        return value

    def extensionProblem(self, name: str, cid: Optional[str]) -> Optional[str]:
        if not name:
            return "no extension name"
        problem = self.patternProblem(name)
        if problem is None and cid:
            problem = self.patternProblem(cid)
        return problem

    def addHint(self, ctx, key, name, cid, exten, appText, entry) -> None:
        devices = appText.strip()
        if "${" in devices and not isPattern(name):
            devices = self.expand(devices, entry)  # as pbx.c does for a hint
        paren = devices.find("(")
        if paren >= 0 and "${" not in devices[:paren] and "$[" not in devices[:paren]:
            devices = devices[:paren]  # 'SIP/1(Display Name)': the name is not used
        devices, _, presence = devices.partition(",")
        devices = devices.strip()
        if not devices:
            self.warn(entry, f"hint for extension {exten} names no device: ignored")
            return
        variant = self.variantFor(ctx, key, name, cid)
        self.addStep(ctx, variant, exten, PRIORITY_HINT, None, devices,
                     presence.strip(), entry)

    def addPriority(self, ctx, key, name, cid, exten, priority, label, appText, entry):
        app, data, notes = parseApplication(appText)
        for note in notes:
            self.warn(entry, note)
        if not app:
            self.warn(entry, f"extension {exten}, priority {priority} names no "
                      "application: left out")
            return
        variant = self.variantFor(ctx, key, name, cid)
        self.addStep(ctx, variant, exten, priority, label, app, data, entry)

    def variantFor(self, ctx, key, name, cid) -> Extension:
        variant = ctx.variants.get((key, cid))
        if variant is None:
            variant = Extension(name, cid)
            ctx.variants[(key, cid)] = variant
            ctx.extensions.setdefault(key, []).append(variant)
        return variant

    def addStep(self, ctx, variant: Extension, exten, priority, label, app, data, entry):
        old = variant.steps.get(priority)
        if old is not None:
            what = "hint" if priority == PRIORITY_HINT else f"priority {priority}"
            self.warn(entry, f"unable to register extension '{exten}' {what} in "
                      f"[{ctx.name}], already in use (at {old.filename}:{old.line}): "
                      "line ignored")
            return
        if label is not None:
            if label in variant.labels:
                prev = variant.steps[variant.labels[label]]
                self.warn(entry, f"label '{label}' of extension '{exten}' is already used "
                          f"at {prev.filename}:{prev.line}: jumps to it go there")
            else:
                variant.labels[label] = priority
        variant.steps[priority] = Step(ctx.name, variant.name, priority, label, app, data,
                                       entry.filename, entry.line, variant.cid)

    def checkIncludes(self) -> None:
        """Note includes of contexts that do not exist, and include loops."""
        for name, builder in self.contexts.items():
            for include in builder.includes:
                if include.context not in self.contexts:
                    self.warnings.append((include.filename, include.line,
                                          f"context [{name}] includes '{include.context}', "
                                          "which does not exist"))
        state: dict[str, int] = {}  # 1 visiting, 2 done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            for include in self.contexts[name].includes:
                target = include.context
                if target not in self.contexts:
                    continue
                if state.get(target) == 1:
                    cycle = path[path.index(target):] + [target]
                    self.warnings.append((
                        include.filename, include.line,
                        "include loop: " + " -> ".join(cycle)
                        + " (a lookup searches each context once)"))
                elif target not in state:
                    visit(target)
            path.pop()
            state[name] = 2

        for name in self.contexts:
            if name not in state:
                visit(name)


def parseDialplan(config: Config, warnings=()) -> Dialplan:
    """
    Build a L{Dialplan} from a parsed extensions.conf. Lines Asterisk would
    warn about are left out or read as Asterisk reads them, and noted in
    C{Dialplan.warnings} (after C{warnings}, those of reading the file).
    """
    return _DialplanParser(config, warnings).parse()


def checkReport(path: str) -> tuple[list, int]:
    """
    (lines, problems) for C{dialplan check} and C{pbx --check}: every
    warning of the extensions.conf at C{path} as C{file:line: message} (or
    the error that stops it loading) and a summary line; C{problems} counts
    the warnings, or is 1 for a file that does not load.
    """
    if not os.path.exists(path):
        return [f"{path}: no such file"], 1
    try:
        dialplan = readDialplan(path)
    except ConfigError as e:
        return [str(e), f"{path}: does not load (Asterisk's pbx_config would decline it)."], 1
    lines = [f"{filename}:{line}: {message}" for filename, line, message in dialplan.warnings]
    count = len(dialplan.warnings)
    extensions = sum(1 for c in dialplan.contexts.values() for _ in c.extensions())
    lines.append(f"{path}: {len(dialplan.contexts)} contexts, {extensions} extensions, "
                 f"{count} warning{'' if count == 1 else 's'}.")
    return lines, count


def readDialplan(path: str, baseDir: Optional[str] = None) -> Dialplan:
    """
    Read extensions.conf at C{path} as Asterisk does (L{readConfig}) and
    build its L{Dialplan}; raises L{ConfigError} (file:line) only where
    Asterisk's reader gives up on the file.
    """
    config, warnings = readConfig(path, baseDir)
    return parseDialplan(config, warnings)
