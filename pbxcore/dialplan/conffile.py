"""
extensions.conf read the way Asterisk's config.c reads it: whatever Asterisk
loads with a warning loads here with the same kind of warning (file:line),
and only what makes Asterisk's reader give up (its C{FILEINVALID}, after
which pbx_config declines to load) raises L{ConfigError}.

Asterisk warns and goes on for::

    a line with no '=' / with no name before '='
    an unknown directive (#foo), #exec (never enabled here), a directive
    with no argument
    a ';--' block comment never closed
    a line longer than Asterisk's 8,191-byte read buffer (skipped)

and refuses the file for::

    a section header with no ']' or options with no ')'
    [name](+) when no [name] exists, inheritance from a missing template
    #include of a file that does not exist (or nests too deep: a loop)
    key = value before any [section], a '\\' escape before a blank

Beyond Asterisk, bytes that are not UTF-8 are read as U+FFFD and noted,
and text after a section header's ']' (which Asterisk drops) is noted.

Pure: files are read for C{#include}; no reactor.  The result is the same
L{Config} (sections, templates, entries with file and line) that
L{pbxcore.config.parseFile} builds, and a list of (file, line, message)
warnings.
"""

from __future__ import annotations

import glob
import os
import stat
from typing import Optional

from pbxcore.config import Config, ConfigError, Entry, Section

__all__ = ["readConfig", "readConfigText", "MAX_LINE_BYTES"]

_WS = " \t\r\n\v\f"

#: Asterisk reads lines with fgets into 8,192 bytes: a line that fills the
#: buffer (8,191 bytes with its newline) is skipped with a warning.
MAX_LINE_BYTES = 8190

#: Asterisk's default maximum #include nesting (asterisk.conf maxinclude).
MAX_INCLUDE_DEPTH = 32


def readConfig(path: str, baseDir: Optional[str] = None):
    """
    Read C{path} and what it includes; return (L{Config}, warnings).
    Relative C{#include}s resolve against C{baseDir} (Asterisk's
    configuration directory; by default the directory of C{path}).
    """
    reader = _Reader(path, os.path.dirname(path) if baseDir is None else baseDir)
    text = reader.readFile(path, path, 0)
    reader.enter(path, path, 0)
    reader.parseText(text, path, None)
    return reader.config, reader.warnings


def readConfigText(text: str, filename: str = "extensions.conf",
                   baseDir: Optional[str] = None):
    """As L{readConfig}, for text already in hand (tests, checks)."""
    reader = _Reader(filename, baseDir if baseDir is not None else
                     os.path.dirname(filename) or ".")
    reader.parseText(text, filename, None)
    return reader.config, reader.warnings


