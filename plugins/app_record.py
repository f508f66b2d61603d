"""
Record(filename.format[,silence[,maxduration[,options]]]): record what the
caller says to a file, after a beep, until C{silence} seconds of silence,
'#' (or '*' with 't'), C{maxduration} seconds, or hangup.

Formats: wav (8 kHz 16-bit PCM), ulaw/alaw (raw G.711), sln/raw (raw
linear). '%d' in the name becomes the first number making a new file. Relative
names are taken under the sounds folder (astsoundsdir), so that Playback
finds a recording by the same name; absolute names are used as they are.

Options: a append, n no answer, q no beep, s skip when not answered,
t '*' ends instead of '#', x no key ends, y any key ends, k keep the file on
hangup (otherwise a hangup deletes it, as in Asterisk).

Sets RECORDED_FILE (without extension) and RECORD_STATUS: DTMF, SILENCE,
TIMEOUT, HANGUP, SKIP, ERROR.
"""

import os
from array import array

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module
from pbxcore.dialplan.builtins import findSoundFile, soundsDir, streamFile
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ChannelHungUp
from pbxcore.frame import ChannelState, FrameKind
from pbxcore.media import g711
from pbxcore.media.wav import readWav, wavHeader

log = Logger(namespace="plugins.app_record")

#: Average absolute amplitude under which a frame counts as silence
#: (Asterisk's default silencethreshold in dsp.conf).
SILENCE_THRESHOLD = 256
#: Silence kept at the end of a recording stopped by silence.
KEEP_TRAILING_MS = 200

_FORMATS = {"wav": "slin", "ulaw": "ulaw", "ul": "ulaw", "pcm": "ulaw", "alaw": "alaw",
            "al": "alaw", "sln": "slin", "raw": "slin"}


def isSilent(linear: bytes, threshold: int = SILENCE_THRESHOLD) -> bool:
    """Whether 16-bit linear audio's mean absolute amplitude is under C{threshold}."""
    samples = array("h")
    samples.frombytes(linear[: len(linear) & ~1])
    if not samples:
        return True
    return sum(map(abs, samples)) < threshold * len(samples)


def _number(text, default):
    try:
        return float(text) if text and text.strip() else default
    except ValueError:
        return default


def _resolve(pbx, name):
    if os.path.isabs(name):
        return name
    return os.path.join(soundsDir(pbx) or ".", name)


def _uniqueName(template):
    if "%d" not in template:
        return template
    n = 0
    while True:
        candidate = template.replace("%d", str(n), 1)
        if not os.path.exists(candidate):
            return candidate
        n += 1


class Recording:
    """The audio recorded so far, in the file's format, and how it ends."""

    def __init__(self, fmt, silenceSeconds):
        self.format = fmt
        self.audio = bytearray()
        self.silenceSamples = int(silenceSeconds * 8000)
        self.silentRun = 0

    def add(self, frame):
        """Append a voice frame; True when the silence limit was reached."""
        try:
            linear = g711.decode(frame.subclass, frame.data)
        except ValueError:
            return False
        self.audio += g711.encode(self.format, linear) if self.format != "slin" else linear
        samples = len(linear) // 2
        if isSilent(linear):
            self.silentRun += samples
        else:
            self.silentRun = 0
        return bool(self.silenceSamples) and self.silentRun >= self.silenceSamples

    def trimSilence(self):
        width = 2 if self.format == "slin" else 1
        drop = max(0, self.silentRun - KEEP_TRAILING_MS * 8) * width
        if drop:
            del self.audio[len(self.audio) - drop:]


def _write(path, fmt, container, audio, append):
    if container == "wav":
        if append and os.path.exists(path):
            with open(path, "rb") as f:
                try:
                    old = readWav(f.read(), path)
                    audio = g711.transcode(old.format, fmt, old.data) + bytes(audio)
                except ValueError:
                    pass
        with open(path, "wb") as f:
            f.write(wavHeader(fmt, len(audio)))
            f.write(audio)
            if len(audio) & 1:
                f.write(b"\x00")
    else:
        with open(path, "ab" if append else "wb") as f:
            f.write(audio)


async def record(channel, data):
    args = splitArgs(data or "")
    target = args[0].strip() if args else ""
    base, dot, container = target.rpartition(".")
    container = container.lower()
    if not dot or not base or container not in _FORMATS:
        log.warn("Record: {target!r} needs a file name and a format (wav, ulaw, alaw, sln)",
                 target=target)
        channel.setVariable("RECORD_STATUS", "ERROR")
        return
    silence = _number(args[1] if len(args) > 1 else "", 0)
    maxDuration = _number(args[2] if len(args) > 2 else "", 0)
    options = args[3] if len(args) > 3 else ""
    if "x" in options:
        terminators = ""
    elif "y" in options:
        terminators = "0123456789*#ABCD"
    else:
        terminators = "*" if "t" in options else "#"

    if channel.state != ChannelState.UP:
        if "s" in options:
            channel.setVariable("RECORD_STATUS", "SKIP")
            return
        if "n" not in options:
            await channel.answer()

    path = _uniqueName(_resolve(channel.pbx, base)) + "." + container
    channel.setVariable("RECORDED_FILE", path[: -len(container) - 1])
    fmt = _FORMATS[container]
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    except OSError as e:
        log.warn("Record: cannot create the folder of {path}: {error}", path=path, error=str(e))
        channel.setVariable("RECORD_STATUS", "ERROR")
        return

    if "q" not in options and findSoundFile(channel.pbx, "beep", channel.language):
        try:
            await streamFile(channel, "beep")
        except (FileNotFoundError, ValueError):
            pass

    recording = Recording(fmt, silence)
    clock = channel.reactor
    deadline = clock.seconds() + maxDuration if maxDuration > 0 else None
    status = "HANGUP"
    try:
        while True:
            timeout = None
            if deadline is not None:
                timeout = deadline - clock.seconds()
                if timeout <= 0:
                    status = "TIMEOUT"
                    break
            frame = await channel.readFrame(timeout)
            if frame is None:
                continue
            if frame.kind is FrameKind.VOICE:
                if recording.add(frame):
                    recording.trimSilence()
                    status = "SILENCE"
                    break
            elif frame.kind is FrameKind.DTMF_END and frame.subclass in terminators:
                status = "DTMF"
                break
    except ChannelHungUp:
        channel.setVariable("RECORD_STATUS", "HANGUP")
        if "k" in options:
            _write(path, fmt, container, recording.audio, "a" in options)
        raise
    try:
        _write(path, fmt, container, recording.audio, "a" in options)
    except OSError as e:
        log.warn("Record: cannot write {path}: {error}", path=path, error=str(e))
        channel.setVariable("RECORD_STATUS", "ERROR")
        return
    channel.setVariable("RECORD_STATUS", status)


class AppRecordModule(Module):
    """The Record application."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Record", record, "Record to a file"))
