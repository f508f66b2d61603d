"""
app_voicemail: leave and listen to voicemail.

    VoiceMail(1001@default[&1002],[u|b|s])    greeting, beep, record, store
    VoiceMailMain([1001@default],[s])         PIN login and the message menu
    ${MAILBOX_EXISTS(1001@default)}           1 or 0
    ${VM_INFO(1001@default,count[,folder])}   also exists, fullname, email, pager, password
    Manager: MailboxCount, MailboxStatus, VoicemailUsersList, VoicemailUserStatus,
             VoicemailBoxSummary, VoicemailRefresh, MWIGet/MWIUpdate/MWIDelete (counts
             set from outside win over the spool); event MessageWaiting
    CLI: voicemail show users [for <context>]

VoiceMailMain's menu keeps Asterisk's digits: 1 new messages, 2 change
folder (then 0-4), 4 previous, 5 repeat, 6 next, 7 delete, 9 save to a
folder (then 0-4), * help, # exit. A new message moves to Old as soon as
it has been heard, so message-waiting lamps follow at once.

The module provides its L{VoicemailService} as the C{"voicemail"} registry,
so other modules (MWI in chan_sip) can read counts and observe changes:
C{pbx.registry("voicemail").counts("1001@default")}.
"""

from __future__ import annotations

import math
import os
import struct
import time

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.dialplan.builtins import (
    FunctionApplication,
    findSoundFile,
    numberPrompts,
    playFiles,
    streamFile,
)
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ChannelHungUp, CLIUsageError, ManagerError, ReadOnlyFunction
from pbxcore.frame import ChannelState, FrameKind
from pbxcore.interfaces import ICLICommand, IDialplanFunction
from pbxcore.manager.actions import Action, required
from pbxcore.manager.responses import ListResponse, Success
from pbxcore.media import g711
from pbxcore.media.playout import playAudio
from pbxcore.store.voicemail import (
    FOLDERS,
    MailboxStore,
    VoicemailConfig,
    readVoicemailConf,
    splitMailbox,
)

log = Logger(namespace="plugins.app_voicemail")

ALL_DIGITS = "0123456789*#"
#: Seconds VoiceMailMain waits for a choice before repeating its menu.
MENU_TIMEOUT = 5.0
MENU_REPEATS = 3


def spoolDirOf(pbx) -> str:
    """The spool directory from the PBX settings (data dir/spool when unset)."""
    settings = getattr(pbx, "settings", None)
    spool = settings.get("spoolDir") if settings is not None else None
    if not spool:
        spool = os.path.join(getattr(pbx, "dataDir", None) or ".", "spool")
    return spool


class VoicemailService:
    """
    The mailboxes of one PBX: their configuration, their store, and the
    MessageWaiting events that follow every change of their counts.
    """

    def __init__(self, pbx, config: VoicemailConfig, store: MailboxStore):
        self.pbx = pbx
        self.config = config
        self.store = store
        #: Counts set over the manager (MWIUpdate, Asterisk's external MWI):
        #: 'box@context' in lower case -> (new, old); they win over the spool.
        self.external = {}
        self._stopObserving = store.observe(self._mailboxChanged)

    def stop(self):
        self._stopObserving()

    def mailbox(self, spec: str):
        """The configured Mailbox of C{'1001@context'} (context default), or None."""
        return self.config.findSpec(spec)

    def counts(self, spec: str) -> tuple[int, int]:
        """(new, old) of C{spec}; several mailboxes joined by '&' or ',' add up."""
        new = old = 0
        for one in _mailboxList(spec):
            box, context = splitMailbox(one)
            if not box:
                continue
            external = self.external.get(f"{box}@{context}".lower())
            if external is not None:
                n, o = external
            else:
                try:
                    n, o = self.store.counts(context, box)
                except ValueError:
                    continue
            new += n
            old += o
        return new, old

    def observe(self, callback):
        """C{callback(context, mailbox, new, old)} after each change; returns an undo."""
        return self.store.observe(callback)

    def announce(self, context, mailbox):
        """MessageWaiting (and so MWI NOTIFYs) with C{mailbox@context}'s counts now."""
        new, old = self.counts(f"{mailbox}@{context}")
        self._mailboxChanged(context, mailbox, new, old)

    def _mailboxChanged(self, context, mailbox, new, old):
        external = self.external.get(f"{mailbox}@{context}".lower())
        if external is not None:
            new, old = external
        self.pbx.emitEvent("MessageWaiting", (
            ("Mailbox", f"{mailbox}@{context}"), ("Waiting", "1" if new else "0"),
            ("New", str(new)), ("Old", str(old))), "call")


