"""
The ARI operations other than channels: asterisk, endpoints, bridges,
playbacks, recordings, sounds, deviceStates, applications and user
events.
"""

import os
import platform
import socket

from pbxcore.dialplan.builtins import soundsDir
from plugins.res_ari_channels import AriError, startPlayback, startRecording
from plugins.res_ari_media import (
    RECORDING_FORMATS,
    AriBridge,
    BridgeRecording,
    Playback,
    recordingDir,
)
from plugins.res_ari_model import (
    applicationJSON,
    deviceStateJSON,
    endpointJSON,
    isoTime,
    soundJSON,
    storedRecordingJSON,
)

_SOUND_EXTS = {".wav": "wav", ".ulaw": "ulaw", ".ul": "ulaw", ".pcm": "ulaw", ".alaw": "alaw",
               ".al": "alaw", ".sln": "slin", ".raw": "slin"}
_CONTENT_TYPES = {"wav": "audio/wav", "ulaw": "audio/basic", "ul": "audio/basic",
                  "alaw": "audio/x-alaw-basic", "al": "audio/x-alaw-basic",
                  "sln": "audio/x-raw", "raw": "audio/x-raw"}


class Resources:
    """Handlers named <resource>_<nickname>."""

    def __init__(self, core):
        self.core = core
        self.pbx = core.pbx

    # -- asterisk ------------------------------------------------------------------

    def asterisk_getInfo(self, params, path):
        pbx = self.pbx
        start = pbx.startTime or 0
        info = {
            "build": {"os": platform.system(), "kernel": platform.release(), "options": "",
                      "machine": platform.machine(), "date": "", "user": ""},
            "system": {"version": f"txpbx {pbx.version}", "entity_id": self.core.asteriskId},
            "config": {"name": getattr(pbx.settings, "systemname", "") or socket.gethostname(),
                       "default_language": pbx.settings.get("defaultlanguage", "en") or "en",
                       "max_channels": pbx.settings.maxcalls or 0,
                       "setid": {"user": str(os.getuid()), "group": str(os.getgid())}},
            "status": {"startup_time": isoTime(start),
                       "last_reload_time": isoTime(pbx.reloadTime or start)},
        }
        only = params.get("only")
        if only:
            info = {k: v for k, v in info.items() if k in only}
        return info

    def asterisk_ping(self, params, path):
        return {"asterisk_id": self.core.asteriskId, "ping": "pong",
                "timestamp": isoTime(self.core.reactor.seconds())}

    def asterisk_getGlobalVar(self, params, path):
        return {"value": self.pbx.globals.get(params["variable"], "")}

    def asterisk_setGlobalVar(self, params, path):
        self.pbx.globals[params["variable"]] = params.get("value") or ""

    # -- endpoints -----------------------------------------------------------------

    def _endpoints(self, techName=None):
        result = []
        for tech in self.pbx.registry("technology"):
            if techName is not None and tech.name.lower() != techName.lower():
                continue
            peers = getattr(tech, "peers", None)
            names = [p.name for p in peers.allPeers()] if peers is not None and hasattr(
                peers, "allPeers") else []
            for name in names:
                result.append(self._endpoint(tech, name))
        return result

    def _endpoint(self, tech, resource):
        try:
            state = str(tech.deviceState(resource))
        except Exception:
            state = "UNKNOWN"
        state = {"UNAVAILABLE": "offline", "INVALID": "offline", "UNKNOWN": "unknown"}.get(
            state, "online")
        prefix = f"{tech.name}/{resource}-".lower()
        ids = [c.uniqueid for c in self.pbx.channels if c.name.lower().startswith(prefix)]
        return endpointJSON(tech.name, resource, state, ids)

    def endpoints_list(self, params, path):
        return self._endpoints()

    def endpoints_listByTech(self, params, path):
        if self.pbx.registry("technology").get(path["tech"]) is None:
            raise AriError(404, "Endpoints not found")
        return self._endpoints(path["tech"])

    def endpoints_get(self, params, path):
        for endpoint in self._endpoints(path["tech"]):
            if endpoint["resource"] == path["resource"]:
                return endpoint
        raise AriError(404, "Endpoint not found")

    # -- bridges -------------------------------------------------------------------

    def bridge(self, bridgeId):
        bridge = self.core.bridges.get(bridgeId)
        if bridge is None:
            raise AriError(404, "Bridge not found")
        return bridge

    def bridges_list(self, params, path):
        return [b.json() for b in self.core.bridges.values()]

    def bridges_create(self, params, path):
        return self._create(params, params.get("bridgeId"))

    def bridges_createWithId(self, params, path):
        return self._create(params, path["bridgeId"])

    def _create(self, params, bridgeId):
        if bridgeId and bridgeId in self.core.bridges:
            raise AriError(409, "Bridge with that id already exists")
        bridge = AriBridge(self.core, bridgeId, "mixing", params.get("name"))
        self.core.bridges[bridge.id] = bridge
        self.core.bridgeEvent(bridge, "BridgeCreated")
        return bridge.json()

    def bridges_get(self, params, path):
        return self.bridge(path["bridgeId"]).json()

    def bridges_destroy(self, params, path):
        self.bridge(path["bridgeId"]).destroy()

    def _controls(self, ids):
        controls = []
        for channelId in ids:
            channel = self.pbx.channels.byUniqueid(channelId)
            if channel is None or channel.isHungUp:
                raise AriError(400, "Channel not found")
            control = self.core.controls.get(channelId)
            if control is None:
                raise AriError(422, "Channel not in Stasis application")
            controls.append(control)
        return controls

    def bridges_addChannel(self, params, path):
        bridge = self.bridge(path["bridgeId"])
        controls = self._controls(params["channel"])
        new = [c for c in controls if c.channel not in bridge.channels]
        if len(bridge.channels) + len(new) > 2:
            raise AriError(409, "Bridge is full: txpbx bridges join two channels")
        for control in controls:
            bridge.add(control, mute=bool(params.get("mute")))

    def bridges_removeChannel(self, params, path):
        bridge = self.bridge(path["bridgeId"])
        controls = self._controls(params["channel"])
        for control in controls:
            if control.channel not in bridge.channels:
                raise AriError(422, "Channel not in this bridge")
        for control in controls:
            bridge.remove(control)

    def bridges_play(self, params, path):
        return self._play(params, path, params.get("playbackId"))

    def bridges_playWithId(self, params, path):
        return self._play(params, path, path["playbackId"])

    def _play(self, params, path, playbackId):
        bridge = self.bridge(path["bridgeId"])
        if playbackId and playbackId in self.core.playbacks:
            raise AriError(409, "Playback id already in use")
        playback = Playback(self.core, playbackId, params["media"], f"bridge:{bridge.id}",
                            lambda: list(bridge.channels), params.get("lang"))
        return startPlayback(self.core, playback, bridge)

    def bridges_record(self, params, path):
        bridge = self.bridge(path["bridgeId"])
        return startRecording(self.core, params, f"bridge:{bridge.id}", bridge,
                              BridgeRecording)

    # -- playbacks -----------------------------------------------------------------

    def _playback(self, playbackId):
        playback = self.core.playbacks.get(playbackId)
        if playback is None:
            raise AriError(404, "Playback not found")
        return playback

    def playbacks_get(self, params, path):
        return self._playback(path["playbackId"]).json()

    def playbacks_stop(self, params, path):
        self._playback(path["playbackId"]).stop()

    def playbacks_control(self, params, path):
        playback = self._playback(path["playbackId"])
        if playback.state not in ("playing", "paused"):
            raise AriError(409, "The operation cannot be performed in the playback's "
                                "current state")
        playback.control(params["operation"])

    # -- recordings ----------------------------------------------------------------

    def _stored(self):
        folder = recordingDir(self.pbx)
        result = {}
        if os.path.isdir(folder):
            for entry in sorted(os.listdir(folder)):
                name, ext = os.path.splitext(entry)
                if ext[1:] in RECORDING_FORMATS:
                    result.setdefault(name, (ext[1:], os.path.join(folder, entry)))
        return result

    def _storedOne(self, name):
        found = self._stored().get(name)
        if found is None:
            raise AriError(404, "Recording not found")
        return found

    def recordings_listStored(self, params, path):
        return [storedRecordingJSON(n, f) for n, (f, _) in self._stored().items()]

    def recordings_getStored(self, params, path):
        fmt, _ = self._storedOne(path["recordingName"])
        return storedRecordingJSON(path["recordingName"], fmt)

    def recordings_deleteStored(self, params, path):
        _, filename = self._storedOne(path["recordingName"])
        os.remove(filename)

    def recordings_getStoredFile(self, params, path):
        fmt, filename = self._storedOne(path["recordingName"])
        try:
            with open(filename, "rb") as f:
                return RawBody(f.read(), _CONTENT_TYPES.get(fmt, "application/octet-stream"))
        except OSError:
            raise AriError(403, "The recording file could not be opened") from None

    def _live(self, name):
        recording = self.core.recordings.get(name)
        if recording is None:
            raise AriError(404, "Recording not found")
        return recording

    def recordings_getLive(self, params, path):
        return self._live(path["recordingName"]).json()

    def recordings_stop(self, params, path):
        self._live(path["recordingName"]).finish()

    def recordings_cancel(self, params, path):
        self._live(path["recordingName"]).finish(keep=False)

    # -- sounds --------------------------------------------------------------------

    def _sounds(self):
        root = soundsDir(self.pbx)
        sounds = {}
        for folder, _, files in os.walk(root):
            rel = os.path.relpath(folder, root)
            parts = [] if rel == "." else rel.split(os.sep)
            language = parts[0] if parts and len(parts[0]) in (2, 5) and parts[0] != "moh" \
                else "en"
            if parts and parts[0] == language and rel != ".":
                parts = parts[1:]
            for entry in files:
                base, ext = os.path.splitext(entry)
                fmt = _SOUND_EXTS.get(ext.lower())
                if fmt is None:
                    continue
                name = "/".join(parts + [base])
                sounds.setdefault(name, set()).add((language, fmt))
        return sounds

    def sounds_list(self, params, path):
        result = []
        for name, formats in sorted(self._sounds().items()):
            formats = sorted(f for f in formats
                             if (not params.get("lang") or f[0] == params["lang"])
                             and (not params.get("format") or f[1] == params["format"]))
            if formats:
                result.append(soundJSON(name, formats))
        return result

    def sounds_get(self, params, path):
        formats = self._sounds().get(path["soundId"])
        if not formats:
            raise AriError(404, "Sound not found")
        return soundJSON(path["soundId"], sorted(formats))

    # -- device states -------------------------------------------------------------

    def deviceStates_list(self, params, path):
        return [deviceStateJSON(n, s) for n, s in sorted(self.core.deviceStates.items())]

    def deviceStates_get(self, params, path):
        return deviceStateJSON(path["deviceName"], self.core.deviceState(path["deviceName"]))

    def _controlled(self, name):
        if not name.startswith("Stasis:") or len(name) == len("Stasis:"):
            raise AriError(409, "Uncontrolled device specified")

    def deviceStates_update(self, params, path):
        self._controlled(path["deviceName"])
        self.core.setDeviceState(path["deviceName"], params["deviceState"])

    def deviceStates_delete(self, params, path):
        self._controlled(path["deviceName"])
        if self.core.deviceStates.pop(path["deviceName"], None) is None:
            raise AriError(404, "Device not found")

    # -- applications --------------------------------------------------------------

    def _app(self, name):
        app = self.core.apps.get(name)
        if app is None or app.session is None:
            raise AriError(404, "Application does not exist.")
        return app

    def applications_list(self, params, path):
        return [applicationJSON(a) for a in self.core.apps.values() if a.session is not None]

    def applications_get(self, params, path):
        return applicationJSON(self._app(path["applicationName"]))

    def _sources(self, sources):
        parsed = []
        for source in sources:
            scheme, _, ident = source.partition(":")
            if scheme == "channel":
                if self.pbx.channels.byUniqueid(ident) is None:
                    raise AriError(422, "Event source does not exist.")
                parsed.append(("channelIds", ident))
            elif scheme == "bridge":
                if ident not in self.core.bridges:
                    raise AriError(422, "Event source does not exist.")
                parsed.append(("bridgeIds", ident))
            elif scheme == "endpoint":
                parsed.append(("endpointIds", ident))
            elif scheme == "deviceState":
                parsed.append(("deviceNames", ident))
            else:
                raise AriError(400, "Event source scheme not recognized.")
        return parsed

    def applications_subscribe(self, params, path):
        app = self._app(path["applicationName"])
        for attr, ident in self._sources(params["eventSource"]):
            getattr(app, attr).add(ident)
            if attr == "channelIds":
                self.core.watched[ident] = self.pbx.channels.byUniqueid(ident)
        return applicationJSON(app)

    def applications_unsubscribe(self, params, path):
        app = self._app(path["applicationName"])
        sources = self._sources(params["eventSource"])
        for attr, ident in sources:
            if ident not in getattr(app, attr):
                raise AriError(409, "Application not subscribed to event source.")
        for attr, ident in sources:
            getattr(app, attr).discard(ident)
        return applicationJSON(app)

    # -- user events ---------------------------------------------------------------

    def events_userEvent(self, params, path):
        app = self.core.apps.get(params["application"])
        if app is None or app.session is None:
            raise AriError(404, "Application does not exist.")
        sources = {}
        for source in params.get("source") or ():
            scheme, _, ident = source.partition(":")
            if scheme == "channel" and self.pbx.channels.byUniqueid(ident) is not None:
                from plugins.res_ari_model import channelJSON

                sources["channel"] = channelJSON(self.pbx.channels.byUniqueid(ident))
            elif scheme == "bridge" and ident in self.core.bridges:
                sources["bridge"] = self.core.bridges[ident].json()
            else:
                raise AriError(422, "Event source not found.")
        self.core.userEvent(app, path["eventName"], params.get("variables"), sources)


class RawBody:
    """A non-JSON answer (a recording's file)."""

    def __init__(self, data, contentType):
        self.data = data
        self.contentType = contentType
