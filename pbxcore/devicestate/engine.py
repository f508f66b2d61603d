"""
Device states and extension states (hints).

A I{device} is what a hint names: C{SIP/1001}, C{Local/100@default},
C{Custom:lamp1}. Its state comes from the live channels of that device (seen
on the event bus), from the channel technology's C{deviceState} when it
knows better (a SIP peer that is unregistered), or, for C{Custom:} devices,
from the value last set with C{DEVICE_STATE(Custom:x)=...}, kept in astdb
family C{CustomDevstate} so it survives a restart.

An I{extension state} is the aggregate of the devices in a hint
(C{exten => 1001,hint,SIP/1001&Custom:1001}), following Asterisk's rules and
numbers, so BLF subscribers and manager clients see familiar values.

The numbering, names and aggregation rules are pure functions at the top of
this module; L{DeviceStateEngine} keeps the cache and publishes
C{DeviceStateChange} and C{ExtensionStatus} when something changes.
"""

import base64
import binascii
import enum
from dataclasses import dataclass

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.errors import CLIUsageError
from pbxcore.interfaces import ICLICommand

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


@dataclass
class _LiveChannel:
    device: str
    state: int
    onHold: bool = False
    key: str = ""               # device.lower(), computed once
    deviceState: DeviceState = DeviceState.INUSE   # what this channel says about its device

    def __post_init__(self):
        self.key = self.device.lower()
        self.deviceState = channelToDeviceState(self.state, self.onHold)