def _mailboxList(spec):
    return [s.strip() for s in (spec or "").replace(",", "&").split("&") if s.strip()]


def _service(pbx) -> VoicemailService:
    return pbx.registry("voicemail")


# -- audio helpers ---------------------------------------------------------------

def tone(frequency: float, ms: int, amplitude: int = 8000) -> bytes:
    """C{ms} of a sine tone as 8 kHz 16-bit signed linear (the beep)."""
    count = 8 * ms
    step = 2 * math.pi * frequency / 8000.0
    return struct.pack(f"<{count}h", *(int(amplitude * math.sin(step * i))
                                       for i in range(count)))


async def streamAudio(channel, audio: bytes, escapeDigits: str = ""):
    """
    Play 8 kHz signed linear audio in real time in the channel's format;
    returns the escape digit that stopped it, or None.
    """
    fmt = channel.nativeFormats[0] if channel.nativeFormats else "slin"
    if fmt != "slin":
        audio = g711.encode(fmt, audio)
    return await playAudio(channel, fmt, audio, escapeDigits)


def beep():
    return tone(1000, 250)


def _slinOf(frame):
    """A voice frame's audio as signed linear, or None for formats we cannot read."""
    if frame.subclass == "slin":
        return frame.data
    if frame.subclass in ("ulaw", "alaw"):
        return g711.decode(frame.subclass, frame.data)
    return None


def _level(slin: bytes) -> float:
    count = len(slin) // 2
    if not count:
        return 0.0
    samples = struct.unpack(f"<{count}h", slin[:count * 2])
    return sum(abs(s) for s in samples) / count


async def recordMessage(channel, maxsecs=0, maxsilence=10, threshold=128, terminators="#"):
    """
    Record what the caller says, as 8 kHz signed linear, until a terminator
    digit, C{maxsilence} seconds of silence (trimmed off), C{maxsecs} or
    hangup. Returns (audio, why) with why one of 'dtmf', 'silence',
    'maxsecs', 'hangup'.
    """
    clock = channel.reactor
    start = clock.seconds()
    chunks = []
    silentBytes = 0
    why = "hangup"
    try:
        while True:
            timeouts = []
            if maxsecs:
                left = start + maxsecs - clock.seconds()
                if left <= 0:
                    why = "maxsecs"
                    break
                timeouts.append(left)
            if maxsilence:
                timeouts.append(maxsilence)
            frame = await channel.readFrame(min(timeouts) if timeouts else None)
            if frame is None:
                why = "maxsecs" if maxsecs and clock.seconds() - start >= maxsecs else "silence"
                break
            if frame.kind is FrameKind.DTMF_END and frame.subclass in terminators:
                why = "dtmf"
                break
            if frame.kind is not FrameKind.VOICE:
                continue
            slin = _slinOf(frame)
            if slin is None:
                continue
            chunks.append(slin)
            if _level(slin) < threshold:
                silentBytes += len(slin)
            else:
                silentBytes = 0
            if maxsilence and silentBytes >= maxsilence * 16000:
                why = "silence"
                break
    except ChannelHungUp:
        why = "hangup"
    audio = b"".join(chunks)
    if why == "silence" and silentBytes:
        audio = audio[:len(audio) - silentBytes]
    return audio, why


