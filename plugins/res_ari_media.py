"""
ARI's media objects on the core: playbacks (sound files written to a
channel or to every channel of a bridge, paced in real time, never
reading), live recordings (fed the frames a Stasis channel reads) and
bridges (an ARI bridge holds its channels; two channels are joined by a
core bridge).
"""

import os
import time
import uuid

from twisted.internet import defer, task
from twisted.logger import Logger

from pbxcore.bridge import Bridge
from pbxcore.dialplan.builtins import findSoundFile, loadSound
from pbxcore.errors import ChannelHungUp
from pbxcore.frame import FrameKind, voiceFrame
from pbxcore.media import g711
from pbxcore.media.wav import writeWav
from plugins.res_ari_mixer import Mixer
from plugins.res_ari_model import bridgeJSON, liveRecordingJSON, playbackJSON

log = Logger(namespace="plugins.res_ari")

FRAME_BYTES = 160  # 20 ms of G.711
RECORDING_FORMATS = {"wav": "ulaw", "ulaw": "ulaw", "ul": "ulaw", "alaw": "alaw",
                     "al": "alaw", "sln": "slin", "raw": "slin"}


def recordingDir(pbx):
    return os.path.join(pbx.settings.spoolDir, "recording")


def findMedia(pbx, uri, language):
    """The file of a media URI (sound:, digits:, recording:), or None."""
    scheme, _, name = uri.partition(":")
    if scheme == "sound":
        return [findSoundFile(pbx, name, language)]
    if scheme == "digits":
        names = {"*": "star", "#": "pound"}
        return [findSoundFile(pbx, f"digits/{names.get(d, d)}", language)
                for d in name if d.isdigit() or d in "*#"]
    if scheme == "recording":
        for ext in RECORDING_FORMATS:
            path = os.path.join(recordingDir(pbx), f"{name}.{ext}")
            if os.path.isfile(path):
                return [path]
        return [None]
    return [None]


class Playback:
    """One ARI playback: C{targets()} gives the channels to write to."""

    def __init__(self, core, playbackId, mediaURIs, targetURI, targets, language):
        self.core = core
        self.id = playbackId or str(uuid.uuid4())
        self.mediaURIs = list(mediaURIs)
        self.mediaURI = self.mediaURIs[0]
        self.targetURI = targetURI
        self.targets = targets
        self.language = language or "en"
        self.state = "queued"
        self.stopped = False
        self.paused = None  # a Deferred fired on unpause, while paused
        self.skipBytes = 3000 * 8  # forward/reverse step (skipms of 3000 at 8 kHz)
        self._seek = None  # 0 to restart the file, or a signed byte offset

    def json(self):
        return playbackJSON(self)

    async def run(self):
        core = self.core
        files = []
        for uri in self.mediaURIs:
            files.extend(findMedia(core.pbx, uri, self.language))
        self.state = "playing"
        core.playbackEvent(self, "PlaybackStarted")
        try:
            for path in files:
                if path is None:
                    self.state = "failed"
                    break
                await self._play(path)
                if self.stopped:
                    break
        except Exception:
            log.failure("ARI playback {id} failed", id=self.id)
            self.state = "failed"
        if self.state == "playing":
            self.state = "done"
        core.playbacks.pop(self.id, None)
        core.playbackEvent(self, "PlaybackFinished")

    async def _play(self, path):
        try:
            fmt, audio = loadSound(path)
        except (OSError, ValueError):
            self.state = "failed"
            return
        clock = self.core.reactor
        width = 2 if fmt == "slin" else 1
        step = FRAME_BYTES * width
        start = clock.seconds()
        offset = sent = 0
        while offset < len(audio):
            if self.stopped:
                return
            if self.paused is not None:
                await self.paused
                start, sent = clock.seconds(), 0
                continue
            if self._seek is not None:
                offset = 0 if self._seek == 0 else max(0, offset + self._seek * width)
                offset -= offset % step
                self._seek = None
                continue
            chunk = audio[offset:offset + step]
            offset += step
            sent += len(chunk)
            channels = [c for c in self.targets() if not c.hangupRequested]
            if not channels:
                self.stopped = True
                return
            for channel in channels:
                native = channel.nativeFormats
                out, data = fmt, chunk
                if native and fmt not in native:
                    out, data = native[0], g711.transcode(fmt, native[0], chunk)
                try:
                    await channel.writeFrame(voiceFrame(out, data))
                except ChannelHungUp:
                    pass
            deadline = start + sent / width / 8000.0
            delay = deadline - clock.seconds()
            if delay > 0:
                await task.deferLater(clock, delay, lambda: None)

    def control(self, operation):
        """ARI's playback control: restart, pause, unpause, reverse, forward."""
        if operation == "pause":
            if self.paused is None:
                self.paused = defer.Deferred()
                self.state = "paused"
        elif operation == "unpause":
            self.unpause()
        elif operation == "restart":
            self._seek = 0
        elif operation == "forward":
            self._seek = self.skipBytes
        elif operation == "reverse":
            self._seek = -self.skipBytes

    def unpause(self):
        paused, self.paused = self.paused, None
        if paused is not None:
            self.state = "playing"
            paused.callback(None)

    def stop(self):
        self.stopped = True
        self.unpause()


