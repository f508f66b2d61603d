"""
A live conference (the shell of app_confbridge): members, the 20 ms mixing
tick on the reactor, talker events, join and leave sounds, recording.

The tick re-arms one callLater to the next whole 20 ms from the start
(plugins.app_confbridge_mix.tickDeadline), so timer lateness never adds
up; a tick that finds itself several frames late starts the count again.
"""

import os
from collections import deque

import numpy
from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.api import FrameKind, channelFields, voiceFrame
from pbxcore.media import g711
from pbxcore.media.wav import writeWav
from plugins.app_confbridge_mix import SAMPLES, TalkDetector, mixRoom, tickDeadline

log = Logger(namespace="plugins.app_confbridge")

#: Frames a member may have queued before the oldest are dropped (jitter).
INBOX = 5
ANNOUNCE = "<announcement>"


class Member:
    """One channel in a conference."""

    def __init__(self, channel, user, menu):
        self.channel = channel
        self.user = user
        self.menu = menu
        self.muted = user.startmuted
        self.waiting = False
        self.inbox = deque(maxlen=INBOX)
        self.format = next((f for f in (channel.nativeFormats or ()) if f in ("ulaw", "alaw")),
                           "ulaw")
        self.talker = TalkDetector(user.dsp_talking_threshold, 40, user.dsp_silence_threshold)
        self.done = defer.Deferred()  # fires with the reason it left
        self.digits = ""
        self.joined = 0.0

    def leave(self, reason):
        if not self.done.called:
            self.done.callback(reason)

    def take(self, frame):
        """A frame from the member's phone, kept for the next tick."""
        try:
            pcm = g711.transcode(frame.subclass, "slin", frame.data)
        except ValueError:
            return
        self.inbox.append(numpy.frombuffer(pcm, dtype=numpy.int16))

    def fields(self):
        return channelFields(self.channel) + [
            ("Admin", "Yes" if self.user.admin else "No"),
            ("Muted", "Yes" if self.muted else "No"),
        ]


class Conference:
    """A room: its members and its mixing tick."""

    def __init__(self, module, name, bridge):
        self.module = module
        self.pbx = module.pbx
        self.reactor = module.pbx.reactor
        self.name = name
        self.bridge = bridge
        self.members = []
        self.locked = False
        self.announcements = deque()
        self.recording = None  # (path, bytearray) while recorded
        self._timer = None
        self._start = None
        self._tick = 0
        self.ended = False

    # -- membership --------------------------------------------------------------

    @property
    def active(self):
        return [m for m in self.members if not m.waiting]

    def markedPresent(self):
        return any(m.user.marked for m in self.members)

    def emit(self, name, fields=()):
        self.pbx.emitEvent(name, [("Conference", self.name)] + list(fields), "call")

    def add(self, member):
        if not self.members:
            self.emit("ConfbridgeStart")
        member.joined = self.reactor.seconds()
        member.waiting = member.user.wait_marked and not self.markedPresent()
        self.members.append(member)
        if member.user.marked:
            for other in self.members:
                other.waiting = False
        self.emit("ConfbridgeJoin", member.fields())
        if not member.user.quiet:
            self.announce(self.bridge.sound_join)
        self._startTicking()
        self.module.startReading(self, member)

    def remove(self, member, reason):
        if member not in self.members:
            return
        self.members.remove(member)
        member.leave(reason)
        self.emit("ConfbridgeLeave", member.fields())
        if member.user.marked and not self.markedPresent():
            for other in list(self.members):
                if other.user.end_marked:
                    self.remove(other, "ENDMARKED")
                elif other.user.wait_marked:
                    other.waiting = True
        if not self.members:
            self.end()
        elif not member.user.quiet:
            self.announce(self.bridge.sound_leave)

    def kick(self, member):
        self.remove(member, "KICKED")

    def end(self):
        if self.ended:
            return
        self.ended = True
        for member in list(self.members):
            self.remove(member, "HANGUP")
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self.stopRecording()
        self.emit("ConfbridgeEnd")
        self.module.ended(self)

    def setMuted(self, member, muted):
        member.muted = muted
        self.emit("ConfbridgeMute" if muted else "ConfbridgeUnmute", member.fields())

    # -- sounds and recording ----------------------------------------------------

    def announce(self, sound):
        """Queue a sound every member hears (mixed in, 20 ms a tick)."""
        audio = self.module.loadSound(sound)
        if audio is None:
            return
        samples = numpy.frombuffer(audio, dtype=numpy.int16)
        for offset in range(0, len(samples), SAMPLES):
            self.announcements.append(samples[offset:offset + SAMPLES])

    def startRecording(self, path):
        if self.recording is None:
            self.recording = (path, bytearray())
            self.emit("ConfbridgeRecord")
        return self.recording[0]

    def stopRecording(self):
        if self.recording is None:
            return False
        path, pcm = self.recording
        self.recording = None
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "wb") as f:
                f.write(writeWav("slin", bytes(pcm)))
        except OSError as e:
            log.error("ConfBridge: cannot write {path}: {error}", path=path, error=str(e))
        self.emit("ConfbridgeStopRecord")
        return True

    # -- the tick ----------------------------------------------------------------

    def _startTicking(self):
        if self._timer is None and not self.ended:
            self._start = self.reactor.seconds()
            self._tick = 0
            self._timer = self.reactor.callLater(0, self._onTick)

    def _onTick(self):
        self._timer = None
        if self.ended:
            return
        try:
            self.mixOnce()
        except Exception:
            log.failure("ConfBridge {name}: mixing failed", name=self.name)
        self._tick += 1
        now = self.reactor.seconds()
        due = tickDeadline(self._start, self._tick)
        if now - due > 5 * 0.02:  # far behind (a stalled reactor): count again
            self._start, self._tick = now, 0
            due = now
        self._timer = self.reactor.callLater(max(0.0, due - now), self._onTick)

    def mixOnce(self):
        """One 20 ms frame: read one frame from each member, write each its mix."""
        frames = {}
        for member in self.active:
            frame = member.inbox.popleft() if member.inbox else None
            if member.user.talk_detection_events:
                change = member.talker.feed(frame)
                if change is not None:
                    self.emit("ConfbridgeTalking", channelFields(member.channel) + [
                        ("TalkingStatus", "on" if change else "off"),
                        ("Admin", "Yes" if member.user.admin else "No")])
            frames[member] = None if member.muted else frame
        if self.announcements:
            frames[ANNOUNCE] = self.announcements.popleft()
        heard = mixRoom(frames)
        if self.recording is not None:
            total = sum((f.astype(numpy.int32) for f in frames.values() if f is not None),
                        numpy.zeros(SAMPLES, dtype=numpy.int32))
            self.recording[1].extend(numpy.clip(total, -32768, 32767).astype("<i2").tobytes())
        for member, pcm in heard.items():
            if member is ANNOUNCE:
                continue
            data = g711.transcode("slin", member.format, pcm.astype("<i2").tobytes())
            d = defer.ensureDeferred(member.channel.writeFrame(voiceFrame(member.format, data)))
            d.addErrback(lambda f: None)

    def memberFor(self, name):
        """The member whose channel is C{name} (or starts with it)."""
        for member in self.members:
            if member.channel.name == name:
                return member
        for member in self.members:
            if member.channel.name.startswith(name):
                return member
        return None