async def say(channel, names, escapeDigits=""):
    """
    Play the prompts of C{names} that are installed (a C{vm-x} prompt falls
    back to C{x}); the rest are skipped quietly: a PBX with only the
    generated sample sounds still runs every menu.
    """
    found = []
    for name in names:
        for candidate in (name, name[3:]) if name.startswith("vm-") else (name,):
            if findSoundFile(channel.pbx, candidate, channel.language):
                found.append(candidate)
                break
    if not found:
        return None
    return await playFiles(channel, found, escapeDigits)


async def readDigits(channel, prompts=(), maxDigits=20, timeout=MENU_TIMEOUT):
    """Play C{prompts}, then collect digits until '#', C{maxDigits} or a pause."""
    digits = ""
    first = await say(channel, list(prompts), ALL_DIGITS) if prompts else None
    if first == "#":
        return ""
    if first:
        digits = first
    while len(digits) < maxDigits:
        digit = await channel.waitForDigit(timeout)
        if digit is None or digit == "#":
            break
        digits += digit
    return digits


# -- VoiceMail -------------------------------------------------------------------

def _callerID(channel):
    name, number = channel.caller.name, channel.caller.number
    if name and number:
        return f'"{name}" <{number}>'
    return number or (f'"{name}" <unknown>' if name else "Unknown")


async def _greeting(channel, service, box, context, options):
    """Play the mailbox's greeting; returns a digit the caller pressed, if any."""
    store = service.store
    if "s" in options:
        return None
    kind = "busy" if "b" in options else "unavail"
    for name in ("temp", kind):
        path = store.greetingPath(context, box, name)
        if path:
            return await streamFile(channel, path, ALL_DIGITS)
    prompts = ["vm-theperson"] + [f"digits/{c}" for c in box if c.isdigit()]
    prompts.append("vm-isonphone" if kind == "busy" else "vm-isunavail")
    if "s" not in options:
        prompts.append("vm-intro")
    return await say(channel, prompts, ALL_DIGITS)


def _gotoIfExists(channel, exten):
    dialplan = channel.pbx.dialplan
    if dialplan is not None and dialplan.find(channel.context, exten, 1,
                                              channel.caller.number or None) is not None:
        channel.goto(channel.context, exten, 1)
        return True
    return False


async def voiceMail(channel, data):
    args = splitArgs(data or "")
    specs = _mailboxList(args[0] if args else "")
    options = (args[1] if len(args) > 1 else "").lower()
    service = _service(channel.pbx)
    boxes = []
    for spec in specs:
        box, context = splitMailbox(spec)
        if service.config.find(box, context) is None:
            log.warn("VoiceMail: no mailbox {box}@{context}", box=box, context=context)
            continue
        boxes.append((box, context))
    if not boxes:
        channel.setVariable("VMSTATUS", "FAILED")
        return
    if channel.state != ChannelState.UP:
        await channel.answer()
    general = service.config.general
    box, context = boxes[0]
    if general.maxmsg and service.store.count(context, box) >= general.maxmsg:
        await say(channel, ["vm-mailboxfull"])
        channel.setVariable("VMSTATUS", "FAILED")
        return
    digit = await _greeting(channel, service, box, context, options)
    if digit in ("*", "0"):
        channel.setVariable("VMSTATUS", "USEREXIT")
        if _gotoIfExists(channel, "a" if digit == "*" else "o"):
            return
    await streamAudio(channel, beep())
    audio, why = await recordMessage(channel, general.maxsecs, general.maxsilence,
                                     general.silencethreshold)
    seconds = len(audio) / 16000.0
    if seconds < max(general.minsecs, 0.001) or not audio:
        log.info("VoiceMail: message for {box}@{context} too short ({seconds:.1f}s), "
                 "discarded", box=box, context=context, seconds=seconds)
        channel.setVariable("VMSTATUS", "FAILED")
        if why != "hangup":
            await say(channel, ["vm-goodbye"])
        return
    for box, context in boxes:
        info = service.store.save(context, box, audio, callerid=_callerID(channel),
                                  exten=channel.exten, callerchan=channel.name,
                                  origtime=int(channel.reactor.seconds()))
        log.info("VoiceMail: {seconds:.1f}s message {n} for {box}@{context}",
                 seconds=seconds, n=info.basename, box=box, context=context)
    channel.setVariable("VMSTATUS", "SUCCESS")
    if why != "hangup":
        await say(channel, ["vm-msgsaved", "vm-goodbye"])


