"""
manager.conf, pure: Asterisk's keys turned into frozen settings.

Besides Asterisk's own keys, C{[general]} accepts C{commandformat}:
C{classic} (the default) answers C{Action: Command} with C{Response: Follows}
and C{--END COMMAND--}, as Asterisk did up to 13; C{output} answers with
C{Response: Success} and one C{Output:} header per line, as Asterisk 14 and
later do.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from pbxcore import config as conffile
from pbxcore.guard import GUARD_KEYS, GuardSettings, parseGuardKey

#: The manager classes, Asterisk's names, in Asterisk's order.
CLASSES = (
    "system", "call", "log", "verbose", "command", "agent", "user", "config",
    "dtmf", "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc",
    "test", "security", "message",
)

ALL_CLASSES = frozenset(CLASSES)

DEFAULT_PORT = 5038
DEFAULT_TLS_PORT = 5039


def parseClasses(value: str) -> frozenset[str]:
    """
    A comma list of class names as a frozenset; C{all} means every class,
    C{none} or an empty value none. Unknown names are ignored, as Asterisk does.
    """
    result: set[str] = set()
    for word in value.replace(" ", "").lower().split(","):
        if word == "all":
            result.update(ALL_CLASSES)
        elif word in ALL_CLASSES:
            result.add(word)
    return frozenset(result)


def formatClasses(classes: frozenset[str] | set[str]) -> str:
    """Class names in Asterisk's order, as in C{Privilege: call,all}."""
    return ",".join(c for c in CLASSES if c in classes)


@dataclass(frozen=True)
class ACLRule:
    """One permit= or deny= line."""

    permit: bool
    network: ipaddress.IPv4Network | ipaddress.IPv6Network


