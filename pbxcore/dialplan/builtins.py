"""
The applications Asterisk builds into its PBX core (pbx.c): Answer, Hangup,
Goto and friends, Set, Wait, WaitExten, Background, Say*. The service
registers them with the "core" registrar through L{register}.

Also the helpers other applications share: L{FunctionApplication} (an
IApplication from a coroutine function), sound file lookup and streaming
(L{findSoundFile}, L{streamFile}), L{collectExtension} and L{checkCondition}.
"""

import datetime
import os
import re

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ApplicationHangup, ChannelHungUp, ReadOnlyFunction
from pbxcore.frame import ChannelState, Control, HangupCause, causeFromName
from pbxcore.interfaces import IApplication
from pbxcore.media.playout import playAudio
from pbxcore.media.wav import readWav

log = Logger(namespace="pbxcore.dialplan.builtins")


@implementer(IApplication)
class FunctionApplication:
    """An IApplication whose execute is C{func(channel, data)} (may be async)."""

    def __init__(self, name, func, synopsis="", description=""):
        self.name = name
        self.synopsis = synopsis
        self.description = description or synopsis
        self._func = func

    def execute(self, channel, data):
        return self._func(channel, data)

    def __repr__(self):
        return f"<Application {self.name}>"


class ReadOnly:
    """A mixin for dialplan functions that can only be read: writing is refused by name."""

    def write(self, channel, args, value):
        raise ReadOnlyFunction(f"{self.name} is read-only")


_LEADING_INT = re.compile(r"\s*[-+]?\d+")


def checkCondition(value):
    """
    Asterisk's pbx_checkcondition: empty is false, a leading integer is its
    value ("0.5" is false, as sscanf("%d") reads it), any other text is true.
    """
    if not value:
        return False
    m = _LEADING_INT.match(value)
    if m:
        return int(m.group(0)) != 0
    return True


def _callerNumber(channel):
    return channel.caller.number or None


def extensionExists(channel, context, exten, priority=1):
    dialplan = channel.pbx.dialplan
    return dialplan is not None and dialplan.find(context, exten, priority,
                                                  _callerNumber(channel)) is not None


def _matchMore(channel, context, exten):
    dialplan = channel.pbx.dialplan
    return dialplan is not None and bool(dialplan.matchMore(context, exten,
                                                            _callerNumber(channel)))


def _canMatch(channel, context, exten):
    dialplan = channel.pbx.dialplan
    return dialplan is not None and bool(dialplan.canMatch(context, exten,
                                                           _callerNumber(channel)))


# -- sound files ---------------------------------------------------------------

_RAW_FORMATS = ((".ulaw", "ulaw"), (".pcm", "ulaw"), (".ul", "ulaw"), (".alaw", "alaw"),
                (".al", "alaw"), (".sln", "slin"), (".raw", "slin"))


def soundsDir(pbx):
    settings = getattr(pbx, "settings", None)
    if settings is None:
        return ""
    try:
        return settings["astsoundsdir"] or ""
    except KeyError:
        return ""


def findSoundFile(pbx, name, language="en"):
    """
    The path of sound C{name} (no extension, as in Playback(hello-world)),
    tried in the sounds dir under the language, then directly; absolute
    names are taken as they are. None when there is no such file.
    """
    if os.path.isabs(name):
        bases = [name]
    else:
        root = soundsDir(pbx)
        bases = [os.path.join(root, language, name), os.path.join(root, name)]
        if language != "en":
            bases.insert(1, os.path.join(root, "en", name))
    for base in bases:
        for ext in (".wav", ".WAV") + tuple(e for e, _ in _RAW_FORMATS):
            path = base + ext
            if os.path.isfile(path):
                return path
        if os.path.splitext(base)[1] and os.path.isfile(base):
            return base
    return None


def loadSound(path):
    """(format name, audio bytes) of a sound file; ValueError when unusable."""
    with open(path, "rb") as f:
        data = f.read()
    lower = path.lower()
    if lower.endswith(".wav"):
        audio = readWav(data, path)
        return audio.format, audio.data
    for ext, fmt in _RAW_FORMATS:
        if lower.endswith(ext):
            return fmt, data
    raise ValueError(f"{path}: unknown sound format")