# -- VoiceMailMain ---------------------------------------------------------------

async def _login(channel, service, spec, options):
    """The Mailbox the caller logs into, or None after too many tries."""
    box, context = splitMailbox(spec) if spec else ("", "default")
    given = bool(box)
    for attempt in range(max(service.config.general.maxlogins, 1)):
        if not box:
            box = await readDigits(channel, ["vm-login"])
        mailbox = service.config.find(box, context)
        if mailbox is not None and "s" in options:
            return mailbox
        pin = await readDigits(channel, ["vm-password"])
        if mailbox is not None and pin == mailbox.password:
            return mailbox
        log.info("VoiceMailMain: failed login for {box}@{context} from {channel}",
                 box=box, context=context, channel=channel.name)
        await say(channel, ["vm-incorrect"])
        if not given:
            box = ""
    return None


class _Listener:
    """One VoiceMailMain session over a mailbox: folder, position, list."""

    def __init__(self, channel, store, mailbox):
        self.channel = channel
        self.store = store
        self.mailbox = mailbox
        self.folder = "INBOX"
        self.messages = []
        self.current = 0

    def open(self, folder):
        self.folder = folder
        self.messages = self.store.messages(self.mailbox.context, self.mailbox.mailbox, folder)
        self.current = 0

    async def intro(self):
        new, old = self.store.counts(self.mailbox.context, self.mailbox.mailbox)
        prompts = ["vm-youhave"]
        if new:
            prompts += numberPrompts(new) + ["vm-INBOX"]
        if new and old:
            prompts.append("vm-and")
        if old:
            prompts += numberPrompts(old) + ["vm-Old"]
        if not new and not old:
            prompts.append("vm-no")
        prompts.append("vm-message" if new + old == 1 else "vm-messages")
        return await say(self.channel, prompts, ALL_DIGITS)

    async def play(self):
        """Play the current message; returns a digit that interrupted it."""
        if not self.messages:
            return await say(self.channel, ["vm-no", "vm-messages"], ALL_DIGITS)
        index = self.current
        info = self.messages[index]
        prompts = ["vm-first", "vm-message"] if index == 0 else \
            ["vm-message"] + numberPrompts(index + 1)
        digit = await say(self.channel, prompts, ALL_DIGITS)
        if digit:
            return digit
        try:
            digit = await streamFile(self.channel, self.store.audioPath(info), ALL_DIGITS)
        except (FileNotFoundError, ValueError) as e:
            log.warn("VoiceMailMain: cannot play {path}: {error}",
                     path=self.store.audioPath(info), error=str(e))
            digit = None
        if info.folder == "INBOX":
            self.messages[index] = self.store.move(info, "Old")
        return digit

    async def chooseFolder(self, prompt):
        digit = await say(self.channel, [prompt], "01234#")
        if digit is None:
            digit = await self.channel.waitForDigit(MENU_TIMEOUT, "01234#")
        if digit is None or digit == "#":
            return None
        return FOLDERS[int(digit)]

    async def run(self):
        digit = await self.intro()
        self.open("INBOX")
        if not self.messages:
            self.open("Old")
        idle = 0
        while True:
            if digit is None:
                digit = await say(self.channel, ["vm-instructions"], ALL_DIGITS)
            if digit is None:
                digit = await self.channel.waitForDigit(MENU_TIMEOUT)
            if digit is None:
                idle += 1
                if idle >= MENU_REPEATS:
                    await say(self.channel, ["vm-goodbye"])
                    return
                continue
            idle = 0
            digit = await self.command(digit)
            if digit == "exit":
                return

    async def command(self, digit):
        """Act on one menu digit; returns the next digit, None, or 'exit'."""
        if digit == "#":
            await say(self.channel, ["vm-goodbye"])
            return "exit"
        if digit == "1":
            self.open("INBOX")
            return await self.play()
        if digit == "2":
            folder = await self.chooseFolder("vm-changeto")
            if folder is not None:
                self.open(folder)
                return await say(
                    self.channel, ["vm-youhave"] + numberPrompts(len(self.messages)) +
                    [f"vm-{folder}", "vm-messages"], ALL_DIGITS)
            return None
        if digit == "5":
            return await self.play()
        if digit in "46":
            target = self.current + (1 if digit == "6" else -1)
            if 0 <= target < len(self.messages):
                self.current = target
                return await self.play()
            return await say(self.channel, ["vm-nomore"], ALL_DIGITS)
        if digit == "7":
            if not self.messages:
                return await say(self.channel, ["vm-nomore"], ALL_DIGITS)
            info = self.messages.pop(self.current)
            self.store.delete(info)
            self.current = min(self.current, max(len(self.messages) - 1, 0))
            return await say(self.channel, ["vm-deleted"], ALL_DIGITS)
        if digit == "9":
            if not self.messages:
                return await say(self.channel, ["vm-nomore"], ALL_DIGITS)
            folder = await self.chooseFolder("vm-savefolder")
            if folder is None:
                return None
            info = self.messages[self.current]
            if folder != info.folder:
                moved = self.store.move(info, folder)
                if folder == self.folder:
                    self.messages[self.current] = moved
                else:
                    self.messages.pop(self.current)
                    self.current = min(self.current, max(len(self.messages) - 1, 0))
            return await say(self.channel, ["vm-savedto", f"vm-{folder}"], ALL_DIGITS)
        if digit == "*":
            return await say(self.channel, ["vm-instructions"], ALL_DIGITS)
        return await say(self.channel, ["vm-sorry"], ALL_DIGITS)


