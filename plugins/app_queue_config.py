"""
queues.conf (Asterisk's app_queue configuration), PURE: the text of the
file goes in, queue settings and static members come out; a bad value is a
ConfigError with file:line.

    [general]
    persistentmembers = yes       ; dynamic members kept in astdb (Queue/PersistentMembers)

    [support]
    strategy = ringall            ; ringall leastrecent fewestcalls random rrmemory linear wrandom
    timeout = 15                  ; seconds each attempt rings a member
    retry = 5                     ; seconds before the next round of attempts
    wrapuptime = 0                ; seconds a member rests after a call
    maxlen = 0                    ; callers waiting at most (0: no limit)
    joinempty = yes               ; yes, no, strict, loose or a list of
    leavewhenempty = no           ;   paused,penalty,inuse,ringing,unavailable,invalid,unknown,wrapup
    ringinuse = no                ; ring members whose device is in use
    musicclass = default
    announce-frequency = 0        ; seconds between position/hold-time announcements
    announce-position = yes
    announce-holdtime = no        ; yes, no or once
    member => SIP/1001,0,Alice    ; interface[,penalty[,membername[,state_interface[,ringinuse]]]]
"""

from dataclasses import dataclass, field, replace

from pbxcore.config import ConfigError

STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered",
              "linear", "wrandom")
EMPTY_WORDS = ("paused", "penalty", "inuse", "ringing", "unavailable", "invalid", "unknown",
               "wrapup")
_TRUE = ("yes", "true", "y", "t", "1", "on")
_FALSE = ("no", "false", "n", "f", "0", "off")


@dataclass(frozen=True)
class MemberConfig:
    """A static member (member => ...)."""

    interface: str
    penalty: int = 0
    membername: str = ""
    stateinterface: str = ""
    ringinuse: object = None  # None: the queue's setting

    @property
    def name(self):
        return self.membername or self.interface


@dataclass(frozen=True)
class QueueConfig:
    """One [queue] section."""

    name: str
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 5.0
    wrapuptime: float = 0.0
    maxlen: int = 0
    weight: int = 0
    joinempty: frozenset = frozenset()
    leavewhenempty: frozenset = frozenset()
    ringinuse: bool = True
    musicclass: str = "default"
    announceFrequency: float = 0.0
    announcePosition: bool = True
    announceHoldtime: str = "no"
    servicelevel: int = 0
    context: str = ""
    members: tuple = field(default_factory=tuple)


def parseEmpty(value, joinempty=True):
    """Asterisk's parse_empty_options: the set of conditions that count a member out."""
    text = value.strip().lower()
    if text == "loose":
        return frozenset(("penalty", "invalid"))
    if text == "strict":
        return frozenset(("penalty", "invalid", "paused", "unavailable"))
    if (text in _FALSE and joinempty) or (text in _TRUE and not joinempty):
        return frozenset(("penalty", "invalid", "paused"))
    if text in _TRUE or text in _FALSE:
        return frozenset()
    words = {w.strip() for w in text.split(",") if w.strip()}
    bad = words - set(EMPTY_WORDS)
    if bad:
        raise ValueError(f"unknown condition {sorted(bad)[0]!r}")
    return frozenset(words)


def parseMember(text):
    """A MemberConfig from 'interface[,penalty[,membername[,state_interface[,ringinuse]]]]'."""
    parts = [p.strip() for p in text.split(",")]
    interface = parts[0] if parts else ""
    if "/" not in interface:
        raise ValueError(f"member interface {interface!r} is not TECH/resource")
    penalty = 0
    if len(parts) > 1 and parts[1]:
        penalty = int(parts[1])
        if penalty < 0:
            raise ValueError("penalty is negative")
    ringinuse = None
    if len(parts) > 4 and parts[4]:
        ringinuse = parts[4].lower() in _TRUE
    return MemberConfig(interface, penalty, parts[2] if len(parts) > 2 else "",
                        parts[3] if len(parts) > 3 else "", ringinuse)


def _number(entry, value, kind=float):
    try:
        result = kind(value)
    except ValueError:
        raise ConfigError(f"{entry.key}: {value!r} is not a number", entry.filename, entry.line)
    if result < 0:
        raise ConfigError(f"{entry.key}: {value!r} is negative", entry.filename, entry.line)
    return result


_NUMBERS = {"timeout": ("timeout", float), "retry": ("retry", float),
            "wrapuptime": ("wrapuptime", float), "maxlen": ("maxlen", int),
            "weight": ("weight", int), "announce-frequency": ("announceFrequency", float),
            "servicelevel": ("servicelevel", int)}


def _setting(key, value, entry):
    """(field, value) of one queue setting, None for a key this module ignores."""
    if key in _NUMBERS:
        name, kind = _NUMBERS[key]
        return name, _number(entry, value, kind)
    if key == "strategy":
        if value.lower() not in STRATEGIES:
            raise ConfigError(f"strategy: {value!r} is not one of {', '.join(STRATEGIES)}",
                              entry.filename, entry.line)
        return "strategy", value.lower()
    if key in ("joinempty", "leavewhenempty"):
        try:
            return key, parseEmpty(value, key == "joinempty")
        except ValueError as e:
            raise ConfigError(f"{key}: {e}", entry.filename, entry.line)
    if key == "ringinuse":
        return "ringinuse", value.lower() in _TRUE
    if key in ("musicclass", "musiconhold"):
        return "musicclass", value or "default"
    if key == "announce-position":
        return "announcePosition", value.lower() in _TRUE
    if key == "announce-holdtime":
        return "announceHoldtime", "once" if value.lower() == "once" else (
            "yes" if value.lower() in _TRUE else "no")
    if key == "context":
        return "context", value
    return None


def parseQueue(name, entries, base=None):
    """A QueueConfig for section C{name} from its entries."""
    changes = {}
    members = []
    for entry in entries:
        key = entry.key.lower()
        value = (entry.value or "").strip()
        if key == "member":
            try:
                members.append(parseMember(value))
            except ValueError as e:
                raise ConfigError(f"member: {e}", entry.filename, entry.line)
            continue
        setting = _setting(key, value, entry)
        if setting is not None:
            changes[setting[0]] = setting[1]
    queue = replace(base or QueueConfig(name=name), name=name, **changes)
    return replace(queue, members=tuple(members))


def parseQueues(config):
    """({general key: value}, {queue name: QueueConfig}) from a parsed queues.conf."""
    general = {}
    queues = {}
    for section in config.sections:
        if section.name.lower() == "general":
            general.update({e.key.lower(): (e.value or "").strip() for e in section.entries})
            continue
        if getattr(section, "isTemplate", False):
            continue
        queues[section.name] = parseQueue(section.name, section.entries)
    return general, queues


def persistentMembers(general):
    """Whether [general] keeps dynamic members across restarts (Asterisk's default: yes)."""
    return general.get("persistentmembers", "yes").lower() in _TRUE