def _intOr(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class DeviceStateEngine:
    """
    The device state cache of one PBX, fed by its event bus.

    Technologies that learn something the channels cannot show (a SIP peer
    registering or going unreachable) call L{deviceStateChanged}.
    """

    log = Logger()

    #: The channel events the device states are computed from.
    EVENTS = ("Newchannel", "Newstate", "Hold", "Unhold", "Hangup", "Rename")

    def __init__(self, pbx):
        self.pbx = pbx
        self._channels = {}  # channel name -> _LiveChannel
        self._byDevice = {}  # device key (lower) -> {channel name: _LiveChannel}
        # device key -> {DeviceState: number of live channels saying it}, kept
        # up to date on every channel event so a device's state costs the
        # few distinct states of its channels, not a walk over all of them.
        self._counts = {}
        self._states = {}  # device key (lower) -> (device, DeviceState)
        self._extStates = {}  # (context lower, exten) -> ExtensionState
        self._watchers = {}  # (context lower, exten) -> list of callbacks
        self._hintIndex = None  # device key -> set of (context, exten)
        self._hintIndexFor = None
        self._presenceWatchers = {}  # (context, exten) -> list of callbacks
        self._unsubscribe = pbx.events.subscribe(self._eventReceived, self.EVENTS)

    def register(self, registrar):
        """Register the device-state console commands through C{registrar}."""
        register(registrar)

    def stop(self):
        """Stop listening to the event bus."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- device states -----------------------------------------------------

    def _technologyState(self, tech, resource):
        try:
            registry = self.pbx.registry("technology")
        except KeyError:
            return None
        technology = registry.get(tech)
        if technology is None:
            return None
        try:
            return DeviceState.parse(technology.deviceState(resource))
        except Exception:
            self.log.failure("deviceState({resource!r}) of {tech} failed",
                             resource=resource, tech=tech)
            return DeviceState.UNKNOWN

    def customState(self, name) -> DeviceState:
        astdb = getattr(self.pbx, "astdb", None)
        value = astdb.get(CUSTOM_FAMILY, name) if astdb is not None else None
        return DeviceState.parse(value)

    def setCustomState(self, name, state):
        """
        Set the state of C{Custom:name} (persisted) and publish the change.
        """
        state = DeviceState.parse(state)
        astdb = getattr(self.pbx, "astdb", None)
        if astdb is not None:
            astdb.put(CUSTOM_FAMILY, name, state.name)
        self.deviceStateChanged("Custom:" + name, state)

    def deviceState(self, device) -> DeviceState:
        """The current state of C{device}, computed afresh."""
        device = (device or "").strip()
        if device.lower().startswith(CUSTOM_PREFIX):
            return self.customState(device[len(CUSTOM_PREFIX):])
        tech, slash, resource = device.partition("/")
        if not slash:
            return DeviceState.INVALID
        key = device.lower()
        live = self._counts.get(key)
        techState = self._technologyState(tech, resource)
        if techState is not None and techState not in (DeviceState.UNKNOWN,
                                                       DeviceState.NOT_INUSE):
            if not live or techState in (DeviceState.UNAVAILABLE,
                                         DeviceState.INVALID):
                return techState
        if live:
            return aggregateDeviceStates(live)
        if techState is None:
            if self._hasTechnologyRegistry():
                return DeviceState.INVALID
            return DeviceState.UNKNOWN
        if techState == DeviceState.UNKNOWN:
            return DeviceState.NOT_INUSE
        return techState

    def _hasTechnologyRegistry(self):
        try:
            self.pbx.registry("technology")
        except KeyError:
            return False
        return True

    def cachedDeviceState(self, device):
        """The last state published for C{device}, or None."""
        entry = self._states.get((device or "").lower())
        return entry[1] if entry else None

    def devices(self):
        """Sorted (device, DeviceState) pairs of every device seen so far."""
        return sorted(self._states.values(), key=lambda e: e[0].lower())

    def deviceStateChanged(self, device, state=None):
        """
        Tell the engine that C{device} may have changed; with C{state} None
        it is computed. Publishes DeviceStateChange and any resulting
        ExtensionStatus when the state really changed.
        """
        state = self.deviceState(device) if state is None else DeviceState.parse(state)
        key = device.lower()
        previous = self._states.get(key)
        if previous is not None and previous[1] == state:
            return state
        self._states[key] = (device, state)
        self.pbx.emitEvent("DeviceStateChange",
                           (("Device", device), ("State", state.name)), "call")
        self._updateHintsFor(key)
        return state

    # -- hints and extension states ----------------------------------------

    def hints(self):
        """Every (context, exten, hint) of the current dialplan, in its order."""
        return self._hints()

    def _hints(self):
        dialplan = getattr(self.pbx, "dialplan", None)
        if dialplan is None:
            return []
        lister = getattr(dialplan, "hints", None)
        if lister is None:
            return []
        result = []
        for item in (lister() if callable(lister) else lister):
            if hasattr(item, "context"):
                result.append((item.context, item.exten, item.hint))
            else:
                context, exten, hint = item
                result.append((context, exten, hint))
        return result

    def hint(self, context, exten):
        """The hint of C{exten@context} or None."""
        dialplan = getattr(self.pbx, "dialplan", None)
        if dialplan is None:
            return None
        try:
            value = dialplan.hint(context, exten)
        except KeyError:
            return None
        return value or None

    def _index(self):
        dialplan = getattr(self.pbx, "dialplan", None)
        if self._hintIndex is None or self._hintIndexFor is not dialplan:
            index = {}
            for context, exten, hint in self._hints():
                for device in hintDevices(hint):
                    index.setdefault(device.lower(), set()).add((context, exten))
            for (context, exten) in self._watchers:
                for device in hintDevices(self.hint(context, exten) or ""):
                    index.setdefault(device.lower(), set()).add((context, exten))
            self._hintIndex = index
            self._hintIndexFor = dialplan
            self._forgetRemovedHints()
        return self._hintIndex

    def _forgetRemovedHints(self):
        for key in list(self._extStates):
            context, exten = key
            if self.hint(context, exten) is None:
                del self._extStates[key]
                self._notify(context, exten, ExtensionState.REMOVED, "")

    def extensionState(self, context, exten) -> int:
        """The state of C{exten@context}'s hint; -1 when it has no hint."""
        hint = self.hint(context, exten)
        if hint is None:
            return int(ExtensionState.REMOVED)
        return int(extensionStateOfDevices(
            self.deviceState(d) for d in hintDevices(hint)))

    def _updateHintsFor(self, deviceKey):
        for context, exten in sorted(self._index().get(deviceKey, ())):
            self.checkExtension(context, exten)

    def checkExtension(self, context, exten):
        """Recompute C{exten@context}; publish ExtensionStatus if it changed."""
        hint = self.hint(context, exten)
        key = (context, exten)
        if hint is None:
            if key in self._extStates:
                del self._extStates[key]
                self._notify(context, exten, ExtensionState.REMOVED, "")
            return int(ExtensionState.REMOVED)
        state = self.extensionState(context, exten)
        if self._extStates.get(key) == state:
            return state
        self._extStates[key] = state
        self.pbx.emitEvent("ExtensionStatus", (
            ("Exten", exten), ("Context", context), ("Hint", hint),
            ("Status", str(state)), ("StatusText", extensionStateText(state)),
        ), "call")
        self._notify(context, exten, state, hint)
        return state

    def _notify(self, context, exten, state, hint):
        for callback in list(self._watchers.get((context, exten), ())):
            try:
                callback(context, exten, state, hint)
            except Exception:
                self.log.failure("extension state watcher {callback!r} failed",
                                 callback=callback)

    def watch(self, context, exten, callback):
        """
        Call C{callback(context, exten, state, hint)} whenever the state of
        C{exten@context} changes (C{state} -1 when its hint goes away).
        Returns a function that stops watching; L{extensionState} gives the
        state to start from.
        """
        key = (context, exten)
        self._watchers.setdefault(key, []).append(callback)
        self._hintIndex = None
        if key not in self._extStates and self.hint(context, exten) is not None:
            self._extStates[key] = self.extensionState(context, exten)

        def unwatch():
            callbacks = self._watchers.get(key, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self._watchers.pop(key, None)

        return unwatch

    def watcherCount(self, context, exten):
        return len(self._watchers.get((context, exten), ()))

    def dialplanReloaded(self):
        """Re-read hints after the dialplan changed and publish what moved."""
        self._hintIndex = None
        index = self._index()
        seen = set()
        for pairs in index.values():
            seen.update(pairs)
        for context, exten in sorted(seen):
            self.checkExtension(context, exten)

    # -- presence ----------------------------------------------------------

    def presenceState(self, provider) -> PresenceState:
        """
        The presence of C{provider} (C{CustomPresence:name}, kept in astdb
        family C{CustomPresence}); C{not_set} until one is written,
        C{invalid} for a provider nothing serves.
        """
        provider = (provider or "").strip()
        if not isPresenceProvider(provider):
            return PresenceState("invalid")
        astdb = getattr(self.pbx, "astdb", None)
        name = provider[len(PRESENCE_PREFIX):]
        value = astdb.get(PRESENCE_FAMILY, name) if astdb is not None else None
        if not value:
            return PresenceState()
        try:
            return parsePresenceValue(value)
        except ValueError as e:
            self.log.warn("CustomPresence:{name} holds {value!r}: {error}",
                          name=name, value=value, error=str(e))
            return PresenceState("invalid")

    def setCustomPresence(self, name, value) -> PresenceState:
        """
        Write C{CustomPresence:name} (C{state[,subtype[,message[,options]]]}),
        persisted as written, and publish the change. ValueError, before
        anything changes, when C{value} is not a presence.
        """
        presence = parsePresenceValue(value)
        astdb = getattr(self.pbx, "astdb", None)
        if astdb is not None:
            astdb.put(PRESENCE_FAMILY, name, value)
        self.presenceStateChanged("CustomPresence:" + name, presence)
        return presence

    def hintPresence(self, context, exten):
        """The presence provider of C{exten@context}'s hint (after its devices), or None."""
        dialplan = getattr(self.pbx, "dialplan", None)
        find = getattr(dialplan, "find", None)
        if find is None:
            return None
        from pbxcore.dialplan.parser import PRIORITY_HINT

        try:
            step = find(context, exten, PRIORITY_HINT)
        except KeyError:
            return None
        provider = (getattr(step, "data", "") or "").strip() if step is not None else ""
        return provider or None

    def extensionPresence(self, context, exten) -> PresenceState:
        """The presence of C{exten@context}'s hint provider; C{not_set} without one."""
        provider = self.hintPresence(context, exten)
        return self.presenceState(provider) if provider else PresenceState()

    def presenceStateChanged(self, provider, presence=None):
        """
        Publish the presence of C{provider}: PresenceStateChange, then
        PresenceStatus for every hint it serves, whose watchers are called.
        """
        presence = presence if presence is not None else self.presenceState(provider)
        fields = (("Status", presence.state), ("Subtype", presence.subtype),
                  ("Message", presence.message))
        self.pbx.emitEvent("PresenceStateChange", (("Presentity", provider),) + fields, "call")
        wanted = provider.strip().lower()
        for context, exten, hint in self._hints():
            served = self.hintPresence(context, exten)
            if served is None or served.lower() != wanted:
                continue
            self.pbx.emitEvent("PresenceStatus", (
                ("Exten", exten), ("Context", context), ("Hint", f"{hint},{served}"),
            ) + fields, "call")
            for callback in list(self._presenceWatchers.get((context, exten), ())):
                try:
                    callback(context, exten, presence)
                except Exception:
                    self.log.failure("presence watcher {callback!r} failed", callback=callback)

    def watchPresence(self, context, exten, callback):
        """
        Call C{callback(context, exten, presence)} whenever the presence
        provider of C{exten@context}'s hint changes; returns an undo.
        """
        key = (context, exten)
        self._presenceWatchers.setdefault(key, []).append(callback)

        def unwatch():
            callbacks = self._presenceWatchers.get(key, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self._presenceWatchers.pop(key, None)

        return unwatch

    def customPresences(self):
        """Sorted (name, raw value) of every C{CustomPresence:} written."""
        astdb = getattr(self.pbx, "astdb", None)
        if astdb is None:
            return []
        prefix = f"/{PRESENCE_FAMILY}/"
        return [(k[len(prefix):], v) for k, v in astdb.gettree(PRESENCE_FAMILY)
                if k.startswith(prefix)]

    # -- the event bus -----------------------------------------------------

    def _count(self, live, delta):
        counts = self._counts.setdefault(live.key, {})
        n = counts.get(live.deviceState, 0) + delta
        if n > 0:
            counts[live.deviceState] = n
        else:
            counts.pop(live.deviceState, None)
            if not counts:
                del self._counts[live.key]

    def _setChannelState(self, live, state, onHold):
        """A live channel's state or hold changed: move it between the counts."""
        live.state = state
        live.onHold = onHold
        deviceState = channelToDeviceState(state, onHold)
        if deviceState != live.deviceState:
            self._count(live, -1)
            live.deviceState = deviceState
            self._count(live, 1)

    def _addChannel(self, name, live):
        previous = self._removeChannel(name)
        if previous is not None:
            self.log.debug("channel {name} announced twice", name=name)
        self._channels[name] = live
        self._byDevice.setdefault(live.key, {})[name] = live
        self._count(live, 1)

    def _removeChannel(self, name):
        live = self._channels.pop(name, None)
        if live is not None:
            key = live.key
            members = self._byDevice.get(key)
            if members is not None:
                members.pop(name, None)
                if not members:
                    del self._byDevice[key]
            self._count(live, -1)
        return live

    def _eventReceived(self, event):
        name = event.name
        if name == "Newchannel":
            channel = event.get("Channel")
            if not channel:
                return
            self._addChannel(channel, _LiveChannel(
                deviceOfChannel(channel), _intOr(event.get("ChannelState"), 0)))
            self._refresh(channel)
        elif name == "Newstate":
            live = self._channels.get(event.get("Channel"))
            if live is not None:
                self._setChannelState(live, _intOr(event.get("ChannelState"), live.state),
                                      live.onHold)
                self.deviceStateChanged(live.device)
        elif name in ("Hold", "Unhold"):
            live = self._channels.get(event.get("Channel"))
            if live is not None:
                self._setChannelState(live, live.state, name == "Hold")
                self.deviceStateChanged(live.device)
        elif name == "Hangup":
            live = self._removeChannel(event.get("Channel"))
            if live is not None:
                self.deviceStateChanged(live.device)
        elif name == "Rename":
            live = self._removeChannel(event.get("Channel"))
            newName = event.get("Newname")
            if live is not None and newName:
                self._addChannel(newName, _LiveChannel(
                    deviceOfChannel(newName), live.state, live.onHold))
                self.deviceStateChanged(live.device)
                self._refresh(newName)

    def _refresh(self, channelName):
        live = self._channels.get(channelName)
        if live is not None:
            self.deviceStateChanged(live.device)


# -- console commands ------------------------------------------------------


@implementer(ICLICommand)
class CoreShowHints:
    """C{core show hints}: every hint with its state and watchers."""

    name = "core show hints"
    summary = "Show dialplan hints"
    usage = "Usage: core show hints\n       List registered hints."

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        engine = pbx.devicestate
        hints = engine.hints()
        lines = ["", "    -= Registered Asterisk Dial Plan Hints =-"]
        for context, exten, hint in hints:
            state = engine.extensionState(context, exten)
            provider = engine.hintPresence(context, exten)
            shown = f"{hint},{provider}" if provider else hint
            lines.append("%20s: %-20s  State:%-15s Presence:%-15s Watchers %2d" % (
                f"{exten}@{context}", shown, extensionStateText(state),
                engine.extensionPresence(context, exten).state,
                engine.watcherCount(context, exten)))
        lines.append("----------------")
        lines.append(f"- {len(hints)} hints registered")
        return "\n".join(lines) + "\n"


@implementer(ICLICommand)
class DevstateList:
    """C{devstate list}: the cached state of every device seen."""

    name = "devstate list"
    summary = "List currently known device states"
    usage = "Usage: devstate list"

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        lines = ["", "---------------------------------------------------------------------",
                 "--- Device States ---------------------------------------------------",
                 "---------------------------------------------------------------------"]
        for device, state in pbx.devicestate.devices():
            lines.append(f"--- Name: '{device}'  State: '{state.name}'")
        lines.append("---------------------------------------------------------------------")
        return "\n".join(lines) + "\n"


@implementer(ICLICommand)
class DevstateChange:
    """C{devstate change Custom:x STATE}: set a custom device state."""

    name = "devstate change"
    summary = "Change a custom device state"
    usage = ("Usage: devstate change <device> <state>\n"
             "       Change a custom device to a new state.")

    def execute(self, pbx, args):
        if len(args) != 2 or not args[0].lower().startswith(CUSTOM_PREFIX):
            raise CLIUsageError(self.usage)
        name = args[0][len(CUSTOM_PREFIX):]
        state = DeviceState.parse(args[1])
        pbx.devicestate.setCustomState(name, state)
        return f"Changing {args[0]} to {state.name}\n"


@implementer(ICLICommand)
class PresencestateList:
    """C{presencestate list}: every custom presence written."""

    name = "presencestate list"
    summary = "List currently known custom presence states"
    usage = "Usage: presencestate list"

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        engine = pbx.devicestate
        lines = ["", "---------------------------------------------------------------------",
                 "--- Custom Presence States ------------------------------------------",
                 "---------------------------------------------------------------------"]
        for name, value in engine.customPresences():
            presence = engine.presenceState("CustomPresence:" + name)
            encoded = "yes" if value.rsplit(",", 1)[-1].strip() == "e" and \
                value.count(",") >= 3 else "no"
            lines += ["---", f"Name: 'CustomPresence:{name}'", f"State: '{presence.state}'",
                      f"Subtype: '{presence.subtype}'", f"Message: '{presence.message}'",
                      f"Base64 Encoded: {encoded}"]
        lines.append("---------------------------------------------------------------------")
        return "\n".join(lines) + "\n"


@implementer(ICLICommand)
class PresencestateChange:
    """C{presencestate change CustomPresence:x state[,subtype[,message[,options]]]}."""

    name = "presencestate change"
    summary = "Change a custom presence state"
    usage = ("Usage: presencestate change <entity> <state>[,<subtype>[,message[,options]]]\n"
             "       Change a custom presence to a new state.")

    def execute(self, pbx, args):
        if len(args) < 2 or not isPresenceProvider(args[0]):
            raise CLIUsageError(self.usage)
        value = " ".join(args[1:])
        try:
            pbx.devicestate.setCustomPresence(args[0][len(PRESENCE_PREFIX):], value)
        except ValueError as e:
            raise CLIUsageError(f"{e}\n{self.usage}") from None
        return f"Changing {args[0]} to {value}\n"


def register(registrar):
    """Register the device-state console commands through C{registrar}."""
    for command in (CoreShowHints(), DevstateList(), DevstateChange(),
                    PresencestateList(), PresencestateChange()):
        registrar.register("clicommand", command)
