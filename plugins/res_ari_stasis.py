"""
Stasis: the applications ARI clients register over the events WebSocket,
the channels handed to them by C{Stasis()} (or originated into them), and
the translation of core events into ARI events.

A channel in an application is held by its L{StasisControl}: a loop that
reads (and discards, or records) what the channel sends while no bridge
does, runs what the REST calls ask, and ends on hangup or C{continue}.
"""

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.errors import ChannelHungUp
from plugins.res_ari_model import (
    DEVICE_STATE_NAMES,
    asteriskId,
    bridgeJSON,
    channelJSON,
    deviceStateJSON,
    event,
)

log = Logger(namespace="plugins.res_ari")

#: The core events translated for ARI applications.
CORE_EVENTS = ("Newstate", "VarSet", "DTMFEnd", "HangupRequest", "SoftHangupRequest",
               "Hangup", "DeviceStateChange", "NewExten", "Newchannel", "NewCallerid",
               "NewConnectedLine", "Hold", "Unhold")


class AriApp:
    """A Stasis application: its WebSocket session and what it watches."""

    def __init__(self, name):
        self.name = name
        self.session = None
        self.subscribeAll = False
        self.channelIds = set()
        self.bridgeIds = set()
        self.endpointIds = set()
        self.deviceNames = set()

    def send(self, message):
        if self.session is not None:
            self.session.sendEvent(message)


class StasisControl:
    """One channel in a Stasis application (see the module docstring)."""

    def __init__(self, core, channel, app, args):
        self.core = core
        self.channel = channel
        self.app = app
        self.args = args
        self.bridge = None
        self.pumping = False
        self.recorders = []
        self.muted = None
        self.playQueue = None
        self.generator = None
        self.continueTo = None
        self.leaving = False
        self.ended = False
        self._read = None
        self._wake = None

    def setPumping(self, pumping):
        self.pumping = pumping
        self.wake()

    def wake(self):
        if self._read is not None and not self._read.called:
            self._read.cancel()
        if self._wake is not None and not self._wake.called:
            wake, self._wake = self._wake, None
            wake.callback(None)

    def leave(self, target):
        """Leave the application and continue in the dialplan at C{target}."""
        self.continueTo = target
        self.leaving = True
        self.wake()

    async def run(self):
        """Held in the application until continue or hangup; True when continued."""
        core, channel = self.core, self.channel
        core.enter(self)
        try:
            while not self.leaving and not channel.hangupRequested:
                if self.pumping:
                    self._wake = defer.Deferred()
                    await self._wake
                    continue
                self._read = channel.readFrame()
                try:
                    frame = await self._read
                except defer.CancelledError:
                    continue
                finally:
                    self._read = None
                for recorder in list(self.recorders):
                    recorder.frame(frame)
        except ChannelHungUp:
            pass
        finally:
            core.leave(self)
        return self.leaving and not channel.hangupRequested


