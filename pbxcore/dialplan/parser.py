"""
extensions.conf: from a parsed L{pbxcore.config.Config} to an immutable
L{Dialplan} that answers the questions the PBX asks at every step (which
step runs next, could more digits match, what is the hint of 1001).

Contexts follow Asterisk's rules: plain extensions before patterns,
patterns most specific first, caller id matched extensions before plain
ones, then includes in order (each searched once per lookup, timed
includes only in their time window).

Pure: the lookups take C{now} when a timed include needs it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from pbxcore.config import Config, ConfigError
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

def splitExtension(value: str) -> tuple[str, str]:
    """
    Split an C{exten =>} value at the first comma outside C{[...]} (a
    pattern's set may hold commas): (extension, rest).
    """
    depth = 0
    for i, c in enumerate(value):
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        elif c == "," and depth == 0:
            return value[:i], value[i + 1:]
    return value, ""


def splitApplication(text: str) -> tuple[str, str]:
    """
    C{App(args)} or the older C{App,args} to (app, raw args). Raises
    ValueError when the parentheses do not close.
    """
    text = text.strip()
    paren = text.find("(")
    comma = text.find(",")
    if paren >= 0 and (comma < 0 or paren < comma):
        app = text[:paren].strip()
        if "${" in app or "$[" in app:
            return text, ""
        close = text.rfind(")")
        if close < paren:
            raise ValueError(f"no closing ')' for {app}(")
        trailing = text[close + 1:].strip()
        if trailing:
            raise ValueError(f"unexpected text {trailing!r} after {app}(...)")
        return app, text[paren + 1:close]
    if comma >= 0:
        return text[:comma].strip(), text[comma + 1:]
    return text, ""


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
        self.lastExten: Optional[str] = None
        self.lastPriority: Optional[int] = None

    def build(self) -> Context:
        return Context(self.name, self.filename, self.line, self.extensions,
                       tuple(self.includes), tuple(self.ignorepats), tuple(self.switches))


class _DialplanParser:
    def __init__(self, config: Config):
        self.config = config
        self.general: dict = {}
        self.globals: list = []
        self.contexts: dict[str, _ContextBuilder] = {}
        self.warnings: list = []

    def parse(self) -> Dialplan:
        for section in self.config.sections:
            lowered = section.name.lower()
            if lowered == "general":
                for entry in section.entries:
                    self.general[entry.key.lower()] = entry.value
            elif lowered == "globals":
                for entry in section.entries:
                    self.globals.append((entry.key, entry.value))
            else:
                builder = self.contexts.get(section.name)
                if builder is None:
                    builder = _ContextBuilder(section.name, section.filename, section.line)
                    self.contexts[section.name] = builder
                # A context written again carries on where it was, but 'same'
                # and 'n' refer to lines of this section only.
                builder.lastExten = builder.lastPriority = None
                for entry in section.entries:
                    self.entry(builder, entry)
        self.checkIncludes()
        contexts = {name: b.build() for name, b in self.contexts.items()}
        return Dialplan(self.general, self.globals, contexts, self.warnings)

    def entry(self, ctx: _ContextBuilder, entry) -> None:
        key = entry.key.lower()
        if key == "exten":
            exten, rest = splitExtension(entry.value)
            exten = exten.strip()
            if not exten:
                raise ConfigError("missing extension", entry.filename, entry.line)
            self.addLine(ctx, exten, rest, entry)
        elif key == "same":
            if ctx.lastExten is None:
                raise ConfigError(
                    "'same =>' with no previous 'exten =>' in this context",
                    entry.filename, entry.line)
            self.addLine(ctx, ctx.lastExten, entry.value, entry)
        elif key == "include":
            self.addInclude(ctx, entry)
        elif key == "ignorepat":
            pattern = entry.value.strip()
            if not pattern:
                raise ConfigError("ignorepat needs a pattern", entry.filename, entry.line)
            self.checkPattern(pattern, entry)
            ctx.ignorepats.append(pattern)
        elif key in _SWITCH_KEYS:
            ctx.switches.append((entry.key, entry.value))
            self.warnings.append((entry.filename, entry.line,
                                  f"'{entry.key} => {entry.value}' ignored: "
                                  "switches are not supported"))
        else:
            raise ConfigError(
                f"unknown directive '{entry.key}' in context [{ctx.name}] "
                "(expected exten, same, include, ignorepat or switch)",
                entry.filename, entry.line)

    def checkPattern(self, pattern: str, entry) -> None:
        try:
            validatePattern(pattern)
        except PatternError as e:
            raise ConfigError(str(e), entry.filename, entry.line) from None

    def addInclude(self, ctx: _ContextBuilder, entry) -> None:
        value = entry.value.strip()
        cut = min([i for i in (value.find(","), value.find("|")) if i >= 0], default=-1)
        name, spec = (value, "") if cut < 0 else (value[:cut].strip(), value[cut + 1:].strip())
        if not name:
            raise ConfigError("include needs a context name", entry.filename, entry.line)
        timespec = None
        if spec:
            try:
                timespec = parseTimeSpec(spec)
            except TimeSpecError as e:
                raise ConfigError(f"include => {name}: {e}", entry.filename, entry.line) from None
        ctx.includes.append(Include(name, timespec, entry.filename, entry.line))

    def addLine(self, ctx: _ContextBuilder, exten: str, rest: str, entry) -> None:
        where = (entry.filename, entry.line)
        name, slash, cid = exten.partition("/")
        name = name.strip()
        cid = shrinkPhoneNumber(cid.strip()) if slash else None
        if not name:
            raise ConfigError("missing extension", *where)
        self.checkPattern(name, entry)
        if cid:
            self.checkPattern(cid, entry)
        else:
            cid = None
        priText, _, appText = rest.partition(",")
        priText = priText.strip()
        if not priText:
            raise ConfigError(f"extension {exten}: missing priority", *where)

        label = None
        if "(" in priText:
            priText, _, labelText = priText.partition("(")
            if not labelText.endswith(")"):
                raise ConfigError(f"extension {exten}: label is missing its ')'", *where)
            label = labelText[:-1].strip() or None
            priText = priText.strip()
        plus = 0
        if "+" in priText:
            priText, _, plusText = priText.partition("+")
            priText = priText.strip()
            try:
                plus = int(plusText)
            except ValueError:
                raise ConfigError(f"extension {exten}: invalid priority offset "
                                  f"'+{plusText}'", *where) from None

        key = name if isPattern(name) else normalizeExten(name)
        variant = ctx.variants.get((key, cid))
        sameExten = ctx.lastExten is not None and ctx.lastExten == exten

        lowered = priText.lower()
        if lowered == "hint":
            if label or plus:
                raise ConfigError(f"extension {exten}: a hint takes no label or offset", *where)
            devices, _, presence = appText.partition(",")
            devices = devices.strip()
            if not devices:
                raise ConfigError(f"extension {exten}: hint names no device", *where)
            variant = self.variantFor(ctx, key, name, cid, variant)
            self.addStep(ctx, variant, exten, PRIORITY_HINT, None, devices,
                         presence.strip(), entry)
            if not sameExten:
                ctx.lastPriority = None
            ctx.lastExten = exten
            return
        if lowered in ("n", "next"):
            if not sameExten or ctx.lastPriority is None:
                raise ConfigError(
                    f"extension {exten}: priority 'n' needs a previous numbered "
                    f"priority of the same extension", *where)
            priority = ctx.lastPriority + 1
        elif lowered in ("s", "same"):
            if not sameExten or ctx.lastPriority is None:
                raise ConfigError(
                    f"extension {exten}: priority 's' needs a previous numbered "
                    f"priority of the same extension", *where)
            priority = ctx.lastPriority
        elif priText.lstrip("-").isdigit():
            priority = int(priText)
        else:
            found = variant.labels.get(priText) if variant is not None else None
            if found is None:
                raise ConfigError(f"extension {exten}: invalid priority or unknown "
                                  f"label '{priText}'", *where)
            priority = found
        priority += plus
        if priority < 1:
            raise ConfigError(f"extension {exten}: invalid priority {priority} "
                              "(priorities start at 1)", *where)
        if not appText.strip():
            raise ConfigError(f"extension {exten}, priority {priority}: missing application",
                              *where)
        try:
            app, data = splitApplication(appText)
        except ValueError as e:
            raise ConfigError(f"extension {exten}, priority {priority}: {e}", *where) from None
        if not app:
            raise ConfigError(f"extension {exten}, priority {priority}: missing application",
                              *where)
        variant = self.variantFor(ctx, key, name, cid, variant)
        self.addStep(ctx, variant, exten, priority, label, app, data, entry)
        ctx.lastExten = exten
        ctx.lastPriority = priority

    def variantFor(self, ctx, key, name, cid, variant) -> Extension:
        if variant is None:
            variant = Extension(name, cid)
            ctx.variants[(key, cid)] = variant
            ctx.extensions.setdefault(key, []).append(variant)
        return variant

    def addStep(self, ctx, variant: Extension, exten, priority, label, app, data, entry):
        old = variant.steps.get(priority)
        if old is not None:
            what = "hint" if priority == PRIORITY_HINT else f"priority {priority}"
            raise ConfigError(
                f"extension {exten}: {what} is already defined at {old.filename}:{old.line}",
                entry.filename, entry.line)
        if label is not None:
            if label in variant.labels:
                prev = variant.steps[variant.labels[label]]
                raise ConfigError(
                    f"extension {exten}: label '{label}' is already used at "
                    f"{prev.filename}:{prev.line}", entry.filename, entry.line)
            variant.labels[label] = priority
        variant.steps[priority] = Step(ctx.name, variant.name, priority, label, app, data,
                                       entry.filename, entry.line, variant.cid)

    def checkIncludes(self) -> None:
        """Refuse include cycles; note includes of contexts that do not exist."""
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
                    raise ConfigError("include cycle: " + " -> ".join(cycle),
                                      include.filename, include.line)
                if target not in state:
                    visit(target)
            path.pop()
            state[name] = 2

        for name, builder in self.contexts.items():
            for include in builder.includes:
                if include.context not in self.contexts:
                    self.warnings.append((include.filename, include.line,
                                          f"context [{name}] includes '{include.context}', "
                                          "which does not exist"))
        for name in self.contexts:
            if name not in state:
                visit(name)


def parseDialplan(config: Config) -> Dialplan:
    """
    Build a L{Dialplan} from a parsed extensions.conf; raises L{ConfigError}
    with the file and line of the first bad line.
    """
    return _DialplanParser(config).parse()