class _Reader:
    """The state of one read: result, warnings, first-by-name index, open files."""

    def __init__(self, filename: str, baseDir: str):
        self.config = Config(filename)
        self.warnings: list = []
        self.baseDir = baseDir
        self.byName: dict = {}
        self.chain: list = []
        self.badLines: dict = {}  # filename -> set of line numbers not UTF-8
        # config.c's cfg->current: the section last begun (or appended to)
        # anywhere; an included file's first lines go there.
        self.current: Optional[Section] = None

    def warn(self, filename: str, line: int, message: str) -> None:
        self.warnings.append((filename, line, message))

    # -- files -------------------------------------------------------------

    def readFile(self, path: str, filename: str, line: int, shown: str = "") -> str:
        """The text of C{path}; errors at the #include line (C{shown} as written)."""
        where = (path, None) if line == 0 else (filename, line)
        shown = shown or path
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            if line == 0:
                raise ConfigError("no such file", path, None) from None
            raise ConfigError(f"the file '{shown}' was listed as a #include but it "
                              "does not exist", filename, line) from None
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"'{shown}' is not a regular file", *where)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ConfigError(f"cannot read {path}: {e.strerror or e}", *where) from None
        return self.decode(data, path)

    def decode(self, data: bytes, path: str) -> str:
        """UTF-8 text; lines that are not are read with U+FFFD and remembered."""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        lines = data.split(b"\n")
        bad = set()
        out = []
        for number, raw in enumerate(lines, 1):
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                bad.add(number)
                out.append(raw.decode("utf-8", "replace"))
        self.badLines[path] = bad
        return "\n".join(out)

    def enter(self, path: str, filename: str, line: int) -> None:
        real = os.path.realpath(path)
        for openReal, _ in self.chain:
            if openReal == real:
                names = " -> ".join([name for _, name in self.chain] + [path])
                raise ConfigError(f"#include loop: {names}", filename, line)
        if len(self.chain) >= MAX_INCLUDE_DEPTH:
            raise ConfigError(f"maximum #include level ({MAX_INCLUDE_DEPTH}) exceeded",
                              filename, line)
        self.chain.append((real, path))

    def include(self, argument: str, tryOnly: bool, filename: str, line: int):
        path = os.path.normpath(os.path.join(self.baseDir, argument))
        if glob.has_magic(argument):
            pattern = argument if os.path.isabs(argument) else os.path.join(
                glob.escape(self.baseDir), argument)
            paths = sorted(os.path.normpath(m) for m in glob.glob(pattern))
            if not paths:
                if tryOnly:
                    return
                raise ConfigError(f"the file '{argument}' was listed as a #include but "
                                  "no file matches it", filename, line)
        else:
            if tryOnly and not os.path.exists(path):
                return
            paths = [path]
        for path in paths:
            text = self.readFile(path, filename, line, argument if len(paths) == 1 else path)
            self.enter(path, filename, line)
            self.parseText(text, path, self.current)
            self.chain.pop()

    # -- text --------------------------------------------------------------

    def parseText(self, text: str, filename: str, section) -> None:
        """
        One file's text; C{section} is where its lines go before its first
        header: for an included file, the section last begun anywhere (as
        config.c does), which the includer itself does not switch to.
        """
        if text.startswith("\ufeff"):
            text = text[1:]
        bad = self.badLines.get(filename, ())
        depth = 0
        opened: list = []
        for lineno, raw in enumerate(text.split("\n"), 1):
            if len(raw.encode("utf-8", "replace")) >= MAX_LINE_BYTES:
                self.warn(filename, lineno, f"line {lineno} too long, skipping. It begins "
                          f"with: {raw[:32]}...")
                continue
            strays: list = []
            line, depth = stripComments(raw, depth, opened, lineno, strays)
            if strays:
                self.warn(filename, lineno, "'--;' with no ';--' block comment open: read "
                          "as a comment here; Asterisk ignores the lines after it")
            line = line.strip(_WS)
            if lineno in bad:
                if "\ufffd" in line:
                    self.warn(filename, lineno, "bytes that are not UTF-8, read as U+FFFD")
                else:
                    self.warn(filename, lineno, "bytes that are not UTF-8 in a comment")
            if not line:
                continue
            section = self.line(line, filename, lineno, section)
        if depth:
            self.warn(filename, opened[-1],
                      f"unterminated comment detected beginning on line {opened[-1]}")

    def line(self, line: str, filename: str, lineno: int, section):
        """One non-empty line; returns the section later lines go to."""
        if line[0] == "[":
            self.current = self.header(line, filename, lineno)
            return self.current
        if line[0] == "#":
            self.directive(line, filename, lineno)
            return section
        if section is None:
            raise ConfigError("parse error: no category context for this line "
                              "(key = value before any [section])", filename, lineno)
        escaped = line[0] == "\\"
        if escaped:
            line = line[1:]
            if not line or ord(line[0]) < 33:
                raise ConfigError("invalid escape: '\\' before a blank", filename, lineno)
        eq = line.find("=", 1 if escaped else 0)
        if eq < 0:
            self.warn(filename, lineno, "no '=' (equal sign) in this line: ignored")
            return section
        key, value, arrow = line[:eq], line[eq + 1:], False
        if key[-1:] == "+" and eq > (1 if escaped else 0):
            self.append(section, key[:-1].strip(_WS), value, filename, lineno)
            return section
        if value[:1] == ">":
            arrow, value = True, value[1:]
        key = key.strip(_WS)
        if not key:
            self.warn(filename, lineno, "no variable name before '=': ignored")
            return section
        section.entries.append(Entry(key, value.strip(_WS), filename, lineno, arrow))
        return section

    def append(self, section: Section, key: str, value: str, filename: str, lineno: int):
        """C{key += value}: extend the last value of C{key}, as Asterisk does."""
        for i in range(len(section.entries) - 1, -1, -1):
            old = section.entries[i]
            if old.key == key:
                section.entries[i] = Entry(old.key, (old.value + value).strip(_WS),
                                           filename, lineno, old.arrow)
                return
        if not key:
            self.warn(filename, lineno, "no variable name before '+=': ignored")
            return
        section.entries.append(Entry(key, value.strip(_WS), filename, lineno, False))

    def header(self, line: str, filename: str, lineno: int) -> Section:
        close = line.find("]")
        if close < 0:
            raise ConfigError("parse error: no closing ']'", filename, lineno)
        name = line[1:close].strip(_WS)
        rest = line[close + 1:]
        options: list = []
        if rest[:1] == "(":
            end = rest.find(")")
            if end < 0:
                raise ConfigError("parse error: no closing ')'", filename, lineno)
            options = [o.strip(_WS) for o in rest[1:end].split(",")]
            rest = rest[end + 1:]
        if rest.strip(_WS):
            self.warn(filename, lineno,
                      f"text after [{name}] ignored: {rest.strip(_WS)[:40]!r}")
        section = Section(name, [], (), "!" in options, filename, lineno)
        target = None
        for option in options:
            if option == "!" or not option:
                continue
            if option[0] == "+":
                target = self.byName.get(name.lower())
                if target is None:
                    raise ConfigError(f"category addition requested, but category "
                                      f"'{name}' does not exist", filename, lineno)
                if option != "+":
                    self.warn(filename, lineno,
                              f"category filter '{option[1:]}' ignored: appending to the "
                              f"first [{name}]")
                continue
            base = self.byName.get(option.lower())
            if base is None:
                raise ConfigError(f"inheritance requested, but category '{option}' "
                                  "does not exist", filename, lineno)
            section.entries.extend(base.entries)
            section.parents += (option,)
        if target is not None:
            target.entries.extend(section.entries)
            target.isTemplate = target.isTemplate or section.isTemplate
            return target
        lowered = name.lower()
        if lowered in self.byName and section.isTemplate:
            first = self.byName[lowered]
            self.warn(filename, lineno, f"[{name}] is defined again; templates inherit "
                      f"from the first, at {first.filename}:{first.line}")
        self.byName.setdefault(lowered, section)
        if section.isTemplate:
            self.config.templates.setdefault(name, section)
        else:
            self.config.sections.append(section)
        return section

    def directive(self, line: str, filename: str, lineno: int) -> None:
        body = line[1:]
        cut = 0
        while cut < len(body) and ord(body[cut]) > 32:
            cut += 1
        name, argument = body[:cut], body[cut:].strip(_WS)
        lowered = name.lower()
        if lowered == "exec":
            self.warn(filename, lineno, "cannot perform #exec: execincludes is not "
                      "supported: ignored")
            return
        if lowered not in ("include", "tryinclude"):
            self.warn(filename, lineno, f"unknown directive '#{name}': ignored")
            return
        if not argument:
            self.warn(filename, lineno, f"directive '#{name}' needs an argument "
                      "(filename): ignored")
            return
        if argument[0] in "\"<":
            closer = '"' if argument[0] == '"' else ">"
            if len(argument) > 1 and argument[-1] == closer:
                argument = argument[1:-1]
        self.include(argument, lowered == "tryinclude", filename, lineno)


def stripComments(raw: str, depth: int, opened: list, lineno: int, strays=None):
    """
    Remove comments from one line given the block comment nesting C{depth}
    at its start; return the kept text and the depth at its end.

    As config.c: C{\\;} is a literal C{;} (the backslash goes), C{;--}
    (not C{;---}) opens a block comment, C{--;} closes one, any other C{;}
    outside a block ends the line. A C{--;} outside a block (which
    config.c takes for a closer, and then skips every later line) is read
    as an ordinary comment and noted in C{strays}.
    """
    if depth == 0 and ";" not in raw:
        return raw, 0
    kept = []
    keepFrom = 0 if depth == 0 else -1
    pos = 0
    while True:
        j = raw.find(";", pos)
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
            if strays is not None and j >= pos + 2 and raw[j - 2:j] == "--":
                strays.append(lineno)
            kept.append(raw[keepFrom:j])
            keepFrom = -1
            break
        else:
            pos = j + 1
    if keepFrom >= 0:
        kept.append(raw[keepFrom:])
    return "".join(kept), depth