async def voiceMailMain(channel, data):
    args = splitArgs(data or "")
    spec = args[0].strip() if args else ""
    options = (args[1] if len(args) > 1 else "").lower()
    service = _service(channel.pbx)
    if channel.state != ChannelState.UP:
        await channel.answer()
    mailbox = await _login(channel, service, spec, options)
    if mailbox is None:
        await say(channel, ["vm-goodbye"])
        return
    channel.setVariable("VMMAILBOX", mailbox.id)
    await _Listener(channel, service.store, mailbox).run()


# -- functions -------------------------------------------------------------------

@implementer(IDialplanFunction)
class MailboxExistsFunction:
    """MAILBOX_EXISTS(mailbox[@context]): 1 when the mailbox is configured."""

    name = "MAILBOX_EXISTS"
    synopsis = "Tell if a mailbox is configured."

    def __init__(self, pbx):
        self.pbx = pbx

    def read(self, channel, args):
        return "1" if _service(self.pbx).mailbox((args or "").strip()) else "0"

    def write(self, channel, args, value):
        raise ReadOnlyFunction("MAILBOX_EXISTS is read-only")


@implementer(IDialplanFunction)
class VMInfoFunction:
    """VM_INFO(mailbox[@context],attribute[,folder])."""

    name = "VM_INFO"
    synopsis = "Returns the selected attribute from a mailbox."
    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx

    def read(self, channel, args):
        parts = splitArgs(args or "")
        if len(parts) < 2 or not parts[0].strip():
            self.log.warn("VM_INFO requires a mailbox and an attribute")
            return ""
        service = _service(self.pbx)
        spec, attribute = parts[0].strip(), parts[1].strip().lower()
        mailbox = service.mailbox(spec)
        if attribute == "exists":
            return "1" if mailbox else "0"
        if mailbox is None:
            return ""
        if attribute == "count":
            folder = parts[2].strip() if len(parts) > 2 and parts[2].strip() else "INBOX"
            matches = [f for f in FOLDERS if f.lower() == folder.lower()]
            if not matches:
                self.log.warn("VM_INFO: unknown folder {folder!r}", folder=folder)
                return ""
            return str(service.store.count(mailbox.context, mailbox.mailbox, matches[0]))
        if attribute == "fullname":
            return mailbox.fullname
        if attribute == "email":
            return mailbox.email
        if attribute == "pager":
            return mailbox.pager
        if attribute == "password":
            return mailbox.password
        if attribute in ("language", "locale", "tz"):
            key = {"tz": "tz", "language": "language", "locale": "locale"}[attribute]
            return mailbox.option(key, "") or ""
        self.log.warn("VM_INFO: unknown attribute {attribute!r}", attribute=attribute)
        return ""

    def write(self, channel, args, value):
        raise ReadOnlyFunction("VM_INFO is read-only")


