"""
Read(variable[,filename[&filename2...]][,maxdigits][,options][,attempts][,timeout]):
collect DTMF digits into a variable, '#' ending the input. Options: 's'
skip when not up, 'n' read without answering, 'i' accepted (the prompt is
always a file here). Sets READSTATUS: OK, TIMEOUT, HANGUP, SKIPPED, ERROR.
"""

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module
from pbxcore.dialplan.builtins import playFiles
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ChannelHungUp
from pbxcore.frame import ChannelState

log = Logger(namespace="plugins.app_read")

DIGITS = "0123456789*#"
#: Digits read when maxdigits is 0 or missing (Asterisk's limit).
MAX_DIGITS = 255


def _number(text, default, kind=int):
    try:
        return kind(text) if text and text.strip() else default
    except ValueError:
        return default


async def readDigits(channel, prompts, maxDigits, firstTimeout, nextTimeout):
    """(digits, terminated) after one attempt; '#' ends input and is not kept."""
    digits = ""
    digit = await playFiles(channel, prompts, DIGITS) if prompts else None
    while True:
        if digit is None:
            digit = await channel.waitForDigit(nextTimeout if digits else firstTimeout)
            if digit is None:
                return digits, False
        if digit == "#":
            return digits, True
        digits += digit
        digit = None
        if len(digits) >= maxDigits:
            return digits, True


async def read(channel, data):
    args = splitArgs(data)
    if not args or not args[0].strip():
        log.warn("Read requires an argument (variable)")
        channel.setVariable("READSTATUS", "ERROR")
        return
    variable = args[0].strip()
    prompts = [p for p in (args[1].split("&") if len(args) > 1 else []) if p.strip()]
    maxDigits = _number(args[2] if len(args) > 2 else "", 0)
    if maxDigits <= 0 or maxDigits > MAX_DIGITS:
        maxDigits = MAX_DIGITS
    options = args[3] if len(args) > 3 else ""
    attempts = max(1, _number(args[4] if len(args) > 4 else "", 1))
    timeout = _number(args[5] if len(args) > 5 else "", 0.0, float)
    firstTimeout = timeout if timeout > 0 else channel.responseTimeout
    nextTimeout = timeout if timeout > 0 else channel.digitTimeout
    if channel.state != ChannelState.UP:
        if "s" in options:
            channel.setVariable("READSTATUS", "SKIPPED")
            return
        if "n" not in options:
            await channel.answer()
    status = "TIMEOUT"
    value = ""
    try:
        for _ in range(attempts):
            value, terminated = await readDigits(channel, prompts, maxDigits,
                                                 firstTimeout, nextTimeout)
            if value or terminated:
                status = "OK"
                break
    except ChannelHungUp:
        channel.setVariable("READSTATUS", "HANGUP")
        raise
    channel.setVariable(variable, value)
    channel.setVariable("READSTATUS", status)


class AppReadModule(Module):
    """Read."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Read", read, "Read a variable"))
