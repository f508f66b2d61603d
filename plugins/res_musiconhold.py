"""
Music on hold from folders of sound files (Asterisk's res_musiconhold in
its 'files' mode).

musiconhold.conf::

    [default]
    mode = files
    directory = moh          ; relative to astsoundsdir, or absolute
    sort = alpha             ; or random

MusicOnHold([class[,duration]]) plays the class's files in a loop to the
caller, for C{duration} seconds or until hangup. Other modules start hold
music on a channel with L{MusicOnHoldModule.play}.
"""

import os
import random

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module
from pbxcore.config import ConfigError, parseFile
from pbxcore.dialplan.builtins import loadSound, soundsDir
from pbxcore.dialplan.expr import splitArgs
from pbxcore.frame import ChannelState
from pbxcore.media import g711
from pbxcore.media.playout import FRAME_MS, playChunks, playoutFormat

log = Logger(namespace="plugins.res_musiconhold")

_EXTENSIONS = (".wav", ".ulaw", ".alaw", ".sln", ".raw", ".pcm", ".ul", ".al")


class MusicClass:
    """One [class] of musiconhold.conf."""

    def __init__(self, name, directory, sort="alpha"):
        self.name = name
        self.directory = directory
        self.sort = sort

    def files(self):
        """The sound files of the class, in play order."""
        try:
            names = [n for n in os.listdir(self.directory)
                     if n.lower().endswith(_EXTENSIONS) and not n.startswith(".")]
        except OSError:
            return []
        names.sort()
        if self.sort == "random":
            random.shuffle(names)
        return [os.path.join(self.directory, n) for n in names]


def parseClasses(config, soundsRoot):
    """{class name: MusicClass} from a parsed musiconhold.conf."""
    classes = {}
    for section in config.sections:
        name = section.name
        if name.lower() == "general":
            continue
        mode = (section.get("mode") or "files").lower()
        if mode not in ("files", "playlist"):
            raise ConfigError(f"[{name}]: mode {mode!r} is not supported (files)",
                              section.filename, section.line)
        directory = section.get("directory")
        if not directory:
            raise ConfigError(f"[{name}]: no directory", section.filename, section.line)
        if not os.path.isabs(directory):
            directory = os.path.join(soundsRoot, directory)
        sort = (section.get("sort") or "alpha").lower()
        classes[name.lower()] = MusicClass(name, directory, sort)
    return classes


def _chunks(channel, files, fmt):
    """Endless 20 ms chunks of the files in turn, in the channel's format."""
    while True:
        played = False
        for path in files:
            try:
                sourceFormat, audio = loadSound(path)
            except (OSError, ValueError) as e:
                log.warn("music on hold: cannot play {path}: {error}", path=path, error=str(e))
                continue
            try:
                audio = g711.transcode(sourceFormat, fmt, audio)
            except ValueError:
                continue
            step = FRAME_MS * 8 * (2 if fmt == "slin" else 1)
            for offset in range(0, len(audio) - step + 1, step):
                played = True
                yield fmt, audio[offset:offset + step]
        if not played:
            return


class MusicOnHoldModule(Module):
    """res_musiconhold: MusicOnHold() and hold music for other modules."""

    def __init__(self):
        self.classes = {}
        self.pbx = None

    def _load(self, pbx):
        root = soundsDir(pbx)
        classes = {"default": MusicClass("default", os.path.join(root, "moh"))}
        configDir = getattr(pbx, "configDir", None)
        path = os.path.join(configDir, "musiconhold.conf") if configDir else None
        if path and os.path.exists(path):
            classes.update(parseClasses(parseFile(path), root))
        return classes

    def load(self, pbx, registrar):
        self.pbx = pbx
        self.classes = self._load(pbx)
        registrar.register("application", FunctionApplication(
            "MusicOnHold", self.musicOnHold, "Play Music On Hold indefinitely"))

    def reload(self, pbx):
        self.classes = self._load(pbx)

    def unload(self, pbx):
        self.classes = {}

    async def play(self, channel, className="default", seconds=None):
        """Hold music to C{channel} for C{seconds} (None: until hangup)."""
        music = self.classes.get((className or "default").lower())
        if music is None:
            log.warn("music on hold class {name} does not exist", name=className)
            return False
        files = music.files()
        if not files:
            log.warn("music on hold class {name} has no files in {directory}",
                     name=music.name, directory=music.directory)
            return False
        await playChunks(channel, _chunks(channel, files, playoutFormat(channel)),
                         maxSeconds=seconds)
        return True

    async def musicOnHold(self, channel, data):
        args = splitArgs(data or "")
        className = args[0].strip() if args and args[0].strip() else "default"
        seconds = None
        if len(args) > 1 and args[1].strip():
            try:
                seconds = float(args[1])
            except ValueError:
                log.warn("MusicOnHold: bad duration {value!r}", value=args[1])
        if channel.state != ChannelState.UP:
            await channel.answer()
        if not await self.play(channel, className, seconds):
            # Asterisk waits out the duration in silence when it cannot play.
            if seconds:
                await channel.sleep(seconds)