async def streamFile(channel, name, escapeDigits=""):
    """
    Play sound C{name} to the channel in real time (20 ms frames), in the
    file's format when the channel takes it, else converted to the
    channel's first native format; what the caller sends meanwhile is read. Returns the escape digit that stopped
    it, or None when it played to the end. FileNotFoundError when there is
    no such sound, ValueError when it cannot be played.
    """
    path = findSoundFile(channel.pbx, name, channel.language)
    if path is None:
        raise FileNotFoundError(name)
    fmt, audio = loadSound(path)
    native = channel.nativeFormats
    if native and fmt not in native:
        from pbxcore.media import g711

        audio = g711.transcode(fmt, native[0], audio)
        fmt = native[0]
    return await playAudio(channel, fmt, audio, escapeDigits)


async def playFiles(channel, names, escapeDigits=""):
    """Play '&'-joined sound names in turn; a missing one is logged and skipped."""
    for name in names:
        try:
            digit = await streamFile(channel, name, escapeDigits)
        except (FileNotFoundError, ValueError) as e:
            log.warn("'{channel}': cannot play '{name}': {error}", channel=channel.name,
                     name=name, error=str(e) if not isinstance(e, FileNotFoundError)
                     else "file not found")
            continue
        if digit:
            return digit
    return None


# -- extension collection --------------------------------------------------------

async def collectExtension(channel, digits="", timeout=None, context=None):
    """
    Collect digits into an extension of C{context} (WaitExten, Background):
    jump to it when it exists, to 'i' when not, to 't' when nothing came;
    without such a handler the call ends (ApplicationHangup).
    """
    context = context or channel.context
    timeout = channel.responseTimeout if timeout is None else timeout
    while True:
        if digits and not _matchMore(channel, context, digits):
            break
        digit = await channel.waitForDigit(channel.digitTimeout if digits else timeout)
        if digit is None:
            break
        digits += digit
    if digits:
        if extensionExists(channel, context, digits):
            channel.goto(context, digits, 1)
            return
        if extensionExists(channel, context, "i"):
            channel.setVariable("INVALID_EXTEN", digits)
            channel.goto(context, "i", 1)
            return
        log.warn("Invalid extension '{exten}', but no rule 'i' in context '{context}'",
                 exten=digits, context=context)
        raise ApplicationHangup(HangupCause.UNALLOCATED)
    if extensionExists(channel, context, "t"):
        channel.goto(context, "t", 1)
        return
    log.warn("Timeout, but no rule 't' in context '{context}'", context=context)
    raise ApplicationHangup(None)


# -- the applications ------------------------------------------------------------

def _seconds(text, default=0.0):
    try:
        return float(text) if text and text.strip() else default
    except ValueError:
        return default


async def answer(channel, data):
    await channel.answer()
    args = splitArgs(data)
    delay = _seconds(args[0]) if args else 0
    if delay > 0:
        await channel.sleep(delay / 1000.0)


def hangup(channel, data):
    cause = None
    if data and data.strip():
        cause = causeFromName(data)
        if cause is None:
            log.warn("Invalid cause given to Hangup(): \"{data}\"", data=data)
        else:
            channel.hangupCause = cause
    raise ApplicationHangup(cause if cause is not None else HangupCause.NORMAL_CLEARING)


async def _waitForHangup(channel, data):
    timeout = _seconds(splitArgs(data)[0] if data else "")
    if timeout > 0:
        await channel.sleep(timeout)
    else:
        while True:
            await channel.readFrame()


async def busy(channel, data):
    if channel.state != ChannelState.UP:
        if channel.hangupCause is None:
            channel.hangupCause = HangupCause.USER_BUSY
        channel.setState(ChannelState.BUSY)
    await channel.indicate(Control.BUSY)
    await _waitForHangup(channel, data)
    raise ApplicationHangup(HangupCause.USER_BUSY)