class StasisCore:
    """Everything ARI keeps for one PBX."""

    def __init__(self, pbx, reactor):
        self.pbx = pbx
        self.reactor = reactor
        self.apps = {}
        self.controls = {}
        self.watched = {}
        self.bridges = {}
        self.playbacks = {}
        self.recordings = {}
        self.deviceStates = {}
        self.eventsSent = 0
        system = getattr(pbx.settings, "systemname", "") or "txpbx"
        self.asteriskId = asteriskId(system, pbx.configDir)

    # -- applications ---------------------------------------------------------------

    def app(self, name, create=False):
        app = self.apps.get(name)
        if app is None and create:
            app = self.apps[name] = AriApp(name)
        return app

    def registered(self, name):
        app = self.apps.get(name)
        return app is not None and app.session is not None

    def attach(self, name, session, subscribeAll=False):
        app = self.app(name, create=True)
        old = app.session
        app.session = session
        app.subscribeAll = subscribeAll
        if old is not None and old is not session:
            old.sendEvent(event("ApplicationReplaced", name, self.asteriskId,
                                self.reactor.seconds()))
            old.apps.discard(name)
        return app

    def detach(self, name, session):
        app = self.apps.get(name)
        if app is not None and app.session is session:
            app.session = None
            app.subscribeAll = False

    # -- sending --------------------------------------------------------------------

    def _send(self, app, kind, **fields):
        if app.session is None:
            return
        self.eventsSent += 1
        app.send(event(kind, app.name, self.asteriskId, self.reactor.seconds(), **fields))

    def appsForChannel(self, uniqueid):
        return [a for a in self.apps.values()
                if a.session is not None and (uniqueid in a.channelIds or a.subscribeAll)]

    def appsForBridge(self, bridge):
        return [a for a in self.apps.values() if a.session is not None and (
            bridge.id in a.bridgeIds or a.subscribeAll
            or any(c.uniqueid in a.channelIds for c in bridge.channels))]

    def channelEvent(self, channel, kind, **fields):
        body = channelJSON(channel)
        for app in self.appsForChannel(channel.uniqueid):
            self._send(app, kind, channel=body, **fields)

    def bridgeEvent(self, bridge, kind, channel=None):
        apps = self.appsForBridge(bridge)
        if channel is not None:
            apps += [a for a in self.appsForChannel(channel.uniqueid) if a not in apps]
        fields = {"bridge": bridgeJSON(bridge)}
        if channel is not None:
            fields["channel"] = channelJSON(channel)
        for app in apps:
            self._send(app, kind, **fields)

    def playbackEvent(self, playback, kind):
        scheme, _, ident = playback.targetURI.partition(":")
        if scheme == "channel":
            apps = self.appsForChannel(ident)
        else:
            bridge = self.bridges.get(ident)
            apps = self.appsForBridge(bridge) if bridge is not None else []
        for app in apps:
            self._send(app, kind, playback=playback.json())

    def recordingEvent(self, recording, kind):
        scheme, _, ident = recording.targetURI.partition(":")
        if scheme == "channel":
            apps = self.appsForChannel(ident)
        else:
            bridge = self.bridges.get(ident)
            apps = self.appsForBridge(bridge) if bridge is not None else []
        for app in apps:
            self._send(app, kind, recording=recording.json())

    def recordingFinished(self, recording):
        self.recordings.pop(recording.name, None)
        for holder in list(self.controls.values()) + list(self.bridges.values()):
            if recording in holder.recorders:
                holder.recorders.remove(recording)
        self.recordingEvent(recording, "RecordingFinished")

    def userEvent(self, app, name, variables, sources):
        self._send(app, "ChannelUserevent", eventname=name, userevent=variables or {},
                   **sources)

    # -- channels in applications --------------------------------------------------

    def watch(self, channel, app):
        """Subscribe C{app} to a channel (originated into it or entering it)."""
        self.watched[channel.uniqueid] = channel
        app.channelIds.add(channel.uniqueid)

    def enter(self, control):
        channel = control.channel
        self.controls[channel.uniqueid] = control
        self.watch(channel, control.app)
        self.channelEvent(channel, "StasisStart", args=list(control.args))

    def leave(self, control):
        if control.ended:
            return
        control.ended = True
        channel = control.channel
        if control.bridge is not None:
            control.bridge.remove(control)
        for recorder in list(control.recorders):
            recorder.finish()
        if control.generator is not None:
            control.generator.stopped = True
        self.channelEvent(channel, "StasisEnd")
        self.controls.pop(channel.uniqueid, None)

    def _forget(self, uniqueid):
        self.watched.pop(uniqueid, None)
        for app in self.apps.values():
            app.channelIds.discard(uniqueid)

    # -- core events ---------------------------------------------------------------

    def wants(self):
        return bool(self.watched) or any(a.subscribeAll for a in self.apps.values())

    def coreEvent(self, ev):
        name = ev.name
        if name == "DeviceStateChange":
            self._deviceState(ev.get("Device"), ev.get("State"))
            return
        uniqueid = ev.get("Uniqueid")
        channel = self.watched.get(uniqueid) or (
            self.pbx.channels.byUniqueid(uniqueid) if self.pbx.channels is not None else None)
        if channel is None or not self.appsForChannel(uniqueid):
            return
        if name == "Newstate":
            self.channelEvent(channel, "ChannelStateChange")
        elif name == "VarSet":
            self.channelEvent(channel, "ChannelVarset", variable=ev.get("Variable"),
                              value=ev.get("Value"))
        elif name == "DTMFEnd" and ev.get("Direction") == "Received":
            self.channelEvent(channel, "ChannelDtmfReceived", digit=ev.get("Digit"),
                              duration_ms=int(ev.get("DurationMs") or 0))
        elif name in ("HangupRequest", "SoftHangupRequest"):
            self.channelEvent(channel, "ChannelHangupRequest", cause=int(ev.get("Cause") or 0),
                              soft=name == "SoftHangupRequest")
        elif name == "Newchannel":
            self.channelEvent(channel, "ChannelCreated")
        elif name == "NewCallerid":
            self.channelEvent(channel, "ChannelCallerId", caller_presentation=0,
                              caller_presentation_txt="Presentation Allowed, Not Screened")
        elif name == "NewConnectedLine":
            self.channelEvent(channel, "ChannelConnectedLine")
        elif name in ("Hold", "Unhold"):
            extra = {"musicclass": ev.get("MusicClass")} if ev.get("MusicClass") else {}
            self.channelEvent(channel, "ChannelHold" if name == "Hold" else "ChannelUnhold",
                              **extra)
        elif name == "NewExten":
            self.channelEvent(channel, "ChannelDialplan", dialplan_app=ev.get("Application"),
                              dialplan_app_data=ev.get("AppData"))
        elif name == "Hangup":
            control = self.controls.get(uniqueid)
            if control is not None:
                self.leave(control)
            self.channelEvent(channel, "ChannelDestroyed", cause=int(ev.get("Cause") or 0),
                              cause_txt=ev.get("Cause-txt") or "")
            self._forget(uniqueid)

    def _deviceState(self, device, state):
        if not device:
            return
        body = deviceStateJSON(device, state or "UNKNOWN")
        for app in self.apps.values():
            if app.session is not None and (app.subscribeAll or device in app.deviceNames):
                self._send(app, "DeviceStateChanged", device_state=body)

    def setDeviceState(self, name, state):
        self.deviceStates[name] = state
        engine = getattr(self.pbx, "devicestate", None)
        if engine is not None and hasattr(engine, "deviceStateChanged"):
            try:
                from pbxcore.devicestate.engine import DeviceState

                engine.deviceStateChanged(name, DeviceState.parse(state))
                return
            except Exception:
                log.failure("device state {name}", name=name)
        self._deviceState(name, state)

    def deviceState(self, name):
        state = self.deviceStates.get(name)
        if state is not None:
            return state
        engine = getattr(self.pbx, "devicestate", None)
        if engine is None:
            return "UNKNOWN"
        value = int(engine.deviceState(name))
        return DEVICE_STATE_NAMES[value] if 0 <= value < len(DEVICE_STATE_NAMES) else "UNKNOWN"

    def shutdown(self):
        for control in list(self.controls.values()):
            control.leave(None)
        for app in self.apps.values():
            if app.session is not None:
                app.session.close()
