"""Shared set-up for the core shell tests: a FakePBX with the bundled apps."""

import os
import struct

from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.testing import FakePBX, TestTechnology
from plugins.app_dial import AppDialModule
from plugins.app_echo import AppEchoModule
from plugins.app_exec import AppExecModule
from plugins.app_playback import AppPlaybackModule
from plugins.app_read import AppReadModule
from plugins.app_stack import AppStackModule
from plugins.app_userevent import AppUserEventModule
from plugins.app_verbose import AppVerboseModule
from plugins.app_while import AppWhileModule
from plugins.chan_local import LocalChannelModule

MODULES = (AppDialModule, AppEchoModule, AppExecModule, AppPlaybackModule, AppReadModule,
           AppStackModule, AppUserEventModule, AppVerboseModule, AppWhileModule,
           LocalChannelModule)


def hangupAll(pbx):
    """End every live channel (a test's clean-up: no task is left behind)."""
    for channel in list(pbx.channels):
        channel.softHangup()
        channel.hangup()
    pbx.reactor.advance(0)


def makePBX(dialplan, settings=None, test=None):
    """
    (pbx, Test technology) with every bundled core module loaded; with
    C{test}, live channels are hung up when the test ends.
    """
    pbx = FakePBX(settings=settings)
    if test is not None:
        test.addCleanup(hangupAll, pbx)
    for module in MODULES:
        pbx.loadModule(module(), module.__name__)
    tech = TestTechnology.install(pbx)
    pbx.dialplan = parseDialplan(parseText(dialplan, "extensions.conf"))
    return pbx, tech


def call(pbx, tech, exten, context="default", callerNumber="200", answer=False):
    """An inbound Test channel running the dialplan at exten@context."""
    channel = tech.inbound(pbx, exten=exten, context=context, callerNumber=callerNumber)
    result = pbx.runDialplan(channel)
    return channel, result


def writeWav(path, pcm, rate=8000):
    """A minimal 16-bit mono PCM WAV file."""
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    data = b"data" + struct.pack("<I", len(pcm)) + pcm
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(header + fmt + data)
