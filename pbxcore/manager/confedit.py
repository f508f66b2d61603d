"""
Asterisk .conf files as the manager's config actions see and edit them, pure.

A file is read into a L{ConfigFile}: documents (the file and every file it
C{#include}s inside the configuration folder) holding categories, variables
and the lines around them. Edits (UpdateConfig's NewCat, RenameCat, DelCat,
EmptyCat, Update, Delete, Append, Insert) change only the lines they touch:
comments, blank lines, C{#include}s and untouched variables are written back
byte for byte, as the administrator wrote them.

What a client sees follows Asterisk's config.c: categories in load order
(C{#include}s of files in the configuration folder expanded where they
stand; files elsewhere are not read), template categories hidden unless a
filter says C{TEMPLATES=include}, a category's inherited variables before
its own, C{[name](+)} continuations merged into the first category of that
name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from pbxcore.config import stripComments

_WS = " \t\r"


class EditError(Exception):
    """An edit Asterisk refuses; C{str()} is the manager's message."""


#: UpdateConfig's error messages, Asterisk's wording (manager.c).
UNKNOWN_ACTION = "Unknown action command"
UNKNOWN_CATEGORY = "Given category does not exist"
UNSPECIFIED_CATEGORY = "Category not specified"
UNSPECIFIED_ARGUMENT = "Problem with category, value, or line (if required)"
FAILURE_NEWCAT = "Create category did not complete successfully"
FAILURE_DELCAT = "Delete category did not complete successfully"
FAILURE_EMPTYCAT = "Empty category did not complete successfully"
FAILURE_UPDATE = "Update did not complete successfully"
FAILURE_DELETE = "Delete did not complete successfully"
FAILURE_APPEND = "Append did not complete successfully"
FAILURE_TEMPLATE = "Template category not found"

#: Asterisk stops reading Action-XXXXXX headers here.
MAX_UPDATES = 100000


def escapeValue(value: str) -> str:
    """A value as written in a file: a literal ';' is '\\;'."""
    return value.replace(";", "\\;")


@dataclass(eq=False)
class Raw:
    """A line that is not a variable: blank, comment, directive."""

    text: str
    include: Optional[str] = None


@dataclass(eq=False)
class Var:
    """
    One C{name = value} (C{=>} when C{arrow}). C{raw} is the line as written,
    None once changed; C{prefix}/C{suffix} keep its layout and comment.
    """

    name: str
    value: str
    arrow: bool = False
    raw: Optional[str] = None
    prefix: str = ""
    suffix: str = ""
    inherited: bool = False

    def render(self) -> str:
        if self.raw is not None:
            return self.raw
        if self.prefix:
            prefix = self.prefix
            if self.arrow and "=>" not in prefix:
                prefix = prefix.replace("=", "=>", 1)
            return prefix + escapeValue(self.value) + self.suffix
        return f"{self.name} {'=>' if self.arrow else '='} {escapeValue(self.value)}{self.suffix}"

    def setValue(self, value: str, arrow: bool = False) -> None:
        self.value = value
        self.arrow = self.arrow or arrow
        self.raw = None


@dataclass(eq=False)
class Category:
    """One C{[name](options)} header and the lines up to the next."""

    name: str
    doc: "Document"
    template: bool = False
    parents: list = field(default_factory=list)
    plus: bool = False
    raw: Optional[str] = None
    items: list = field(default_factory=list)

    def ownVars(self) -> list:
        return [item for item in self.items if isinstance(item, Var)]

    def header(self) -> str:
        if self.raw is not None:
            return self.raw
        options = (["!"] if self.template else []) + (["+"] if self.plus else []) \
            + list(self.parents)
        return f"[{self.name}]" + (f"({','.join(options)})" if options else "")

    def rename(self, name: str) -> None:
        if self.raw is not None:
            close = self.raw.find("]")
            start = self.raw.find("[")
            self.raw = self.raw[:start + 1] + name + self.raw[close:]
        self.name = name
        self.doc.changed = True

    def appendVar(self, var: Var) -> None:
        last = max((i for i, item in enumerate(self.items)
                    if isinstance(item, Var) or item.text.lstrip().startswith("#")),
                   default=-1)
        self.items.insert(last + 1, var)
        self.doc.changed = True