async def congestion(channel, data):
    if channel.state != ChannelState.UP and channel.hangupCause is None:
        channel.hangupCause = HangupCause.NORMAL_CIRCUIT_CONGESTION
    await channel.indicate(Control.CONGESTION)
    await _waitForHangup(channel, data)
    raise ApplicationHangup(HangupCause.NORMAL_CIRCUIT_CONGESTION)


async def progress(channel, data):
    await channel.indicate(Control.PROGRESS)


async def ringing(channel, data):
    await channel.indicate(Control.RINGING)


async def wait(channel, data):
    seconds = _seconds(data)
    if seconds > 0:
        await channel.sleep(seconds)


async def waitExten(channel, data):
    args = splitArgs(data)
    timeout = _seconds(args[0]) if args and args[0] else channel.responseTimeout
    await collectExtension(channel, "", timeout)


def noop(channel, data):
    return None


def assign(channel, name, value):
    """Set a variable or, for NAME(args), write a dialplan function."""
    name = name.strip()
    if name.endswith(")") and "(" in name:
        fname, _, args = name[:-1].partition("(")
        try:
            channel.pbx.engine.writeFunction(channel, fname.strip(), args, value)
        except ReadOnlyFunction:
            log.warn("Function {name} cannot be written to", name=fname)
        return
    channel.setVariable(name, value)


def set_(channel, data):
    name, sep, value = (data or "").partition("=")
    if not sep or not name.strip():
        log.warn("Set requires an '=' to be a valid assignment (got \"{data}\")", data=data)
        return
    assign(channel, name, value)


def mset(channel, data):
    for arg in splitArgs(data):
        name, sep, value = arg.partition("=")
        if not sep or not name.strip():
            log.warn("MSet: ignoring entry '{arg}' with no '='", arg=arg)
            continue
        assign(channel, name, value)


def _gotoOrHangup(channel, target, app):
    try:
        channel.pbx.engine.goto(channel, target)
    except ValueError as e:
        log.warn("{app}: {error}", app=app, error=str(e))
        raise ApplicationHangup(None)


def goto(channel, data):
    if not data or not data.strip():
        log.warn("Goto requires an argument ([[context,]extension,]priority)")
        raise ApplicationHangup(None)
    _gotoOrHangup(channel, data, "Goto")


def _branches(text):
    """'a:b' -> ('a', 'b'); the false branch may be missing."""
    true, _, false = text.partition(":")
    return true.strip(), false.strip()


def gotoIf(channel, data):
    condition, sep, rest = (data or "").partition("?")
    if not sep:
        log.warn("GotoIf: ignoring, no '?' in \"{data}\"", data=data)
        return
    true, false = _branches(rest)
    target = true if checkCondition(condition) else false
    if target:
        _gotoOrHangup(channel, target, "GotoIf")


def gotoIfTime(channel, data):
    from pbxcore.dialplan import timing

    spec, sep, rest = (data or "").partition("?")
    if not sep:
        log.warn("GotoIfTime: ignoring, no '?' in \"{data}\"", data=data)
        return
    try:
        parsed = timing.parseTimeSpec(spec.strip())
    except timing.TimeSpecError as e:
        log.warn("GotoIfTime: {error}", error=str(e))
        return
    now = datetime.datetime.fromtimestamp(channel.reactor.seconds()).astimezone()
    if parsed.timezone is None:
        now = now.replace(tzinfo=None)
    true, false = _branches(rest)
    target = true if timing.matches(parsed, now) else false
    if target:
        _gotoOrHangup(channel, target, "GotoIfTime")


async def background(channel, data):
    args = splitArgs(data)
    if not args or not args[0]:
        log.warn("Background requires an argument (filename)")
        return
    options = args[1] if len(args) > 1 else ""
    language = args[2] if len(args) > 2 and args[2] else channel.language
    context = args[3] if len(args) > 3 and args[3] else channel.context
    if channel.state != ChannelState.UP:
        if "s" in options:
            return
        if "n" not in options:
            await channel.answer()
    escape = "0123456789*#"
    if "m" in options:
        escape = "".join(d for d in escape if extensionExists(channel, context, d))
    saved = channel.language
    channel.language = language
    try:
        digit = await playFiles(channel, args[0].split("&"), escape)
    finally:
        channel.language = saved
    if digit:
        await collectExtension(channel, digit, None, context)


