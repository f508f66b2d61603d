"""
Voicemail configuration and the mailbox store.

C{voicemail.conf} keeps Asterisk's format::

    [general]
    format = wav         ; how messages are stored (8 kHz 16-bit PCM WAV)
    maxmsg = 100         ; messages per folder
    maxsecs = 180        ; longest message
    minsecs = 0          ; shorter messages are discarded
    maxsilence = 10      ; seconds of silence that end a recording
    silencethreshold = 128
    maxlogins = 3

    [default]            ; a context of mailboxes
    1001 => 1234,Alice,alice@example.com,,attach=no|saycid=yes

Messages live under the spool directory as Asterisk lays them out:
C{voicemail/<context>/<mailbox>/<folder>/msgNNNN.wav} with the metadata in
C{msgNNNN.txt} (a C{[message]} section: callerid, origtime, duration, ...).
Message numbers are stable while a message stays in its folder, so a
listener's list of messages never points at the wrong file.

The store does plain file I/O and never touches the reactor. Whoever
changes a mailbox's counts tells the observers registered with
L{MailboxStore.observe}: that is how MWI reacts at once.
"""

from __future__ import annotations

import os
import re
import time
import wave
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from twisted.logger import Logger

from pbxcore.config import Config, ConfigError, parseFile, parseText

__all__ = [
    "FOLDERS", "Mailbox", "MailboxStore", "MessageInfo", "VoicemailConfig",
    "VoicemailGeneral", "parseVoicemailConf", "readVoicemailConf", "splitMailbox",
]

#: The folders VoiceMailMain knows, in the order of their menu digits.
FOLDERS = ("INBOX", "Old", "Work", "Family", "Friends")

#: Sections of voicemail.conf that are not contexts of mailboxes.
_SPECIAL_SECTIONS = frozenset(("general", "zonemessages"))

_MSG_RE = re.compile(r"^msg(\d{4})\.txt$")


def splitMailbox(spec: str, defaultContext: str = "default") -> tuple[str, str]:
    """C{'1001@office'} -> C{('1001', 'office')}; no context means C{defaultContext}."""
    box, _, context = (spec or "").strip().partition("@")
    return box.strip(), (context.strip() or defaultContext)


@dataclass(frozen=True)
class VoicemailGeneral:
    """The [general] settings that shape recording and login."""

    format: str = "wav"
    maxmsg: int = 100
    maxsecs: int = 0
    minsecs: int = 0
    maxsilence: int = 10
    silencethreshold: int = 128
    maxlogins: int = 3
    serveremail: str = ""


@dataclass(frozen=True)
class Mailbox:
    """One mailbox line: C{1001 => pin,fullname,email,pager,options}."""

    context: str
    mailbox: str
    password: str = ""
    fullname: str = ""
    email: str = ""
    pager: str = ""
    options: tuple = ()

    @property
    def id(self) -> str:
        return f"{self.mailbox}@{self.context}"

    def option(self, key: str, default: Optional[str] = None) -> Optional[str]:
        for name, value in self.options:
            if name.lower() == key.lower():
                return value
        return default


@dataclass(frozen=True)
class VoicemailConfig:
    """A whole voicemail.conf: general settings and the mailboxes by context."""

    general: VoicemailGeneral = field(default_factory=VoicemailGeneral)
    mailboxes: tuple = ()  # Mailbox, in file order

    def find(self, mailbox: str, context: str = "default") -> Optional[Mailbox]:
        context = (context or "default").lower()
        for box in self.mailboxes:
            if box.mailbox == mailbox and box.context.lower() == context:
                return box
        return None

    def findSpec(self, spec: str) -> Optional[Mailbox]:
        return self.find(*splitMailbox(spec))

    def contexts(self) -> list:
        seen = []
        for box in self.mailboxes:
            if box.context not in seen:
                seen.append(box.context)
        return seen


_INT_KEYS = ("maxmsg", "maxsecs", "minsecs", "maxsilence", "silencethreshold", "maxlogins")
_FORMATS = ("wav", "wav16", "ulaw", "alaw", "gsm", "wav49", "g722", "sln")


