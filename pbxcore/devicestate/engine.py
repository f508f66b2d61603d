"""
The device state engine: the device and extension state cache of one PBX,
fed by its event bus, with the hint watchers of BLF subscriptions and
manager clients.

A device's state comes from the live channels of that device, from the
channel technology's C{deviceState} when it knows better (a SIP peer that
is unregistered), or, for C{Custom:} devices, from the value last set with
C{DEVICE_STATE(Custom:x)=...}, kept in astdb family C{CustomDevstate} so it
survives a restart. The numbers and aggregation rules are the pure
functions of L{pbxcore.devicestate.aggregation}.
"""

from dataclasses import dataclass

from twisted.logger import Logger

from pbxcore.devicestate import commands
from pbxcore.devicestate.aggregation import (
    CUSTOM_FAMILY,
    CUSTOM_PREFIX,
    PRESENCE_FAMILY,
    PRESENCE_PREFIX,
    DeviceState,
    ExtensionState,
    PresenceState,
    aggregateDeviceStates,
    channelToDeviceState,
    deviceOfChannel,
    extensionStateOfDevices,
    extensionStateText,
    hintDevices,
    isPresenceProvider,
    parsePresenceValue,
)


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
        self._providers = {}  # "park:" -> callable(rest) -> DeviceState (modules)
        self._unsubscribe = pbx.events.subscribe(self._eventReceived, self.EVENTS)

    def register(self, registrar):
        """Register the device-state console commands through C{registrar}."""
        commands.register(registrar)

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

    def addProvider(self, prefix, provider):
        """
        Devices named C{prefix}... (C{park:}) get their state from
        C{provider(rest)}, as Asterisk's device state providers; returns the
        callable that removes it (for a registrar's addCleanup).
        """
        key = prefix.lower()
        self._providers[key] = provider

        def remove():
            if self._providers.get(key) is provider:
                del self._providers[key]
        return remove

    def _providerState(self, device):
        lowered = device.lower()
        for prefix, provider in self._providers.items():
            if lowered.startswith(prefix):
                return DeviceState.parse(provider(device[len(prefix):]))
        return None

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
        provided = self._providerState(device) if self._providers else None
        if provided is not None:
            return provided
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