class Generator:
    """Endless audio to one channel (ARI's moh and silence) until stopped."""

    def __init__(self, core, channel, chunks):
        self.core = core
        self.channel = channel
        self.chunks = chunks
        self.stopped = False

    async def run(self):
        clock = self.core.reactor
        start, samples = clock.seconds(), 0
        for fmt, data in self.chunks:
            if self.stopped or self.channel.hangupRequested:
                return
            try:
                await self.channel.writeFrame(voiceFrame(fmt, data))
            except ChannelHungUp:
                return
            samples += len(data) // (2 if fmt == "slin" else 1)
            delay = start + samples / 8000.0 - clock.seconds()
            if delay > 0:
                await task.deferLater(clock, delay, lambda: None)


def loopFiles(files, fmt):
    """Endless 20 ms chunks of the sound files in turn, converted to C{fmt}."""
    while True:
        played = False
        for path in files:
            try:
                source, audio = loadSound(path)
                audio = g711.transcode(source, fmt, audio)
            except (OSError, ValueError):
                continue
            step = FRAME_BYTES * (2 if fmt == "slin" else 1)
            for offset in range(0, len(audio) - step + 1, step):
                played = True
                yield fmt, audio[offset:offset + step]
        if not played:
            return


def silence(fmt):
    """Endless 20 ms chunks of silence in C{fmt}."""
    chunk = {"ulaw": b"\xff", "alaw": b"\xd5"}.get(fmt, b"\x00\x00") * FRAME_BYTES
    while True:
        yield fmt, chunk