# -- manager ---------------------------------------------------------------------

def mailboxCount(session, request):
    spec = required(request, "Mailbox")
    new, old = _service(session.pbx).counts(spec)
    return Success("Mailbox Message Count", (
        ("Mailbox", spec), ("UrgMsgs", "0"), ("NewMessages", str(new)),
        ("OldMessages", str(old))))


def mailboxStatus(session, request):
    spec = required(request, "Mailbox")
    new, _ = _service(session.pbx).counts(spec)
    return Success("Mailbox Status", (("Mailbox", spec), ("Waiting", "1" if new else "0")))


def _yesNo(box, key, default):
    value = box.option(key, None)
    if value is None:
        return "Yes" if default else "No"
    return "Yes" if value.strip().lower() in ("yes", "true", "y", "t", "1", "on") else "No"


def _userFields(service, box):
    """A mailbox's fields as app_voicemail's append_vmu_info_astman writes them."""
    general = service.config.general
    new, old = service.store.counts(box.context, box.mailbox)
    return (
        ("VMContext", box.context), ("VoiceMailbox", box.mailbox),
        ("Fullname", box.fullname), ("Email", box.email), ("Pager", box.pager),
        ("ServerEmail", box.option("serveremail", "") or general.serveremail),
        ("FromString", box.option("fromstring", "")), ("MailCommand", ""),
        ("Language", box.option("language", "")), ("TimeZone", box.option("tz", "")),
        ("Callback", box.option("callback", "")), ("Dialout", box.option("dialout", "")),
        ("UniqueID", ""), ("ExitContext", box.option("exitcontext", "")),
        ("SayDurationMinimum", box.option("saydurationm", "2")),
        ("SayEnvelope", _yesNo(box, "envelope", True)),
        ("SayCID", _yesNo(box, "saycid", False)),
        ("AttachMessage", _yesNo(box, "attach", False)),
        ("AttachmentFormat", box.option("attachfmt", "")),
        ("DeleteMessage", _yesNo(box, "delete", False)),
        ("VolumeGain", "0.00"), ("CanReview", _yesNo(box, "review", False)),
        ("CallOperator", _yesNo(box, "operator", False)),
        ("MaxMessageCount", str(general.maxmsg)),
        ("MaxMessageLength", str(general.maxsecs)),
        ("NewMessageCount", str(new)), ("OldMessageCount", str(old)))


def voicemailUsersList(session, request):
    service = _service(session.pbx)
    items = [("VoicemailUserEntry", _userFields(service, box))
             for box in service.config.mailboxes]
    return ListResponse(items, "VoicemailUserEntryComplete",
                        "Voicemail user list will follow")


def _box(session, request, missing):
    context = (request.get("Context") or "").strip()
    mailbox = (request.get("Mailbox") or "").strip()
    if not context or not mailbox:
        raise ManagerError(missing)
    service = _service(session.pbx)
    return service, service.config.find(mailbox, context)


