"""
The Asterisk C{.conf} dialect: sections, ordered multi-valued keys, templates,
inheritance, C{(+)} appends, C{#include} and comments.

This module is pure: text (or a file path) goes in, a L{Config} comes out, and
every mistake raises L{ConfigError} carrying the file and line it came from,
including mistakes inside included files.  It reads files from disk for
C{#include} but never touches the reactor or a socket.

The dialect, briefly::

    ; a comment to the end of the line, \\; is a literal semicolon
    ;-- a block comment, ;-- which may nest --; and span lines --;
    #include "other.conf"          ; also <other.conf>, other.conf, globs
    #tryinclude "optional/*.conf" ; missing files are fine
    [general]
    key = value                   ; repeated keys are kept, in order
    exten => _X.,1,Set(A=${B})    ; "=>" is recorded as Entry.arrow
    [phones](!)                   ; a template
    [1001](phones)                ; inherits the template's entries first
    [1001](+)                     ; appends to the existing [1001]
"""

from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass, field
from typing import Iterator, Optional

__all__ = [
    "ConfigError",
    "Entry",
    "Section",
    "Config",
    "parseText",
    "parseFile",
    "isTrue",
    "isFalse",
]

# Asterisk trims with isspace(); Python's str.strip() would also eat
# Unicode spaces, which Asterisk keeps.
_WS = " \t\r\n\v\f"

# How deep #include may nest; loops are caught separately, this only bounds a
# chain of distinct files so that recursion can never blow the stack.
MAX_INCLUDE_DEPTH = 32

_TRUE = frozenset(("yes", "true", "y", "t", "1", "on"))
_FALSE = frozenset(("no", "false", "n", "f", "0", "off"))


class ConfigError(Exception):
    """
    A configuration file could not be accepted.

    C{str()} is C{"file:line: message"}, C{"file: message"} when there is no
    line (a file that cannot be read), or just the message when there is no
    file.
    """

    def __init__(self, message: str, filename: Optional[str] = None,
                 line: Optional[int] = None):
        self.message: str = "" if message is None else str(message)
        self.filename: Optional[str] = filename
        self.line: Optional[int] = line
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.filename:
            return self.message
        if self.line:
            return f"{self.filename}:{self.line}: {self.message}"
        return f"{self.filename}: {self.message}"

    def __reduce__(self):
        return (_rebuildError, (self.message, self.filename, self.line))


def _rebuildError(message, filename, line):
    return ConfigError(message, filename, line)


@dataclass(frozen=True)
class Entry:
    """
    One C{key = value} line.  C{filename} and C{line} say where it was really
    written (an included file, a template), so later errors can point there.
    """

    key: str
    value: str
    filename: str
    line: int
    arrow: bool = False  # written with "=>"