class LiveRecording:
    """An ARI live recording of a Stasis channel's incoming audio."""

    def __init__(self, core, name, fmt, targetURI, maxDuration, terminateOn, ifExists):
        self.core = core
        self.name = name
        self.format = fmt
        self.targetURI = targetURI
        self.maxDuration = maxDuration
        self.terminateOn = terminateOn
        self.ifExists = ifExists
        self.state = "recording"
        self.cause = ""
        self.audio = bytearray()
        self.started = core.reactor.seconds()
        self.duration = 0
        self._timer = None
        self.path = os.path.join(recordingDir(core.pbx), f"{name}.{fmt}")
        if maxDuration:
            self._timer = core.reactor.callLater(maxDuration, self.finish)

    def json(self):
        return liveRecordingJSON(self)

    def frame(self, frame):
        if self.state != "recording":
            return
        if frame.kind is FrameKind.VOICE and frame.subclass in ("ulaw", "alaw", "slin"):
            self.audio += g711.transcode(frame.subclass, RECORDING_FORMATS[self.format],
                                         frame.data)
        elif frame.kind is FrameKind.DTMF_END and self.terminateOn != "none":
            if self.terminateOn == "any" or frame.subclass == self.terminateOn:
                self.finish()

    def finish(self, keep=True):
        if self.state != "recording":
            return
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self.duration = int(self.core.reactor.seconds() - self.started)
        self.state = "done" if keep else "canceled"
        if keep:
            self._write()
        self.core.recordingFinished(self)

    def _write(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        data = bytes(self.audio)
        mode = "wb"
        if self.ifExists == "append" and os.path.exists(self.path) and self.format != "wav":
            mode = "ab"
        if self.format == "wav":
            data = writeWav("ulaw", data)
        with open(self.path, mode) as f:
            f.write(data)


class BridgeRecording(LiveRecording):
    """
    A live recording of a bridge: the audio each channel sends into the
    bridge, mixed (L{plugins.res_ari_mixer.Mixer}).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mixer = Mixer(self._mixed)

    @property
    def legs(self):
        return self.mixer.buffers

    def _mixed(self, pcm):
        self.audio += g711.transcode("slin", RECORDING_FORMATS[self.format], pcm)

    def legFrame(self, leg, frame):
        if self.state == "recording" and frame.kind is FrameKind.VOICE:
            self.mixer.add(leg, frame.subclass, frame.data)

    def finish(self, keep=True):
        if self.state == "recording" and keep:
            self.mixer.flush()
        super().finish(keep)


class _Tap:
    """A bridge leg's sink whose writes are also given to the bridge's recordings."""

    def __init__(self, channel, aribridge, leg):
        self._channel = channel
        self._aribridge = aribridge
        self._leg = leg

    def writeFrame(self, frame):
        for recording in list(self._aribridge.recorders):
            recording.legFrame(self._leg, frame)
        return self._channel.writeFrame(frame)

    def __getattr__(self, name):
        return getattr(self._channel, name)


class StasisBridge(Bridge):
    """
    The core two-party bridge, stoppable from ARI, with DTMF always
    passed as frames (so that the core sees it and ARI reports
    ChannelDtmfReceived) and muted channels' audio dropped.
    """

    def __init__(self, pbx, aribridge):
        super().__init__(pbx, technology="simple_bridge", bridgeType="stasis",
                         creator="Stasis", name=aribridge.name)
        self.uniqueid = aribridge.id
        self.aribridge = aribridge
        self._stop = None

    @staticmethod
    def _eventsNatively(channel, rtp):
        return False

    def _nativePair(self):
        if self.aribridge.recorders or any(self.aribridge.muted(c) for c in self.channels):
            return None
        return super()._nativePair()

    def stop(self, channel):
        if self._stop is not None and not self._stop.called:
            self._stop.callback(channel)

    async def run(self, first, second):
        self._stop = defer.Deferred()
        stopper = self._stop
        bridged = defer.ensureDeferred(super().run(first, second))
        stopper.addCallback(self._breakPumps, first, second)
        result = await defer.DeferredList([bridged, stopper], fireOnOneCallback=True,
                                          consumeErrors=True)
        if not bridged.called:
            await bridged
        return result

    def _breakPumps(self, channel, first, second):
        # The pumps wait in readFrame: cancelling those reads ends run().
        for c in (first, second):
            c.cancelReads()
        return channel

    async def _pump(self, source, sink, done):
        tapped = _Tap(sink, self.aribridge, source.uniqueid)
        try:
            await super()._pump(source, tapped, done)
        except defer.CancelledError:
            if not done.called:
                done.callback(source)


class AriBridge:
    """An ARI bridge: up to two Stasis channels, joined by a StasisBridge."""

    def __init__(self, core, bridgeId, bridgeType, name):
        self.core = core
        self.id = bridgeId or str(uuid.uuid4())
        self.technology = "simple_bridge"
        self.bridgeType = bridgeType or "mixing"
        self.bridgeClass = "stasis"
        self.creator = "Stasis"
        self.name = name or ""
        self.channels = []
        self.creationTime = time.time()
        self.core_bridge = None
        self.mutes = set()
        self.playQueue = None
        self.recorders = []

    def json(self):
        return bridgeJSON(self)

    def muted(self, channel):
        return channel.uniqueid in self.mutes

    def add(self, control, mute=False):
        channel = control.channel
        if channel in self.channels:
            return
        if control.bridge is not None:
            control.bridge.remove(control)
        self.channels.append(channel)
        if mute:
            self.mutes.add(channel.uniqueid)
        control.bridge = self
        control.app.bridgeIds.add(self.id)  # as Asterisk: the app now follows the bridge
        self.core.bridgeEvent(self, "ChannelEnteredBridge", channel)
        self._update()

    def remove(self, control):
        channel = control.channel
        if channel not in self.channels:
            return
        self.channels.remove(channel)
        self.mutes.discard(channel.uniqueid)
        control.bridge = None
        if self.core_bridge is not None:
            self.core_bridge.stop(channel)
        control.setPumping(False)
        self.core.bridgeEvent(self, "ChannelLeftBridge", channel)

    def _update(self):
        if self.core_bridge is not None or len(self.channels) != 2:
            return
        first, second = self.channels
        controls = [self.core.controls.get(c.uniqueid) for c in (first, second)]
        if None in controls:
            return
        for control in controls:
            control.setPumping(True)
        bridge = self.core_bridge = StasisBridge(self.core.pbx, self)
        d = defer.ensureDeferred(bridge.run(first, second))
        d.addErrback(lambda f: log.failure("ARI bridge {id}", f, id=self.id))
        d.addBoth(self._ended, bridge)

    def _ended(self, _, bridge):
        if self.core_bridge is bridge:
            self.core_bridge = None
        for channel in list(self.channels):
            control = self.core.controls.get(channel.uniqueid)
            if control is not None:
                control.setPumping(False)
        if len(self.channels) == 2 and all(not c.hangupRequested for c in self.channels):
            self.core.reactor.callLater(0, self._update)

    def record(self, recording):
        self.recorders.append(recording)
        if self.core_bridge is not None:
            self.core_bridge.updateNative()  # frames, not the native relay, while recording

    def destroy(self):
        for recording in list(self.recorders):
            recording.finish()
        for channel in list(self.channels):
            control = self.core.controls.get(channel.uniqueid)
            if control is not None:
                self.remove(control)
            else:
                self.channels.remove(channel)
        self.core.bridges.pop(self.id, None)
        self.core.bridgeEvent(self, "BridgeDestroyed")
        for app in self.core.apps.values():
            app.bridgeIds.discard(self.id)