_SAY_CHARS = {"*": "digits/star", "#": "digits/pound", "-": "letters/dash"}


async def sayDigits(channel, data):
    names = []
    for c in (data or ""):
        if c.isdigit():
            names.append(f"digits/{c}")
        elif c in _SAY_CHARS:
            names.append(_SAY_CHARS[c])
    await playFiles(channel, names)


def numberPrompts(number):
    """The English prompt names that say C{number}."""
    if number < 0:
        return ["digits/minus"] + numberPrompts(-number)
    if number == 0:
        return ["digits/0"]
    out = []
    for size, word in ((1000000000, "digits/billion"), (1000000, "digits/million"),
                       (1000, "digits/thousand")):
        if number >= size:
            out += numberPrompts(number // size) + [word]
            number %= size
    if number >= 100:
        out += [f"digits/{number // 100}", "digits/hundred"]
        number %= 100
    if number >= 20:
        out.append(f"digits/{number - number % 10}")
        number %= 10
    if number:
        out.append(f"digits/{number}")
    return out


async def sayNumber(channel, data):
    args = splitArgs(data)
    try:
        number = int(args[0]) if args else None
    except ValueError:
        number = None
    if number is None:
        log.warn("SayNumber: first argument must be a number, not \"{data}\"", data=data)
        return
    await playFiles(channel, numberPrompts(number))


async def waitDigit(channel, data):
    args = splitArgs(data)
    timeout = _seconds(args[0]) if args else 0
    digits = args[1] if len(args) > 1 else ""
    try:
        digit = await channel.waitForDigit(timeout if timeout > 0 else 86400.0, digits or None)
    except ChannelHungUp:
        channel.setVariable("WAITDIGITSTATUS", "HANGUP")
        raise
    if digit is None:
        channel.setVariable("WAITDIGITSTATUS", "TIMEOUT")
    else:
        channel.setVariable("WAITDIGITRESULT", digit)
        channel.setVariable("WAITDIGITSTATUS", "DTMF")


def importVar(channel, data):
    name, sep, rest = (data or "").partition("=")
    args = splitArgs(rest)
    if not sep or len(args) < 2:
        log.warn("ImportVar requires newvar=channelname,variable")
        return
    other = channel.pbx.channels.get(args[0].strip())
    value = ""
    if other is not None:
        value = other.getVariable(args[1].strip())
        if value is None:
            value = channel.pbx.engine.substitute(other, "${" + args[1].strip() + "}")
    channel.setVariable(name.strip(), value or "")


BUILTINS = (
    ("Answer", answer, "Answer a channel if ringing"),
    ("Hangup", hangup, "Hang up the calling channel"),
    ("Busy", busy, "Indicate the Busy condition"),
    ("Congestion", congestion, "Indicate the Congestion condition"),
    ("Progress", progress, "Indicate progress"),
    ("Ringing", ringing, "Indicate ringing tone"),
    ("Wait", wait, "Waits for some time"),
    ("WaitExten", waitExten, "Waits for an extension to be entered"),
    ("NoOp", noop, "Do Nothing (No Operation)"),
    ("Set", set_, "Set channel variable or function value"),
    ("MSet", mset, "Set channel variable(s) or function value(s)"),
    ("Goto", goto, "Jump to a particular priority, extension, or context"),
    ("GotoIf", gotoIf, "Conditional goto"),
    ("GotoIfTime", gotoIfTime, "Conditional Goto based on the current time"),
    ("Background", background, "Play an audio file while waiting for digits of an extension"),
    ("SayDigits", sayDigits, "Say Digits"),
    ("SayNumber", sayNumber, "Say Number"),
    ("WaitDigit", waitDigit, "Waits for a digit to be entered"),
    ("ImportVar", importVar, "Import a variable from a channel into a new variable"),
)


def register(registrar):
    """Register the core applications through C{registrar}."""
    for name, func, synopsis in BUILTINS:
        registrar.register("application", FunctionApplication(name, func, synopsis))