@dataclass
class Section:
    """
    One C{[name]} category: entries in file order, inherited entries first.
    Keys may repeat (C{allow=}, C{exten =>}); lookups ignore key case.
    """

    name: str
    entries: list = field(default_factory=list)
    parents: tuple = ()
    isTemplate: bool = False
    filename: str = "<string>"
    line: int = 0

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        """The last value given for C{key}: later lines override earlier ones."""
        lowered = key.lower()
        for entry in reversed(self.entries):
            if entry.key.lower() == lowered:
                return entry.value
        return default

    def getall(self, key: str) -> list:
        """Every value given for C{key}, in order."""
        lowered = key.lower()
        return [e.value for e in self.entries if e.key.lower() == lowered]

    def entry(self, key: str) -> Optional[Entry]:
        """The last L{Entry} for C{key}, to report errors against its line."""
        lowered = key.lower()
        for entry in reversed(self.entries):
            if entry.key.lower() == lowered:
                return entry
        return None

    def items(self) -> list:
        """C{(key, value)} pairs in order, repeats kept."""
        return [(e.key, e.value) for e in self.entries]

    def __contains__(self, key) -> bool:
        if not isinstance(key, str):
            return False
        lowered = key.lower()
        return any(e.key.lower() == lowered for e in self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        # A section with no entries still exists; never let it look absent.
        return True


@dataclass
class Config:
    """
    A parsed file and everything it included.  C{sections} keeps file order
    and duplicate names; templates live apart in C{templates}, keyed by the
    name as written.
    """

    filename: str = "<string>"
    sections: list = field(default_factory=list)
    templates: dict = field(default_factory=dict)

    def section(self, name: str) -> Optional[Section]:
        """The first section called C{name} (any case), or C{None}."""
        lowered = name.lower()
        for section in self.sections:
            if section.name.lower() == lowered:
                return section
        return None

    def getall(self, name: str) -> list:
        """Every section called C{name} (any case), in file order."""
        lowered = name.lower()
        return [s for s in self.sections if s.name.lower() == lowered]

    def sectionNames(self) -> list:
        """Section names in file order, each once (first spelling kept)."""
        seen = set()
        names = []
        for section in self.sections:
            lowered = section.name.lower()
            if lowered not in seen:
                seen.add(lowered)
                names.append(section.name)
        return names

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and self.section(name) is not None

    def __iter__(self) -> Iterator[Section]:
        return iter(self.sections)


def isTrue(value: Optional[str]) -> bool:
    """Asterisk's ast_true: yes, true, y, t, 1, on (any case)."""
    return value is not None and value.strip(_WS).lower() in _TRUE


def isFalse(value: Optional[str]) -> bool:
    """Asterisk's ast_false: no, false, n, f, 0, off (any case)."""
    return value is not None and value.strip(_WS).lower() in _FALSE


def parseText(text: str, filename: str = "<string>") -> Config:
    """
    Parse configuration text.  Relative C{#include}s resolve against the
    directory of C{filename} (the working directory for C{"<string>"}).
    """
    parser = _Parser(filename)
    if not filename.startswith("<"):
        parser.enter(filename, filename, 0)
    parser.parseText(text, filename, None)
    return parser.config


def parseFile(path: str) -> Config:
    """Parse a configuration file and its includes; raises L{ConfigError}."""
    parser = _Parser(path)
    text = parser.readFile(path, path, 0, False)
    parser.enter(path, path, 0)
    parser.parseText(text, path, None)
    return parser.config


class _Parser:
    """
    The state of one parse: the result, a first-by-name index over sections
    and templates (what inheritance and C{(+)} look up, as Asterisk does, in
    file order), and the chain of files being read (for loop detection).
    """

    def __init__(self, filename: str):
        self.config = Config(filename)
        self.byName: dict = {}
        self.templateNames: dict = {}
        self.chain: list = []  # (realpath, display name) of open files

    # -- files -------------------------------------------------------------

    def readFile(self, path: str, filename: str, line: int, tryOnly: bool):
        """
        The text of C{path}, or C{None} for a missing file when C{tryOnly}.
        Errors are reported at C{filename:line} (the #include line, or the
        file itself for the top level).
        """
        where = path if line == 0 else filename
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            if tryOnly:
                return None
            if line == 0:
                raise ConfigError("no such file", path, None)
            raise ConfigError(f"cannot include {path}: no such file", filename, line)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read {path}: {_reason(e)}", where, line or None)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"cannot read {path}: not a regular file", where, line or None)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read {path}: {_reason(e)}", where, line or None)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            badLine = data.count(b"\n", 0, e.start) + 1
            raise ConfigError("text is not valid UTF-8", path, badLine)

    def enter(self, path: str, filename: str, line: int) -> None:
        """Push C{path} on the include chain, refusing loops and deep nests."""
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read {path}: {_reason(e)}", filename, line or None)
        for openReal, _ in self.chain:
            if openReal == real:
                names = " -> ".join([name for _, name in self.chain] + [path])
                raise ConfigError(f"include loop: {names}", filename, line)
        if len(self.chain) >= MAX_INCLUDE_DEPTH:
            raise ConfigError(
                f"includes nested more than {MAX_INCLUDE_DEPTH} deep", filename, line
            )
        self.chain.append((real, path))

    def include(self, argument: str, tryOnly: bool, filename: str, line: int, section):
        """Handle C{#include}/C{#tryinclude} of C{argument} written at filename:line."""
        directive = "#tryinclude" if tryOnly else "#include"
        if "\0" in argument:
            raise ConfigError(f"{directive}: file name contains a NUL byte", filename, line)
        base = "" if filename.startswith("<") else os.path.dirname(filename)
        path = os.path.normpath(os.path.join(base, argument))
        if glob.has_magic(argument):
            pattern = argument
            if not os.path.isabs(argument):
                pattern = os.path.join(glob.escape(base), argument)
            try:
                matches = sorted(os.path.normpath(m) for m in glob.glob(pattern))
            except (OSError, ValueError) as e:
                raise ConfigError(f"{directive} {argument}: {_reason(e)}", filename, line)
            paths = [m for m in matches if os.path.isfile(m)]
            if not paths:
                if tryOnly:
                    return
                raise ConfigError(f"#include {argument}: no file matches", filename, line)
        else:
            paths = [path]
        for path in paths:
            text = self.readFile(path, filename, line, tryOnly)
            if text is None:
                continue
            self.enter(path, filename, line)
            self.parseText(text, path, section)
            self.chain.pop()
        # Back in the including file, which carries on in its own section.

    # -- text --------------------------------------------------------------

    def parseText(self, text: str, filename: str, section) -> None:
        """
        Parse one file's text.  C{section} is where entries go until the
        first header: the includer's current section, or None at top level.
        """
        if text.startswith("\ufeff"):
            text = text[1:]
        ws = _WS
        depth = 0  # block comment nesting
        opened: list = []  # line numbers of open ";--"
        lineno = 0
        for raw in text.split("\n"):
            lineno += 1
            if depth == 0 and ";" not in raw:
                line = raw.strip(ws)
            else:
                line, depth = stripComments(raw, depth, opened, lineno)
                line = line.strip(ws)
            if not line:
                continue
            first = line[0]
            if first == "[":
                section = self._header(line, filename, lineno)
            elif first == "#":
                self._directive(line, filename, lineno, section)
            else:
                eq = line.find("=")
                if eq < 0:
                    raise ConfigError(
                        f"expected key = value, got {_shorten(line)!r}", filename, lineno
                    )
                if section is None:
                    raise ConfigError(
                        "key = value before any [section]", filename, lineno
                    )
                key = line[:eq]
                value = line[eq + 1:]
                arrow = False
                if value[:1] == ">":
                    arrow = True
                    value = value[1:]
                elif key[-1:] == "+":
                    self._append(section, key[:-1].strip(ws), value, filename, lineno)
                    continue
                key = key.strip(ws)
                if not key:
                    raise ConfigError("missing key before '='", filename, lineno)
                section.entries.append(
                    Entry(key, value.strip(ws), filename, lineno, arrow)
                )
        if depth:
            raise ConfigError(
                "block comment ';--' is never closed with '--;'", filename, opened[-1]
            )

    def _append(self, section: Section, key: str, value: str, filename: str, lineno: int):
        """C{key += value}: extend the last value of C{key}, as Asterisk does."""
        if not key:
            raise ConfigError("missing key before '+='", filename, lineno)
        lowered = key.lower()
        entries = section.entries
        for i in range(len(entries) - 1, -1, -1):
            old = entries[i]
            if old.key.lower() == lowered:
                entries[i] = Entry(
                    old.key, (old.value + value).strip(_WS), filename, lineno, old.arrow
                )
                return
        entries.append(Entry(key, value.strip(_WS), filename, lineno, False))

    def _header(self, line: str, filename: str, lineno: int) -> Section:
        close = line.find("]")
        if close < 0:
            raise ConfigError("section header has no closing ']'", filename, lineno)
        name = line[1:close].strip(_WS)
        if not name:
            raise ConfigError("empty section name", filename, lineno)
        rest = line[close + 1:].strip(_WS)
        options: list = []
        if rest:
            if rest[0] != "(" or rest[-1] != ")":
                raise ConfigError(
                    f"unexpected text after [{name}]: {_shorten(rest)!r}", filename, lineno
                )
            inner = rest[1:-1]
            if "(" in inner or ")" in inner:
                raise ConfigError(
                    f"malformed options after [{name}]: {_shorten(rest)!r}", filename, lineno
                )
            options = [o.strip(_WS) for o in inner.split(",")]
            if "" in options:
                raise ConfigError(f"empty option in [{name}]{rest}", filename, lineno)
        isTemplate = "!" in options
        append = "+" in options
        parents = []
        for option in options:
            if option in ("!", "+"):
                continue
            if option[0] == "+":
                raise ConfigError(
                    f"category filters like ({option}) are not supported", filename, lineno
                )
            parents.append(option)

        lowered = name.lower()
        if append:
            section = self.byName.get(lowered)
            if section is None:
                raise ConfigError(
                    f"cannot append to [{name}]: no such section", filename, lineno
                )
            if isTemplate and not section.isTemplate:
                raise ConfigError(
                    f"cannot make the existing section [{name}] a template", filename, lineno
                )
        else:
            if isTemplate and lowered in self.templateNames:
                first = self.templateNames[lowered]
                raise ConfigError(
                    f"template [{name}] is already defined at {first.filename}:{first.line}",
                    filename,
                    lineno,
                )
            section = Section(name, [], (), isTemplate, filename, lineno)

        for parent in parents:
            base = self.byName.get(parent.lower())
            if base is None:
                raise ConfigError(
                    f"[{name}] inherits from template '{parent}', which is not defined",
                    filename,
                    lineno,
                )
            if base is section:
                raise ConfigError(f"[{name}] cannot inherit from itself", filename, lineno)
            section.entries.extend(base.entries)
        if parents:
            section.parents = section.parents + tuple(parents)

        if not append:
            self.byName.setdefault(lowered, section)
            if isTemplate:
                self.templateNames[lowered] = section
                self.config.templates[name] = section
            else:
                self.config.sections.append(section)
        return section

    def _directive(self, line: str, filename: str, lineno: int, section) -> None:
        parts = line[1:].split(None, 1)
        name = parts[0].lower() if parts else ""
        argument = parts[1].strip(_WS) if len(parts) > 1 else ""
        if name in ("exec", "tryexec"):
            raise ConfigError(f"#{name} is disabled", filename, lineno)
        if name not in ("include", "tryinclude"):
            shown = parts[0] if parts else ""
            raise ConfigError(f"unknown directive '#{_shorten(shown)}'", filename, lineno)
        if argument[:1] == '"' or argument[:1] == "<":
            closer = '"' if argument[0] == '"' else ">"
            if len(argument) < 2 or argument[-1] != closer:
                raise ConfigError(
                    f"#{name}: file name {_shorten(argument)} is missing its closing {closer}",
                    filename,
                    lineno,
                )
            argument = argument[1:-1].strip(_WS)
        if not argument:
            raise ConfigError(f"#{name} needs a file name", filename, lineno)
        self.include(argument, name == "tryinclude", filename, lineno, section)