def parseVoicemailConf(config: Config) -> VoicemailConfig:
    """
    The settings and mailboxes of a parsed voicemail.conf; ConfigError with
    file:line on a bad number or a duplicate mailbox.
    """
    values = {}
    general = config.section("general")
    if general is not None:
        for entry in general.entries:
            key = entry.key.lower()
            if key in _INT_KEYS or key == "maxmessage" or key == "maxmessages":
                key = "maxsecs" if key == "maxmessage" else ("maxmsg" if key == "maxmessages" else key)
                try:
                    number = int(entry.value)
                except ValueError:
                    raise ConfigError(f"{entry.key} must be a whole number, not {entry.value!r}",
                                      entry.filename, entry.line)
                if number < 0:
                    raise ConfigError(f"{entry.key} must not be negative",
                                      entry.filename, entry.line)
                values[key] = number
            elif key == "format":
                first = entry.value.split("|")[0].split(",")[0].strip().lower()
                if first not in _FORMATS:
                    raise ConfigError(f"unknown voicemail format {entry.value!r}",
                                      entry.filename, entry.line)
                values["format"] = first
            elif key == "serveremail":
                values["serveremail"] = entry.value
    mailboxes = []
    seen = {}
    for section in config.sections:
        if section.name.lower() in _SPECIAL_SECTIONS:
            continue
        for entry in section.entries:
            box = entry.key.strip()
            if not box:
                continue
            parts = [p.strip() for p in entry.value.split(",")]
            parts += [""] * (5 - len(parts))
            options = []
            for item in parts[4].split("|") if parts[4] else ():
                name, _, value = item.partition("=")
                if name.strip():
                    options.append((name.strip(), value.strip()))
            key = (section.name.lower(), box)
            if key in seen:
                raise ConfigError(f"mailbox {box}@{section.name} is defined twice "
                                  f"(first at line {seen[key]})", entry.filename, entry.line)
            seen[key] = entry.line
            mailboxes.append(Mailbox(section.name, box, parts[0].lstrip("-*"), parts[1],
                                     parts[2], parts[3], tuple(options)))
    return VoicemailConfig(VoicemailGeneral(**values), tuple(mailboxes))


def readVoicemailConf(configDir: str) -> VoicemailConfig:
    """voicemail.conf of C{configDir}, or no mailboxes at all when it is absent."""
    path = os.path.join(configDir, "voicemail.conf")
    if not os.path.exists(path):
        return VoicemailConfig()
    return parseVoicemailConf(parseFile(path))


@dataclass(frozen=True)
class MessageInfo:
    """One stored message; C{path} is its name without extension."""

    context: str
    mailbox: str
    folder: str
    number: int
    callerid: str = ""
    origtime: int = 0
    duration: int = 0
    exten: str = ""
    callerchan: str = ""
    msgId: str = ""

    @property
    def basename(self) -> str:
        return f"msg{self.number:04d}"


