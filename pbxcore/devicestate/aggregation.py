"""
Device states and extension states (hints): the numbers, names and
aggregation rules, pure functions with no reactor and no cache.

A I{device} is what a hint names: C{SIP/1001}, C{Local/100@default},
C{Custom:lamp1}. Its state comes from the live channels of that device (seen
on the event bus), from the channel technology's C{deviceState} when it
knows better (a SIP peer that is unregistered), or, for C{Custom:} devices,
from the value last set with C{DEVICE_STATE(Custom:x)=...}, kept in astdb
family C{CustomDevstate} so it survives a restart.

An I{extension state} is the aggregate of the devices in a hint
(C{exten => 1001,hint,SIP/1001&Custom:1001}), following Asterisk's rules and
numbers, so BLF subscribers and manager clients see familiar values.

L{pbxcore.devicestate.engine.DeviceStateEngine} keeps the cache and
publishes C{DeviceStateChange} and C{ExtensionStatus} when something
changes; L{pbxcore.devicestate.commands} holds the console commands.
"""

import base64
import binascii
import enum
from dataclasses import dataclass


CUSTOM_FAMILY = "CustomDevstate"
CUSTOM_PREFIX = "custom:"
PRESENCE_FAMILY = "CustomPresence"
PRESENCE_PREFIX = "custompresence:"


class DeviceState(enum.IntEnum):
    """Asterisk's device states, with its numbers (they travel on the wire)."""

    UNKNOWN = 0
    NOT_INUSE = 1
    INUSE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RINGINUSE = 7
    ONHOLD = 8

    @classmethod
    def parse(cls, value) -> "DeviceState":
        """
        A DeviceState from a DeviceState, a number or a name (any case);
        anything unrecognised is UNKNOWN, as Asterisk's ast_devstate_val.
        """
        if isinstance(value, DeviceState):
            return value
        if value is None:
            return cls.UNKNOWN
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                return cls.UNKNOWN
        text = str(value).strip().upper()
        if text.isdigit():
            return cls.parse(int(text))
        return cls.__members__.get(text, cls.UNKNOWN)

    @property
    def description(self) -> str:
        """The human text Asterisk prints in 'devstate list'."""
        return _DEVICE_DESCRIPTIONS[self]


_DEVICE_DESCRIPTIONS = {
    DeviceState.UNKNOWN: "Unknown",
    DeviceState.NOT_INUSE: "Not in use",
    DeviceState.INUSE: "In use",
    DeviceState.BUSY: "Busy",
    DeviceState.INVALID: "Invalid",
    DeviceState.UNAVAILABLE: "Unavailable",
    DeviceState.RINGING: "Ringing",
    DeviceState.RINGINUSE: "Ring+Inuse",
    DeviceState.ONHOLD: "On Hold",
}


class ExtensionState(enum.IntEnum):
    """Asterisk's extension states: bit flags, plus two negative markers."""

    DEACTIVATED = -2
    REMOVED = -1
    NOT_INUSE = 0
    INUSE = 1
    BUSY = 2
    UNAVAILABLE = 4
    RINGING = 8
    INUSE_RINGING = 9
    ONHOLD = 16
    INUSE_ONHOLD = 17


#: StatusText of ExtensionStatus and 'core show hints' (ast_extension_state2str).
EXTENSION_STATE_TEXT = {
    ExtensionState.NOT_INUSE: "Idle",
    ExtensionState.INUSE: "InUse",
    ExtensionState.BUSY: "Busy",
    ExtensionState.UNAVAILABLE: "Unavailable",
    ExtensionState.RINGING: "Ringing",
    ExtensionState.INUSE_RINGING: "InUse&Ringing",
    ExtensionState.ONHOLD: "Hold",
    ExtensionState.INUSE_ONHOLD: "InUse&Hold",
    ExtensionState.REMOVED: "Removed",
    ExtensionState.DEACTIVATED: "Deactivated",
}

#: What EXTENSION_STATE() returns for each state.
EXTENSION_STATE_NAME = {
    ExtensionState.NOT_INUSE: "NOT_INUSE",
    ExtensionState.INUSE: "INUSE",
    ExtensionState.BUSY: "BUSY",
    ExtensionState.UNAVAILABLE: "UNAVAILABLE",
    ExtensionState.RINGING: "RINGING",
    ExtensionState.INUSE_RINGING: "RINGINUSE",
    ExtensionState.INUSE_ONHOLD: "HOLDINUSE",
    ExtensionState.ONHOLD: "ONHOLD",
}


def extensionStateText(state: int) -> str:
    try:
        return EXTENSION_STATE_TEXT[ExtensionState(state)]
    except ValueError:
        return "Unknown"


def extensionStateName(state: int) -> str:
    try:
        return EXTENSION_STATE_NAME.get(ExtensionState(state), "UNKNOWN")
    except ValueError:
        return "UNKNOWN"


#: Asterisk's presence states (ast_presence_state2str), "invalid" aside.
PRESENCE_STATES = ("not_set", "unavailable", "available", "away", "xa", "chat", "dnd")