def stripComments(raw: str, depth: int, opened: list, lineno: int):
    """
    Remove comments from one line, given the block comment nesting C{depth}
    at its start; return the kept text and the depth at its end.

    As in Asterisk: C{\\;} is a literal C{;} (the backslash goes), C{;--}
    opens a block comment (but C{;---} is an ordinary comment), C{--;}
    closes one, and any other C{;} outside a block ends the line.
    """
    kept = []
    keepFrom = 0 if depth == 0 else -1
    pos = 0
    find = raw.find
    while True:
        j = find(";", pos)
        if j < 0:
            break
        if j > pos and raw[j - 1] == "\\":
            if depth == 0:
                kept.append(raw[keepFrom:j - 1])
                keepFrom = j
            pos = j + 1
        elif raw.startswith("--", j + 1) and raw[j + 3:j + 4] != "-":
            if depth == 0:
                kept.append(raw[keepFrom:j])
                keepFrom = -1
            depth += 1
            opened.append(lineno)
            pos = j + 3
        elif depth and j >= pos + 2 and raw[j - 2:j] == "--":
            depth -= 1
            opened.pop()
            pos = j + 1
            if depth == 0:
                keepFrom = pos
        elif depth == 0:
            kept.append(raw[keepFrom:j])
            keepFrom = -1
            break
        else:
            pos = j + 1
    if keepFrom >= 0:
        kept.append(raw[keepFrom:])
    return "".join(kept), depth


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