@dataclass(eq=False)
class Document:
    """One file's lines: what precedes the first header, then its categories."""

    path: str
    head: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    newline: str = "\n"
    finalNewline: bool = True
    changed: bool = False
    writable: bool = True

    def render(self) -> str:
        lines = [item.text if isinstance(item, Raw) else item.render()
                 for item in self.head]
        for category in self.categories:
            lines.append(category.header())
            lines.extend(item.text if isinstance(item, Raw) else item.render()
                         for item in category.items)
        text = self.newline.join(lines)
        if lines and (self.finalNewline or self.changed):
            text += self.newline
        return text


def _header(text: str, doc: Document, raw: str) -> Category:
    close = text.find("]")
    if close < 0:
        raise EditError(f"{doc.path}: section header has no closing ']'")
    name = text[1:close].strip(_WS)
    rest = text[close + 1:].strip(_WS)
    options = []
    if rest.startswith("(") and rest.endswith(")"):
        options = [o.strip(_WS) for o in rest[1:-1].split(",") if o.strip(_WS)]
    parents = [o for o in options if o not in ("!", "+")]
    return Category(name, doc, "!" in options, parents, "+" in options, raw)


def _commentStart(raw: str) -> int:
    """Where a trailing ';' comment starts in C{raw}, or -1."""
    pos = 0
    while True:
        j = raw.find(";", pos)
        if j < 0:
            return -1
        if j > 0 and raw[j - 1] == "\\":
            pos = j + 1
            continue
        return j


def _var(text: str, raw: str) -> Var:
    eq = text.find("=")
    key = text[:eq].strip(_WS)
    value = text[eq + 1:]
    arrow = value.startswith(">")
    if arrow:
        value = value[1:]
    value = value.strip(_WS)
    if key.endswith("+"):
        # 'key += value' stays as written; it is shown under its key.
        return Var(key[:-1].strip(_WS), value, arrow, raw)
    rawEq = raw.find("=")
    valueStart = rawEq + (2 if arrow else 1)
    while valueStart < len(raw) and raw[valueStart] in " \t":
        valueStart += 1
    comment = _commentStart(raw)
    suffix = ""
    if comment >= 0:
        cut = comment
        while cut > valueStart and raw[cut - 1] in " \t":
            cut -= 1
        suffix = raw[cut:]
    elif raw.endswith("\r"):
        suffix = "\r"
    return Var(key, value, arrow, raw, raw[:valueStart], suffix)


def _directive(text: str) -> Optional[str]:
    parts = text[1:].split(None, 1)
    if not parts or parts[0].lower() not in ("include", "tryinclude") or len(parts) < 2:
        return None
    argument = parts[1].strip(_WS)
    if argument[:1] in ('"', "<") and len(argument) >= 2:
        argument = argument[1:-1].strip(_WS)
    return argument or None