def voicemailUserStatus(session, request):
    service, box = _box(session, request, "Need 'Context' and 'Mailbox' parameters.")
    if box is None:
        # Asterisk answers this with Response: Success.
        return Success("There is no voicemail user of the given info.")
    return ListResponse([("VoicemailUserDetail", _userFields(service, box))],
                        "VoicemailUserDetailComplete", "Voicemail user detail will follow")


def voicemailBoxSummary(session, request):
    """VoicemailBoxSummary: every message, as app_voicemail's VoicemailBoxDetail events."""
    service, box = _box(session, request, "Need 'Context' and 'Mailbox' parameters.")
    if box is None:
        # Asterisk answers this with Response: Success.
        return Success("There is no voicemail user matching the given user.")
    items = []
    for folder in FOLDERS:
        for info in service.store.messages(box.context, box.mailbox, folder):
            date = time.strftime("%a %b %d %I:%M:%S %p UTC %Y", time.gmtime(info.origtime))
            items.append(("VoicemailBoxDetail", (
                ("Folder", folder), ("CallerID", info.callerid), ("Date", date),
                ("Duration", str(info.duration)), ("Flag", ""), ("ID", info.msgId))))
    return ListResponse(items, "VoicemailBoxDetailComplete",
                        "Voicemail box detail will follow")


def voicemailRefresh(session, request):
    """VoicemailRefresh: count the mailboxes again and announce them (MWI)."""
    service = _service(session.pbx)
    context = (request.get("Context") or "").strip().lower()
    mailbox = (request.get("Mailbox") or "").strip().lower()
    for box in service.config.mailboxes:
        if context and box.context.lower() != context:
            continue
        if mailbox and box.mailbox.lower() != mailbox:
            continue
        service.announce(box.context, box.mailbox)
    return Success("Refresh sent")


def _mailboxes(service, spec):
    """
    The 'box@context' ids a MWI action names: one id, or every known one
    (voicemail boxes and external counts) matching C{/regex/}.
    """
    import re

    spec = (spec or "").strip()
    if not spec:
        raise ManagerError("Missing mailbox parameter in request")
    if not spec.startswith("/"):
        box, context = splitMailbox(spec)
        return [f"{box}@{context}"]
    if len(spec) < 2 or not spec.endswith("/"):
        raise ManagerError(f"Mailbox regex format invalid in: {spec}")
    try:
        pattern = re.compile(spec[1:-1])
    except re.error:
        raise ManagerError(f"Mailbox regex format invalid in: {spec}")
    known = {b.id.lower(): b.id for b in service.config.mailboxes}
    known.update((key, key) for key in service.external if key not in known)
    return [name for name in known.values() if pattern.search(name)]


def mwiGet(session, request):
    """MWIGet: the counts of the mailboxes named (voicemail boxes and external ones)."""
    service = _service(session.pbx)
    items = []
    for name in _mailboxes(service, request.get("Mailbox")):
        box, context = splitMailbox(name)
        known = name.lower() in service.external or service.config.find(box, context)
        if not known:
            continue
        new, old = service.counts(name)
        items.append(("MWIGet", (("Mailbox", name), ("OldMessages", str(old)),
                                 ("NewMessages", str(new)))))
    return ListResponse(items, "MWIGetComplete", "Mailboxes will follow")


