"""
Call recording (Asterisk's app_mixmonitor).

MixMonitor(file.wav[,options[,command]]) records, in the background, what
a channel hears and what it says mixed into one 8 kHz 16-bit WAV file
(relative names go to <astspooldir>/monitor) until the channel hangs up or
StopMixMonitor([id]) stops it; C{command} then runs through the shell as
in Asterisk. MIXMONITOR_FILENAME is set; C{${MIXMONITOR_ID}} names the
recording for StopMixMonitor. Options (plugins.app_mixmonitor_options):
a, b, v(x), V(x), W(x). The manager's MixMonitor and StopMixMonitor do the
same for a channel by name; MixMonitorStart and MixMonitorStop are sent.

While a channel is recorded its bridge carries audio as frames (a channel
datastore C{audiohook} keeps the native RTP shortcut off), so both
directions pass the core.
"""

import os
import subprocess
import uuid

from twisted.logger import Logger

from pbxcore.api import (
    Action,
    FunctionApplication,
    FrameKind,
    ManagerError,
    Module,
    Success,
    channelFields,
    required,
    splitArgs,
)
from pbxcore.media import g711
from pbxcore.media.wav import WavError, readWav, writeWav
from plugins.res_ari_mixer import Mixer
from plugins.app_mixmonitor_options import adjustVolume, parseOptions

log = Logger(namespace="plugins.app_mixmonitor")

AUDIOHOOK = "audiohook"


def spoolDirOf(pbx):
    settings = getattr(pbx, "settings", None)
    spool = settings.get("spoolDir") if settings is not None else None
    return spool or os.path.join(getattr(pbx, "dataDir", None) or ".", "spool")