def parseDocument(text: str, path: str) -> Document:
    """One file's text as a L{Document}; raises L{EditError} on a bad line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    newline = "\r\n" if "\r\n" in text else "\n"
    doc = Document(path, newline=newline, finalNewline=text.endswith("\n") or not text)
    lines = text.split(newline)
    if lines and lines[-1] == "":
        lines.pop()
    current = None
    depth = 0
    opened: list = []
    for lineno, raw in enumerate(lines, 1):
        stripped, depth = stripComments(raw, depth, opened, lineno)
        stripped = stripped.strip(_WS)
        target = doc.head if current is None else current.items
        if not stripped:
            target.append(Raw(raw))
        elif stripped[0] == "[":
            current = _header(stripped, doc, raw)
            doc.categories.append(current)
        elif stripped[0] == "#":
            target.append(Raw(raw, _directive(stripped)))
        elif "=" in stripped:
            target.append(_var(stripped, raw))
        else:
            raise EditError(f"{path}:{lineno}: expected key = value")
    return doc


class ConfigFile:
    """
    A file and its includes, open for reading and editing. C{read(path)}
    returns a file's text or None when it does not exist; C{inside(path)}
    says whether a file lies in the configuration folder: included files
    elsewhere are neither read nor written.
    """

    def __init__(self, path: str, read: Callable[[str], Optional[str]],
                 inside: Callable[[str], bool]):
        self.path = path
        self._read = read
        self._inside = inside
        self.documents: dict = {}
        text = read(path)
        if text is None:
            raise FileNotFoundError(path)
        self.main = self._load(path, text, [])

    def _load(self, path: str, text: str, chain: list) -> Document:
        doc = parseDocument(text, path)
        doc.writable = self._inside(path)
        self.documents[path] = doc
        chain = chain + [path]
        for item in self._includes(doc):
            child = os.path.normpath(os.path.join(os.path.dirname(path), item.include))
            if child in chain or child in self.documents or "*" in child or "?" in child:
                continue
            if not self._inside(child):
                # Never read outside the configuration folder: the
                # #include line stays, its categories are not shown.
                continue
            childText = self._read(child)
            if childText is not None:
                self._load(child, childText, chain)
        return doc

    @staticmethod
    def _includes(doc: Document) -> Iterator[Raw]:
        for item in doc.head:
            if isinstance(item, Raw) and item.include:
                yield item
        for category in doc.categories:
            for item in category.items:
                if isinstance(item, Raw) and item.include:
                    yield item

    def _included(self, doc: Document, item: Raw) -> Optional[Document]:
        child = os.path.normpath(os.path.join(os.path.dirname(doc.path), item.include))
        return self.documents.get(child)

    def _walk(self, doc: Document, seen: set) -> Iterator[Category]:
        if doc.path in seen:
            return
        seen.add(doc.path)
        for item in doc.head:
            if isinstance(item, Raw) and item.include:
                child = self._included(doc, item)
                if child is not None:
                    yield from self._walk(child, seen)
        for category in doc.categories:
            yield category
            for item in category.items:
                if isinstance(item, Raw) and item.include:
                    child = self._included(doc, item)
                    if child is not None:
                        yield from self._walk(child, seen)

    def categories(self) -> list:
        """Every category part in load order, C{(+)} continuations included."""
        return list(self._walk(self.main, set()))

    # -- the loaded view -------------------------------------------------------------

    def merged(self) -> list:
        """
        Categories as Asterisk loads them: C{(+)} parts merged into the first
        of their name; each a (Category, variables) pair, inherited first.
        """
        result = []
        byName: dict = {}
        for category in self.categories():
            lowered = category.name.lower()
            if category.plus and lowered in byName:
                byName[lowered][1].extend(category.ownVars())
                continue
            variables = []
            for parent in category.parents:
                base = byName.get(parent.lower())
                if base is not None:
                    variables.extend(Var(v.name, v.value, v.arrow, inherited=True)
                                     for v in base[1])
            variables.extend(category.ownVars())
            entry = (category, variables)
            byName.setdefault(lowered, entry)
            result.append(entry)
        return result

    def browse(self, name: Optional[str] = None, match: Optional[str] = None) -> list:
        """(Category, variables) pairs Asterisk's ast_category_browse_filtered gives."""
        return [entry for entry in self.merged() if categoryMatches(entry, name, match)]

    # -- writing -------------------------------------------------------------------------

    def changedDocuments(self, destination: Optional[str] = None) -> list:
        """(path, text) to write; the main file goes to C{destination}."""
        out = []
        for path, doc in self.documents.items():
            if doc is self.main:
                if doc.changed or (destination and destination != self.path):
                    out.append((destination or path, doc.render()))
            elif doc.changed:
                out.append((path, doc.render()))
        return out


