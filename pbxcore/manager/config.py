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


@dataclass(frozen=True)
class EventFilter:
    """
    Asterisk's eventfilter: regular expressions searched in the event's text.
    With only allow filters an event must match one; with only deny
    filters (written C{!regex}) it must match none; with both, it must match
    an allow filter and no deny filter.
    """

    allow: tuple[re.Pattern, ...] = ()
    deny: tuple[re.Pattern, ...] = ()

    @classmethod
    def fromStrings(cls, filters) -> "EventFilter":
        allow, deny = [], []
        for text in filters:
            if text.startswith("!"):
                deny.append(re.compile(text[1:]))
            else:
                allow.append(re.compile(text))
        return cls(tuple(allow), tuple(deny))

    def __bool__(self) -> bool:
        return bool(self.allow or self.deny)

    def passes(self, text: str) -> bool:
        if self.allow and not any(p.search(text) for p in self.allow):
            return False
        if self.deny and any(p.search(text) for p in self.deny):
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
        elif key == "eventfilter":
            try:
                re.compile(entry.value.lstrip("!"))
            except re.error as e:
                raise _error(entry, f"eventfilter: bad regular expression: {e}")
            filters.append(entry.value)
        elif key == "writetimeout":
            writeTimeout = _int(entry, 100) / 1000.0
        elif key == "displayconnects":
            displayConnects = _bool(entry)
    return ManagerUser(
        username=section.name, secret=secret, acl=ACL(tuple(rules)),
        readClasses=read, writeClasses=write,
        eventFilter=EventFilter.fromStrings(filters),
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
    return ManagerSettings(users=users, **values)


def parseManagerConf(text: str, filename: str = "manager.conf") -> ManagerSettings:
    """Parse manager.conf text; raises ConfigError with file:line."""
    return fromConfig(conffile.parseText(text, filename))


def loadManagerConf(path: str) -> ManagerSettings:
    """Parse manager.conf from disk; raises ConfigError with file:line."""
    return fromConfig(conffile.parseFile(path))