class Recording:
    """One MixMonitor on one channel: taps both directions, writes the WAV at the end."""

    def __init__(self, module, channel, path, options, command=""):
        self.module = module
        self.channel = channel
        self.path = path
        self.options = options
        self.command = command
        self.id = str(uuid.uuid4())
        self.pcm = bytearray()
        self.mixer = Mixer(self.pcm.extend)
        self.stopped = False
        self.received = channel.frameReceived
        self.written = channel.writeFrame
        channel.frameReceived = self.inbound
        channel.writeFrame = self.outbound
        hooks = channel.datastores.setdefault(AUDIOHOOK, set())
        hooks.add(self.id)
        self._relink()
        channel.notifyOnHangup(lambda _: self.stop())

    def _relink(self):
        bridge = getattr(self.channel, "bridge", None)
        update = getattr(bridge, "updateNative", None)
        if update is not None:
            update()

    def _copy(self, direction, frame):
        if self.stopped or frame.kind is not FrameKind.VOICE:
            return
        if self.options.bridgedOnly and getattr(self.channel, "bridge", None) is None:
            return
        if frame.subclass not in ("ulaw", "alaw", "slin"):
            return
        pcm = g711.transcode(frame.subclass, "slin", frame.data)
        steps = self.options.readVolume if direction == "read" else self.options.writeVolume
        self.mixer.add(direction, "slin", adjustVolume(pcm, steps))

    def inbound(self, frame):
        self._copy("read", frame)
        return self.received(frame)

    def outbound(self, frame):
        self._copy("write", frame)
        return self.written(frame)

    def stop(self):
        """Untap, write the file (appending with option a), run the command."""
        if self.stopped:
            return
        self.stopped = True
        channel = self.channel
        if channel.__dict__.get("frameReceived") == self.inbound:
            channel.frameReceived = self.received
        if channel.__dict__.get("writeFrame") == self.outbound:
            channel.writeFrame = self.written
        hooks = channel.datastores.get(AUDIOHOOK)
        if hooks is not None:
            hooks.discard(self.id)
            if not hooks:
                del channel.datastores[AUDIOHOOK]
        self._relink()
        self.mixer.flush()
        self.module.finished(self)
        self._write()

    def _write(self):
        audio = bytes(self.pcm)
        try:
            if self.options.append and os.path.exists(self.path):
                with open(self.path, "rb") as f:
                    old = readWav(f.read(), self.path)
                audio = g711.transcode(old.format, "slin", old.data) + audio
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with open(self.path, "wb") as f:
                f.write(writeWav("slin", audio))
        except (OSError, WavError) as e:
            log.error("MixMonitor: cannot write {path}: {error}", path=self.path, error=str(e))
            return
        if self.command:
            try:
                subprocess.Popen(self.command, shell=True, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except OSError as e:
                log.error("MixMonitor: cannot run {command}: {error}",
                          command=self.command, error=str(e))


class MixMonitorModule(Module):
    """app_mixmonitor: MixMonitor(), StopMixMonitor(), the manager actions."""

    def __init__(self):
        self.pbx = None
        self.recordings = {}  # id -> Recording

    def load(self, pbx, registrar):
        self.pbx = pbx
        registrar.register("application", FunctionApplication(
            "MixMonitor", self.mixMonitor, "Record a call and mix the audio during the recording"))
        registrar.register("application", FunctionApplication(
            "StopMixMonitor", self.stopMixMonitor, "Stop recording a call through MixMonitor"))
        registrar.register("manageraction", Action(
            "MixMonitor", ("system", "call"), "Record a call and mix the audio during the "
            "recording.", self.managerMixMonitor))
        registrar.register("manageraction", Action(
            "StopMixMonitor", ("system", "call"), "Stop recording a call through MixMonitor, "
            "and free the recording's file handle.", self.managerStopMixMonitor))
        registrar.addCleanup(self.stopAll)

    def stopAll(self):
        for recording in list(self.recordings.values()):
            recording.stop()

    def path(self, name):
        if os.path.isabs(name):
            return name
        return os.path.join(spoolDirOf(self.pbx), "monitor", name)

    def start(self, channel, name, optionText="", command=""):
        """Start recording C{channel} into C{name}; ValueError for bad options."""
        if not name:
            raise ValueError("a file name is required")
        options = parseOptions(optionText)
        recording = Recording(self, channel, self.path(name), options, command)
        self.recordings[recording.id] = recording
        channel.setVariable("MIXMONITOR_FILENAME", recording.path)
        self.pbx.emitEvent("MixMonitorStart", channelFields(channel), "call")
        return recording

    def finished(self, recording):
        if self.recordings.pop(recording.id, None) is not None:
            self.pbx.emitEvent("MixMonitorStop", channelFields(recording.channel), "call")

    def stop(self, channel, recordingId=""):
        """Stop C{channel}'s recordings (or only C{recordingId}); how many stopped."""
        stopped = 0
        for recording in list(self.recordings.values()):
            if recording.channel is channel and (not recordingId or recording.id == recordingId):
                recording.stop()
                stopped += 1
        return stopped

    def mixMonitor(self, channel, data):
        args = splitArgs(data or "")
        name = args[0].strip() if args else ""
        try:
            recording = self.start(channel, name, args[1].strip() if len(args) > 1 else "",
                                   args[2].strip() if len(args) > 2 else "")
        except ValueError as e:
            log.warn("MixMonitor: {error}", error=str(e))
            return
        channel.setVariable("MIXMONITOR_ID", recording.id)

    def stopMixMonitor(self, channel, data):
        self.stop(channel, (data or "").strip())

    def _channel(self, request):
        name = required(request, "Channel")
        channel = self.pbx.channels.get(name)
        if channel is None:
            raise ManagerError("No such channel")
        return channel

    def managerMixMonitor(self, session, request):
        channel = self._channel(request)
        try:
            recording = self.start(channel, (request.get("File") or "").strip(),
                                   (request.get("Options") or "").strip(),
                                   (request.get("Command") or "").strip())
        except ValueError as e:
            raise ManagerError(f"Could not start monitoring channel: {e}")
        return Success(fields=(("MixMonitorID", recording.id),))

    def managerStopMixMonitor(self, session, request):
        channel = self._channel(request)
        if not self.stop(channel, (request.get("MixMonitorID") or "").strip()):
            raise ManagerError("Could not stop monitoring channel")
        return Success()