def categoryMatches(entry, name: Optional[str], match: Optional[str]) -> bool:
    """
    Asterisk's does_category_match: the name (any case) and every
    C{name_regex=value_regex} of C{match}; templates only with
    C{TEMPLATES=include} (or only them with C{TEMPLATES=restrict}).
    """
    category, variables = entry
    if name and category.name.lower() != name.lower():
        return False
    if not match:
        return not category.template
    found = expressions = 0
    templateOK = False
    for part in match.split(","):
        part = part.strip()
        expressions += 1
        key, sep, value = part.partition("=")
        if not sep:
            break
        key, value = key.strip(), value.strip()
        if key == "TEMPLATES":
            if value.lower() == "include":
                templateOK = templateOK or category.template
                found += 1
            elif value.lower() == "restrict" and category.template:
                found += 1
                templateOK = True
            continue
        try:
            keyPattern, valuePattern = re.compile(key), re.compile(value)
        except re.error:
            continue
        if any(keyPattern.search(v.name) and valuePattern.search(v.value) for v in variables):
            found += 1
    return found == expressions and (not category.template or templateOK)


# -- UpdateConfig ---------------------------------------------------------------------------

@dataclass
class Update:
    """One numbered change of an UpdateConfig request."""

    action: str
    cat: str
    var: str = ""
    value: str = ""
    match: str = ""
    line: str = ""
    options: str = ""


def updatesFrom(get: Callable[[str], Optional[str]]) -> list:
    """
    The numbered C{Action-XXXXXX} changes of a request, up to the first
    number missing; raises EditError when one has no category.
    """
    updates = []
    for n in range(MAX_UPDATES):
        action = get(f"Action-{n:06d}")
        if not action or not action.strip():
            break
        cat = get(f"Cat-{n:06d}") or ""
        if not cat.strip():
            raise EditError(UNSPECIFIED_CATEGORY)
        updates.append(Update(action.strip(), cat.strip(),
                              *((get(f"{k}-{n:06d}") or "").strip()
                                for k in ("Var", "Value", "Match", "Line", "Options"))))
    return updates


def _options(text: str) -> dict:
    options = {"allowdups": False, "template": False, "ignoreerror": False,
               "inherit": "", "catfilter": ""}
    for token in text.split(","):
        token = token.strip()
        lowered = token.lower()
        if lowered in ("allowdups", "template", "ignoreerror"):
            options[lowered] = True
        elif lowered.startswith("inherit") or lowered.startswith("catfilter"):
            key, _, value = token.partition("=")
            options[key.strip().lower()] = value.strip()
    return options


def applyUpdates(config: ConfigFile, updates: list) -> None:
    """Apply C{updates} in order; the first that fails raises EditError."""
    for update in updates:
        _apply(config, update)


def _apply(config: ConfigFile, u: Update) -> None:
    options = _options(u.options)
    value, isObject = u.value, False
    if value.startswith(">"):
        value, isObject = value[1:], True
    action = u.action.lower()
    handler = _HANDLERS.get(action)
    if handler is None:
        raise EditError(UNKNOWN_ACTION)
    if action == "newcat":
        _newCat(config, u, options)
        return
    matches = config.browse(u.cat, options["catfilter"] or None)
    handler(config, u, options, matches, value, isObject)


def _writable(doc: Document) -> None:
    if not doc.writable:
        raise EditError("File requires escalated privileges")


def _newCat(config: ConfigFile, u: Update, options: dict) -> None:
    if not options["allowdups"] and config.browse(u.cat, "TEMPLATES=include"):
        if options["ignoreerror"]:
            return
        raise EditError(FAILURE_NEWCAT)
    parents = [p.strip() for p in options["inherit"].split(",") if p.strip()]
    for parent in parents:
        if not config.browse(parent, "TEMPLATES=restrict"):
            raise EditError(FAILURE_TEMPLATE)
    if u.match:
        before = [c for c in config.categories() if c.name.lower() == u.match.lower()]
        if not before:
            raise EditError(FAILURE_NEWCAT)
        doc = before[0].doc
        _writable(doc)
        category = Category(u.cat, doc, options["template"], parents)
        doc.categories.insert(doc.categories.index(before[0]), category)
    else:
        doc = config.main
        _writable(doc)
        category = Category(u.cat, doc, options["template"], parents)
        doc.categories.append(category)
    doc.changed = True


def _found(matches: list) -> None:
    if not matches:
        raise EditError(UNKNOWN_CATEGORY)
    for category, _ in matches:
        _writable(category.doc)