def parseNetwork(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """
    C{addr}, C{addr/prefixlen} or C{addr/dotted.mask}; host bits are masked
    away, as Asterisk does.
    """
    value = value.strip()
    addr, sep, mask = value.partition("/")
    if not sep:
        return ipaddress.ip_network(addr, strict=False)
    if "." in mask and ":" not in addr:
        prefix = ipaddress.IPv4Address(mask)
        bits = bin(int(prefix))[2:].zfill(32)
        if "01" in bits:
            raise ValueError(f"non-contiguous netmask {mask!r}")
        return ipaddress.ip_network(f"{addr}/{bits.count('1')}", strict=False)
    return ipaddress.ip_network(f"{addr}/{mask}", strict=False)


@dataclass(frozen=True)
class ACL:
    """
    Asterisk's host access list: every rule is tried in order and the last
    one that matches decides; an address no rule matches is allowed.
    """

    rules: tuple[ACLRule, ...] = ()

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return not self.rules
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        allowed = True
        for rule in self.rules:
            if ip.version == rule.network.version and ip in rule.network:
                allowed = rule.permit
        return allowed


class FilterError(ValueError):
    """An eventfilter that cannot be used; C{kind} is 'compile' or 'format'."""

    def __init__(self, message, kind="format"):
        super().__init__(message)
        self.kind = kind


#: The advanced filters' match methods, both spellings Asterisk documents.
_METHODS = {
    "regex": "regex", "exact": "exact", "starts_with": "starts_with",
    "startswith": "starts_with", "ends_with": "ends_with", "endswith": "ends_with",
    "contains": "contains", "none": "none",
}


@dataclass(frozen=True)
class Matcher:
    """
    One filter: the event name it is limited to (None: any), the header
    whose value it looks at (None: the event's whole text), and how the
    expression is applied.
    """

    name: str | None = None
    header: str | None = None
    method: str = "regex"
    expression: str = ""
    pattern: re.Pattern | None = None

    def matches(self, event) -> bool:
        if self.name is not None and event.name.lower() != self.name:
            return False
        if self.header is not None:
            lowered = self.header
            values = [v for k, v in event.fields if k.lower() == lowered]
            if not values and lowered == "event":
                values = [event.name]
            if not values:
                return False
        elif self.method == "none":
            return True
        else:
            values = [event.text()]
        method = self.method
        if method == "none":
            return True
        expression = self.expression
        for value in values:
            if method == "regex":
                if self.pattern.search(value):
                    return True
            elif method == "exact":
                if value == expression:
                    return True
            elif method == "starts_with":
                if value.startswith(expression):
                    return True
            elif method == "ends_with":
                if value.endswith(expression):
                    return True
            elif expression in value:
                return True
        return False


class TextEvent:
    """An event given as its text, for filters to look at."""

    def __init__(self, text: str):
        self._text = text
        self.fields = tuple(tuple(line.split(": ", 1)) for line in text.split("\r\n")
                            if ": " in line)
        self.name = next((v for k, v in self.fields if k.lower() == "event"), "")

    def text(self) -> str:
        return self._text


def _compile(expression: str) -> re.Pattern:
    try:
        return re.compile(expression)
    except re.error as e:
        raise FilterError(f"bad regular expression: {e}", "compile")


def parseFilter(criteria: str, expression: str) -> tuple[bool, Matcher]:
    """
    One eventfilter as (exclude, Matcher). C{criteria} is what follows
    'eventfilter' in manager.conf: '' for the legacy form (a regular
    expression over the event's text, '!' to exclude), or
    '(action(...),name(...),header(...),method(...))'.
    """
    criteria = criteria.strip()
    if not criteria:
        exclude = expression.startswith("!")
        if exclude:
            expression = expression[1:]
        return exclude, Matcher(expression=expression, pattern=_compile(expression))
    if not (criteria.startswith("(") and criteria.endswith(")")):
        raise FilterError(f"eventfilter{criteria}: criteria must be in parentheses")
    values = {}
    for part in re.findall(r"[^,()]+\([^()]*\)|[^,]+", criteria[1:-1]):
        part = part.strip()
        match = re.fullmatch(r"(action|name|header|method)\(([^()]*)\)", part, re.I)
        if match is None:
            raise FilterError(f"eventfilter: unknown match criterion {part!r}")
        key = match.group(1).lower()
        if key in values:
            raise FilterError(f"eventfilter: {key}() given twice")
        values[key] = match.group(2).strip()
    action = values.get("action", "include").lower()
    if action not in ("include", "exclude"):
        raise FilterError(f"eventfilter: action({action}) must be include or exclude")
    default = "regex" if expression else "none"
    method = _METHODS.get(values.get("method", default).lower())
    if method is None:
        raise FilterError(f"eventfilter: unknown method({values['method']})")
    name = values.get("name") or None
    header = values.get("header") or None
    if header is not None and header.endswith(":"):
        header = header[:-1]
    return action == "exclude", Matcher(
        name.lower() if name else None, header.lower() if header else None, method,
        expression, _compile(expression) if method == "regex" else None)


@dataclass(frozen=True)
class EventFilter:
    """
    Asterisk's eventfilters. With only include filters an event must match
    one; with only exclude filters (legacy C{!regex}, or C{action(exclude)})
    it must match none; with both, it must match an include filter and no
    exclude filter. Legacy filters search the event's text; advanced ones
    look at its name and one header first, so most events are decided
    without formatting them.
    """

    allow: tuple = ()
    deny: tuple = ()

    @classmethod
    def fromStrings(cls, filters) -> "EventFilter":
        """Legacy filters (regular expressions, '!' to exclude)."""
        return cls.fromEntries(("", text) for text in filters)

    @classmethod
    def fromEntries(cls, entries) -> "EventFilter":
        """Filters from (criteria, expression) pairs; raises FilterError."""
        allow, deny = [], []
        for criteria, expression in entries:
            exclude, matcher = parseFilter(criteria, expression)
            (deny if exclude else allow).append(matcher)
        return cls(tuple(allow), tuple(deny))

    def adding(self, criteria: str, expression: str) -> "EventFilter":
        """This filter with one more (the Filter action)."""
        exclude, matcher = parseFilter(criteria, expression)
        if exclude:
            return EventFilter(self.allow, self.deny + (matcher,))
        return EventFilter(self.allow + (matcher,), self.deny)

    def __bool__(self) -> bool:
        return bool(self.allow or self.deny)

    def passes(self, event) -> bool:
        """Whether C{event} (name, fields, text(); or an event's text) gets through."""
        if isinstance(event, str):
            event = TextEvent(event)
        if self.allow and not any(m.matches(event) for m in self.allow):
            return False
        if self.deny and any(m.matches(event) for m in self.deny):
            return False
        return True


@dataclass(frozen=True)
class ManagerUser:
    """One user section of manager.conf."""

    username: str
    secret: str | None = None
    acl: ACL = ACL()
    readClasses: frozenset[str] = frozenset()
    writeClasses: frozenset[str] = frozenset()
    eventFilter: EventFilter = EventFilter()
    writeTimeout: float = 0.1
    displayConnects: bool | None = None


@dataclass(frozen=True)
class ManagerSettings:
    """The whole of manager.conf."""

    enabled: bool = False
    port: int = DEFAULT_PORT
    bindAddr: str = "0.0.0.0"
    tlsEnable: bool = False
    tlsBindAddr: str = "0.0.0.0"
    tlsPort: int = DEFAULT_TLS_PORT
    tlsCertFile: str | None = None
    tlsPrivateKey: str | None = None
    authTimeout: float = 30.0
    authLimit: int = 50
    displayConnects: bool = True
    timestampEvents: bool = False
    commandFormat: str = "classic"
    users: dict = field(default_factory=dict)
    # Brute-force protection of Login (authfailures, authfailurewindow,
    # authblocktime, authblockmax, authpermit): see pbxcore.guard.
    guard: GuardSettings = GuardSettings()

    def user(self, name: str | None) -> ManagerUser | None:
        """The user named C{name}, case-insensitively, or None."""
        if not name:
            return None
        return self.users.get(name.lower())


def _error(entry, message: str) -> conffile.ConfigError:
    return conffile.ConfigError(message, entry.filename, entry.line)


def _int(entry, low: int = 0, high: int | None = None) -> int:
    try:
        value = int(entry.value.strip())
    except ValueError:
        raise _error(entry, f"{entry.key} must be a number, not {entry.value!r}")
    if value < low or (high is not None and value > high):
        raise _error(entry, f"{entry.key}={value} is out of range")
    return value


def _bool(entry) -> bool:
    if conffile.isTrue(entry.value):
        return True
    if conffile.isFalse(entry.value):
        return False
    raise _error(entry, f"{entry.key} must be yes or no, not {entry.value!r}")


def _hostPort(entry, defaultPort: int) -> tuple[str, int]:
    value = entry.value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise _error(entry, f"{entry.key}: {host!r} is not an IP address")
    if not port:
        return host, defaultPort
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise _error(entry, f"{entry.key}: bad port {port!r}")
    return host, int(port)


def _general(section, values: dict) -> None:
    for entry in section.entries:
        key = entry.key.lower()
        if key == "enabled":
            values["enabled"] = _bool(entry)
        elif key == "port":
            values["port"] = _int(entry, 0, 65535)
        elif key == "bindaddr":
            values["bindAddr"] = _hostPort(entry, DEFAULT_PORT)[0]
        elif key == "tlsenable":
            values["tlsEnable"] = _bool(entry)
        elif key == "tlsbindaddr":
            values["tlsBindAddr"], values["tlsPort"] = _hostPort(entry, DEFAULT_TLS_PORT)
        elif key == "tlscertfile":
            values["tlsCertFile"] = entry.value.strip()
        elif key == "tlsprivatekey":
            values["tlsPrivateKey"] = entry.value.strip()
        elif key == "authtimeout":
            values["authTimeout"] = float(_int(entry, 1))
        elif key == "authlimit":
            values["authLimit"] = _int(entry, 1)
        elif key == "displayconnects":
            values["displayConnects"] = _bool(entry)
        elif key == "timestampevents":
            values["timestampEvents"] = _bool(entry)
        elif key in GUARD_KEYS:
            guardValues = dict(values.get("_guard", {}))
            try:
                parseGuardKey(guardValues, key, entry.value)
            except ValueError as e:
                raise _error(entry, str(e)) from None
            values["_guard"] = guardValues
        elif key == "commandformat":
            fmt = entry.value.strip().lower()
            if fmt not in ("classic", "output"):
                raise _error(entry, "commandformat must be classic or output")
            values["commandFormat"] = fmt


def _user(section) -> ManagerUser:
    secret = None
    rules: list[ACLRule] = []
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    filters: list[str] = []
    writeTimeout = 0.1
    displayConnects = None
    for entry in section.entries:
        key = entry.key.lower()
        if key == "secret":
            secret = entry.value
        elif key in ("permit", "deny"):
            try:
                network = parseNetwork(entry.value)
            except ValueError as e:
                raise _error(entry, f"{key}: {e}")
            rules.append(ACLRule(key == "permit", network))
        elif key == "read":
            read = parseClasses(entry.value)
        elif key == "write":
            write = parseClasses(entry.value)
        elif key == "eventfilter" or key.startswith("eventfilter("):
            criteria = entry.key.strip()[len("eventfilter"):]
            try:
                parseFilter(criteria, entry.value)
            except FilterError as e:
                raise _error(entry, str(e))
            filters.append((criteria, entry.value))
        elif key == "writetimeout":
            writeTimeout = _int(entry, 100) / 1000.0
        elif key == "displayconnects":
            displayConnects = _bool(entry)
    return ManagerUser(
        username=section.name, secret=secret, acl=ACL(tuple(rules)),
        readClasses=read, writeClasses=write,
        eventFilter=EventFilter.fromEntries(filters),
        writeTimeout=writeTimeout, displayConnects=displayConnects)


def fromConfig(cfg) -> ManagerSettings:
    """Settings from a parsed L{pbxcore.config.Config}; raises ConfigError."""
    values: dict = {}
    users: dict[str, ManagerUser] = {}
    for section in cfg.sections:
        if section.name.lower() == "general":
            _general(section, values)
        else:
            user = _user(section)
            users.setdefault(user.username.lower(), user)
    guardValues = values.pop("_guard", None)
    if guardValues:
        values["guard"] = GuardSettings(**guardValues)
    return ManagerSettings(users=users, **values)


def parseManagerConf(text: str, filename: str = "manager.conf") -> ManagerSettings:
    """Parse manager.conf text; raises ConfigError with file:line."""
    return fromConfig(conffile.parseText(text, filename))


def loadManagerConf(path: str) -> ManagerSettings:
    """Parse manager.conf from disk; raises ConfigError with file:line."""
    return fromConfig(conffile.parseFile(path))
