"""
confbridge.conf, PURE: bridge, user and menu profiles (Asterisk's
app_confbridge), frozen, errors with file:line.

    [default_bridge]
    type = bridge
    max_members = 0           ; 0: no limit
    record_conference = no
    sound_join = confbridge-join
    sound_leave = confbridge-leave

    [default_user]
    type = user
    admin = no
    marked = no
    startmuted = no
    pin =
    wait_marked = no
    end_marked = no
    quiet = no
    announce_join_leave = no
    talk_detection_events = no
    dsp_talking_threshold = 160
    dsp_silence_threshold = 2500
    music_on_hold_when_empty = no
    music_on_hold_class = default

    [default_menu]
    type = menu
    *1 = toggle_mute
    *2 = leave_conference
    *3 = admin_kick_last
    *4 = admin_toggle_conference_lock
"""

from dataclasses import dataclass, field, replace

from pbxcore.config import ConfigError

_TRUE = ("yes", "true", "y", "t", "1", "on")

MENU_ACTIONS = ("toggle_mute", "leave_conference", "admin_kick_last",
                "admin_toggle_conference_lock", "no_op", "increase_listening_volume",
                "decrease_listening_volume", "increase_talking_volume",
                "decrease_talking_volume", "participant_count")


@dataclass(frozen=True)
class BridgeProfile:
    name: str = "default_bridge"
    max_members: int = 0
    record_conference: bool = False
    record_file: str = ""
    sound_join: str = "confbridge-join"
    sound_leave: str = "confbridge-leave"


@dataclass(frozen=True)
class UserProfile:
    name: str = "default_user"
    admin: bool = False
    marked: bool = False
    startmuted: bool = False
    pin: str = ""
    wait_marked: bool = False
    end_marked: bool = False
    quiet: bool = False
    announce_join_leave: bool = False
    talk_detection_events: bool = False
    dsp_talking_threshold: int = 160
    dsp_silence_threshold: int = 2500
    music_on_hold_when_empty: bool = False
    music_on_hold_class: str = "default"


@dataclass(frozen=True)
class MenuProfile:
    name: str = "default_menu"
    keys: dict = field(default_factory=dict)  # DTMF sequence -> action


@dataclass(frozen=True)
class ConfBridgeConfig:
    bridges: dict = field(default_factory=lambda: {"default_bridge": BridgeProfile()})
    users: dict = field(default_factory=lambda: {"default_user": UserProfile()})
    menus: dict = field(default_factory=lambda: {"default_menu": MenuProfile()})


def _value(template, entry):
    key = entry.key.lower()
    current = getattr(template, key)
    value = (entry.value or "").strip()
    if isinstance(current, bool):
        return value.lower() in _TRUE
    if isinstance(current, int):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{entry.key}: {value!r} is not a number",
                              entry.filename, entry.line) from None
    return value


def _profile(cls, section):
    profile = cls(name=section.name)
    changes = {}
    for entry in section.entries:
        key = entry.key.lower()
        if key == "type":
            continue
        if key in cls.__dataclass_fields__ and key != "name":
            changes[key] = _value(profile, entry)
    return replace(profile, **changes)


def _menu(section):
    keys = {}
    for entry in section.entries:
        if entry.key.lower() == "type":
            continue
        action = (entry.value or "").strip().split("(")[0].lower()
        if action not in MENU_ACTIONS and not action.startswith(("playback", "dialplan_exec")):
            raise ConfigError(f"menu {section.name}: unknown action {action!r}",
                              entry.filename, entry.line)
        keys[entry.key.strip()] = action
    return MenuProfile(name=section.name, keys=keys)


def parseConfBridge(config):
    """ConfBridgeConfig from a parsed confbridge.conf."""
    result = ConfBridgeConfig()
    bridges, users, menus = dict(result.bridges), dict(result.users), dict(result.menus)
    for section in config.sections:
        if section.name.lower() == "general":
            continue
        kind = (section.get("type") or "").strip().lower()
        if kind == "bridge":
            bridges[section.name] = _profile(BridgeProfile, section)
        elif kind == "user":
            users[section.name] = _profile(UserProfile, section)
        elif kind == "menu":
            menus[section.name] = _menu(section)
        else:
            raise ConfigError(f"[{section.name}]: type must be bridge, user or menu",
                              section.filename, section.line)
    return ConfBridgeConfig(bridges, users, menus)