def _renameCat(config, u, options, matches, value, isObject):
    if not value:
        raise EditError(UNSPECIFIED_ARGUMENT)
    _found(matches)
    for category, _ in matches:
        category.rename(value)


def _delCat(config, u, options, matches, value, isObject):
    if not matches:
        if options["ignoreerror"]:
            return
        raise EditError(UNKNOWN_CATEGORY)
    _found(matches)
    lowered = u.cat.lower()
    for category, _ in matches:
        for part in [c for c in config.categories() if c.name.lower() == lowered
                     and (c is category or c.plus)]:
            _writable(part.doc)
            part.doc.categories.remove(part)
            part.doc.changed = True


def _parts(config: ConfigFile, category: Category) -> list:
    lowered = category.name.lower()
    return [category] + [c for c in config.categories()
                         if c is not category and c.plus and c.name.lower() == lowered]


def _emptyCat(config, u, options, matches, value, isObject):
    _found(matches)
    for category, _ in matches:
        for part in _parts(config, category):
            part.items = [item for item in part.items if not isinstance(item, Var)]
            part.doc.changed = True


def _owner(config: ConfigFile, category: Category, var: Var) -> Category:
    for part in _parts(config, category):
        if any(item is var for item in part.items):
            return part
    return category


def _update(config, u, options, matches, value, isObject):
    if not u.var:
        raise EditError(UNSPECIFIED_ARGUMENT)
    _found(matches)
    updated = False
    for category, variables in matches:
        candidates = [v for v in variables if not v.inherited
                      and v.name.lower() == u.var.lower()
                      and (not u.match or v.value.lower() == u.match.lower())]
        if candidates:
            var = candidates[-1]
            var.setValue(value, isObject)
            _owner(config, category, var).doc.changed = True
            updated = True
    if not updated:
        raise EditError(FAILURE_UPDATE)


def _delete(config, u, options, matches, value, isObject):
    if not u.var and not u.line:
        raise EditError(UNSPECIFIED_ARGUMENT)
    _found(matches)
    index = -1
    if u.line:
        try:
            index = int(u.line)
        except ValueError:
            index = -2
    deleted = False
    for category, variables in matches:
        if index == -2:
            continue
        for n, var in enumerate(variables):
            hit = n == index if index >= 0 else (
                var.name.lower() == u.var.lower()
                and (not u.match or var.value.lower() == u.match.lower()))
            if not hit:
                continue
            deleted = True
            if var.inherited:
                continue
            owner = _owner(config, category, var)
            owner.items = [item for item in owner.items if item is not var]
            owner.doc.changed = True
    if not deleted and not options["ignoreerror"]:
        raise EditError(FAILURE_DELETE)


def _append(config, u, options, matches, value, isObject):
    if not u.var:
        raise EditError(UNSPECIFIED_ARGUMENT)
    _found(matches)
    arrow = isObject or u.match.lower() == "object"
    for category, _ in matches:
        parts = _parts(config, category)
        parts[-1].appendVar(Var(u.var, value, arrow))


def _insert(config, u, options, matches, value, isObject):
    if not u.var or not u.line:
        raise EditError(UNSPECIFIED_ARGUMENT)
    try:
        position = int(u.line)
    except ValueError:
        return
    _found(matches)
    for category, variables in matches:
        var = Var(u.var, value, isObject)
        own = category.ownVars()
        if position <= 0 or not own:
            anchor = None
        else:
            wanted = variables[min(position, len(variables)) - 1]
            anchor = wanted if any(wanted is v for v in own) else None
        if anchor is None:
            first = next((i for i, item in enumerate(category.items)
                          if isinstance(item, Var)), len(category.items))
            category.items.insert(first, var)
        else:
            category.items.insert(category.items.index(anchor) + 1, var)
        category.doc.changed = True


_HANDLERS = {
    "newcat": _newCat,
    "renamecat": _renameCat,
    "delcat": _delCat,
    "emptycat": _emptyCat,
    "update": _update,
    "delete": _delete,
    "append": _append,
    "insert": _insert,
}