@dataclass(frozen=True)
class PresenceState:
    """A presence: one of L{PRESENCE_STATES} (or C{invalid}), a subtype and a message."""

    state: str = "not_set"
    subtype: str = ""
    message: str = ""


def parsePresenceValue(value: str) -> PresenceState:
    """
    The presence written to a C{CustomPresence:} provider, in Asterisk's
    C{state[,subtype[,message[,options]]]} form; with option C{e} the
    subtype and message are base64. ValueError for an unknown state or
    option, or bad base64.
    """
    parts = (value or "").split(",", 3)
    parts += [""] * (4 - len(parts))
    state, subtype, message, options = (p.strip() for p in parts)
    state = state.lower()
    if state not in PRESENCE_STATES:
        raise ValueError(f"unknown presence state {state!r} (expected one of "
                         f"{', '.join(PRESENCE_STATES)})")
    if options not in ("", "e"):
        raise ValueError(f"unknown presence option {options!r} (only 'e')")
    if options == "e":
        try:
            subtype = base64.b64decode(subtype, validate=True).decode("utf-8")
            message = base64.b64decode(message, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise ValueError(f"option e: subtype and message must be base64 ({e})") from None
    return PresenceState(state, subtype, message)


def isPresenceProvider(provider: str) -> bool:
    """Whether C{provider} names a custom presence (C{CustomPresence:x})."""
    provider = (provider or "").strip()
    return provider.lower().startswith(PRESENCE_PREFIX) and len(provider) > len(PRESENCE_PREFIX)


# Channel states (pbxcore.frame.ChannelState numbers, fixed by Asterisk).
_CHANNEL_RINGING = 5
_CHANNEL_BUSY = 7
_CHANNEL_PRERING = 9

#: Rank of each device state when several are aggregated: the highest wins.
_AGGREGATE_RANK = {
    DeviceState.INVALID: 0,
    DeviceState.UNKNOWN: 1,
    DeviceState.UNAVAILABLE: 2,
    DeviceState.NOT_INUSE: 3,
    DeviceState.ONHOLD: 4,
    DeviceState.RINGING: 5,
    DeviceState.INUSE: 6,
    DeviceState.BUSY: 7,
    DeviceState.RINGINUSE: 8,
}


def aggregateDeviceStates(states) -> DeviceState:
    """
    Combine device states the way a hint with several devices does: the most
    significant wins, and ringing anywhere plus use anywhere is RINGINUSE.
    No states at all is INVALID.
    """
    result = DeviceState.INVALID
    ringing = inuse = False
    for state in states:
        state = DeviceState.parse(state)
        if state == DeviceState.RINGING:
            ringing = True
        elif state in (DeviceState.INUSE, DeviceState.ONHOLD, DeviceState.BUSY):
            inuse = True
        if ringing and inuse:
            result = DeviceState.RINGINUSE
        elif _AGGREGATE_RANK[state] > _AGGREGATE_RANK[result]:
            result = state
    return result


def deviceToExtensionState(state: DeviceState) -> ExtensionState:
    """Map one (aggregated) device state to an extension state."""
    state = DeviceState.parse(state)
    return {
        DeviceState.ONHOLD: ExtensionState.ONHOLD,
        DeviceState.BUSY: ExtensionState.BUSY,
        DeviceState.UNKNOWN: ExtensionState.NOT_INUSE,
        DeviceState.UNAVAILABLE: ExtensionState.UNAVAILABLE,
        DeviceState.INVALID: ExtensionState.UNAVAILABLE,
        DeviceState.RINGINUSE: ExtensionState.INUSE_RINGING,
        DeviceState.RINGING: ExtensionState.RINGING,
        DeviceState.INUSE: ExtensionState.INUSE,
        DeviceState.NOT_INUSE: ExtensionState.NOT_INUSE,
    }[state]


def hintDevices(hint: str) -> list:
    """
    The device names of a hint: C{'SIP/1001&Custom:1001,Alice'} gives
    C{['SIP/1001', 'Custom:1001']} (after a comma comes the hint's name).
    """
    devices = (hint or "").split(",", 1)[0]
    return [d.strip() for d in devices.split("&") if d.strip()]


def extensionStateOfDevices(states) -> ExtensionState:
    return deviceToExtensionState(aggregateDeviceStates(states))


def deviceOfChannel(channelName: str) -> str:
    """
    The device a channel belongs to: C{SIP/1001-0000abcd} -> C{SIP/1001},
    C{Local/100@default-00000001;2} -> C{Local/100@default}.
    """
    name = channelName or ""
    base, sep, half = name.rpartition(";")
    if sep and half.isdigit():
        name = base
    if "/" in name:
        device, dash, _ = name.rpartition("-")
        if dash and "/" in device:
            return device
    return name


def channelToDeviceState(channelState: int, onHold: bool = False) -> DeviceState:
    """What one live channel says about its device."""
    if onHold:
        return DeviceState.ONHOLD
    if channelState in (_CHANNEL_RINGING, _CHANNEL_PRERING):
        return DeviceState.RINGING
    if channelState == _CHANNEL_BUSY:
        return DeviceState.BUSY
    return DeviceState.INUSE