def _metadataText(info: MessageInfo) -> str:
    when = time.strftime("%a %b %d %I:%M:%S %p UTC %Y", time.gmtime(info.origtime))
    lines = [";", "; Message Information file", ";", "[message]",
             f"origmailbox={info.mailbox}", f"context={info.context}",
             f"exten={info.exten}", f"callerchan={info.callerchan}",
             f"callerid={info.callerid}", f"origdate={when}",
             f"origtime={info.origtime}", f"msg_id={info.msgId}",
             f"duration={info.duration}", ""]
    # ';' starts a comment in .conf files; keep caller ids readable back.
    return "\n".join(line if line.startswith(";") else line.replace(";", "\\;")
                     for line in lines)


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class MailboxStore:
    """
    The messages of every mailbox under C{spoolDir}/voicemail. Observers
    (L{observe}) hear C{(context, mailbox, new, old)} after each change.
    """

    log = Logger()

    def __init__(self, spoolDir: str, clock: Callable[[], float] = time.time):
        self.root = os.path.join(spoolDir, "voicemail")
        self._clock = clock
        self._observers = []

    # -- observers -----------------------------------------------------------

    def observe(self, callback) -> Callable[[], None]:
        """Call C{callback(context, mailbox, new, old)} on changes; returns an undo."""
        self._observers.append(callback)

        def stop():
            if callback in self._observers:
                self._observers.remove(callback)

        return stop

    def changed(self, context, mailbox):
        """Tell the observers the counts of C{mailbox} (after a change, or on request)."""
        new, old = self.counts(context, mailbox)
        for callback in list(self._observers):
            try:
                callback(context, mailbox, new, old)
            except Exception:
                self.log.failure("mailbox observer {callback!r} failed", callback=callback)

    # -- paths and listing ---------------------------------------------------

    def folderPath(self, context: str, mailbox: str, folder: str = "INBOX") -> str:
        for part in (context, mailbox, folder):
            if not part or "/" in part or "\\" in part or part in (".", ".."):
                raise ValueError(f"bad mailbox path component {part!r}")
        return os.path.join(self.root, context, mailbox, folder)

    def mailboxPath(self, context: str, mailbox: str) -> str:
        return os.path.dirname(self.folderPath(context, mailbox))

    def audioPath(self, info: MessageInfo) -> str:
        return os.path.join(self.folderPath(info.context, info.mailbox, info.folder),
                            info.basename + ".wav")

    def greetingPath(self, context: str, mailbox: str, kind: str) -> Optional[str]:
        """The recorded greeting C{kind} (unavail, busy, greet, temp) or None."""
        path = os.path.join(self.mailboxPath(context, mailbox), kind + ".wav")
        return path if os.path.isfile(path) else None

    def _numbers(self, directory):
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        return sorted(int(m.group(1)) for m in map(_MSG_RE.match, names) if m)

    def count(self, context: str, mailbox: str, folder: str = "INBOX") -> int:
        return len(self._numbers(self.folderPath(context, mailbox, folder)))

    def counts(self, context: str, mailbox: str) -> tuple[int, int]:
        """(new, old): messages in INBOX and in Old."""
        return self.count(context, mailbox, "INBOX"), self.count(context, mailbox, "Old")

    def messages(self, context: str, mailbox: str, folder: str = "INBOX") -> list:
        """The MessageInfo of each message in C{folder}, oldest number first."""
        directory = self.folderPath(context, mailbox, folder)
        result = []
        for number in self._numbers(directory):
            path = os.path.join(directory, f"msg{number:04d}.txt")
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    section = parseText(f.read(), path).section("message")
            except (OSError, ConfigError) as e:
                self.log.warn("voicemail: unreadable message metadata {path}: {error}",
                              path=path, error=str(e))
                section = None
            get = section.get if section is not None else (lambda key, default=None: default)
            result.append(MessageInfo(
                context, mailbox, folder, number, get("callerid", "") or "",
                _int(get("origtime")), _int(get("duration")), get("exten", "") or "",
                get("callerchan", "") or "", get("msg_id", "") or ""))
        return result

    # -- changes -------------------------------------------------------------

    def _nextNumber(self, directory):
        numbers = self._numbers(directory)
        return numbers[-1] + 1 if numbers else 0

    def save(self, context: str, mailbox: str, audio: bytes, *, callerid: str = "",
             exten: str = "", callerchan: str = "", origtime: Optional[int] = None,
             folder: str = "INBOX") -> MessageInfo:
        """
        Store C{audio} (8 kHz 16-bit signed linear) as a new message and tell
        the observers. Returns its MessageInfo.
        """
        directory = self.folderPath(context, mailbox, folder)
        os.makedirs(directory, exist_ok=True)
        number = self._nextNumber(directory)
        origtime = int(self._clock()) if origtime is None else int(origtime)
        duration = len(audio) // 16000
        info = MessageInfo(context, mailbox, folder, number, callerid, origtime, duration,
                           exten, callerchan, f"{origtime}-{number:08x}")
        base = os.path.join(directory, info.basename)
        with wave.open(base + ".wav", "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(audio)
        with open(base + ".txt", "w", encoding="utf-8") as f:
            f.write(_metadataText(info))
        self.changed(context, mailbox)
        return info

    def readAudio(self, info: MessageInfo) -> bytes:
        """The message's audio as 8 kHz 16-bit signed linear."""
        with wave.open(self.audioPath(info), "rb") as w:
            return w.readframes(w.getnframes())

    def move(self, info: MessageInfo, folder: str) -> MessageInfo:
        """Move a message to C{folder} (it takes the next number there)."""
        if folder == info.folder:
            return info
        source = self.folderPath(info.context, info.mailbox, info.folder)
        target = self.folderPath(info.context, info.mailbox, folder)
        os.makedirs(target, exist_ok=True)
        moved = replace(info, folder=folder, number=self._nextNumber(target))
        for ext in (".wav", ".txt"):
            src = os.path.join(source, info.basename + ext)
            if os.path.exists(src):
                os.replace(src, os.path.join(target, moved.basename + ext))
        self.changed(info.context, info.mailbox)
        return moved

    def delete(self, info: MessageInfo) -> None:
        """Remove a message for good."""
        directory = self.folderPath(info.context, info.mailbox, info.folder)
        for ext in (".txt", ".wav"):
            try:
                os.remove(os.path.join(directory, info.basename + ext))
            except FileNotFoundError:
                pass
        self.changed(info.context, info.mailbox)