def _count(request, key):
    value = (request.get(key) or "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise ManagerError(f"Invalid {key}: {value}")
    return int(value)


def mwiUpdate(session, request):
    """MWIUpdate: set a mailbox's counts from outside (Asterisk's external MWI)."""
    service = _service(session.pbx)
    spec = (request.get("Mailbox") or "").strip()
    if not spec:
        raise ManagerError("Missing mailbox parameter in request")
    box, context = splitMailbox(spec)
    name = f"{box}@{context}"
    old = _count(request, "OldMessages")
    new = _count(request, "NewMessages")
    service.external[name.lower()] = (new, old)
    service.announce(context, box)
    return Success()


def mwiDelete(session, request):
    """MWIDelete: forget external counts; a voicemail box shows its spool again."""
    service = _service(session.pbx)
    for name in _mailboxes(service, request.get("Mailbox")):
        if service.external.pop(name.lower(), None) is not None:
            box, context = splitMailbox(name)
            service.announce(context, box)
    return Success()


# -- CLI -------------------------------------------------------------------------

@implementer(ICLICommand)
class VoicemailShowUsers:
    """C{voicemail show users [for <context>]}."""

    name = "voicemail show users"
    summary = "List defined voicemail boxes"
    usage = ("Usage: voicemail show users [for <context>]\n"
             "       Lists all mailboxes currently set up")

    def execute(self, pbx, args):
        context = None
        if args:
            if len(args) != 2 or args[0].lower() != "for":
                raise CLIUsageError(self.usage)
            context = args[1].lower()
        service = _service(pbx)
        boxes = [b for b in service.config.mailboxes
                 if context is None or b.context.lower() == context]
        if context is not None and not boxes:
            return f"No such voicemail context \"{args[1]}\"\n"
        fmt = "%-10s %-5s %-25s %-10s %6s"
        lines = [fmt % ("Context", "Mbox", "User", "Zone", "NewMsg")]
        for box in boxes:
            new = service.store.count(box.context, box.mailbox)
            lines.append(fmt % (box.context, box.mailbox, box.fullname,
                                box.option("tz", ""), new))
        lines.append(f"{len(boxes)} voicemail users configured.")
        return "\n".join(lines) + "\n"


# -- the module ------------------------------------------------------------------

class AppVoicemailModule(Module):
    """Loads voicemail.conf, provides the "voicemail" service and registers all."""

    def __init__(self):
        self.service = None

    def load(self, pbx, registrar):
        config = readVoicemailConf(pbx.configDir)
        store = MailboxStore(spoolDirOf(pbx), clock=pbx.reactor.seconds)
        self.service = service = VoicemailService(pbx, config, store)
        registrar.provide("voicemail", service)
        registrar.addCleanup(service.stop)
        registrar.register("application", FunctionApplication(
            "VoiceMail", voiceMail, "Leave a Voicemail message."))
        registrar.register("application", FunctionApplication(
            "VoiceMailMain", voiceMailMain, "Check Voicemail messages."))
        registrar.register("function", MailboxExistsFunction(pbx))
        registrar.register("function", VMInfoFunction(pbx))
        for name, privileges, synopsis, run in (
                ("MailboxCount", ("call", "reporting"), "Check Mailbox Message Count",
                 mailboxCount),
                ("MailboxStatus", ("call", "reporting"), "Check mailbox", mailboxStatus),
                ("VoicemailUsersList", ("call", "reporting"), "List All Voicemail User "
                 "Information.", voicemailUsersList),
                ("VoicemailUserStatus", ("call", "reporting"), "Show the status of given "
                 "voicemail user's info.", voicemailUserStatus),
                ("VoicemailBoxSummary", ("call", "reporting"), "Show the mailbox contents of "
                 "given voicemail user.", voicemailBoxSummary),
                ("VoicemailRefresh", ("user",), "Tell Asterisk to poll mailboxes for a change",
                 voicemailRefresh),
                ("MWIGet", ("call", "reporting"), "Get selected mailboxes with message counts.",
                 mwiGet),
                ("MWIUpdate", ("call",), "Update the mailbox message counts.", mwiUpdate),
                ("MWIDelete", ("call",), "Delete selected mailboxes.", mwiDelete)):
            registrar.register("manageraction", Action(name, privileges, synopsis, run))
        registrar.register("clicommand", VoicemailShowUsers())

    def reload(self, pbx):
        config = readVoicemailConf(pbx.configDir)  # raises before anything changes
        if self.service is not None:
            self.service.config = config

    def unload(self, pbx):
        self.service = None
