"""A FakePBX with voicemail loaded, and helpers to drive a caller with a Clock."""

import math
import os
import struct

from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.frame import FrameKind, dtmfFrame, voiceFrame
from pbxcore.media import g711
from pbxcore.testing import FakePBX, TestTechnology
from plugins.app_voicemail import AppVoicemailModule

VOICEMAIL_CONF = """
[general]
maxsecs = 30
minsecs = 1
maxsilence = 3
[default]
1001 => 1234,Alice Example,alice@example.com
1002 => 4321,Bob Example
"""

DIALPLAN = """
[default]
exten => 1001,1,VoiceMail(1001@default,u)
 same => n,Set(DONE=${VMSTATUS})
 same => n,Hangup()
exten => 1002,1,VoiceMail(1002,b)
exten => 8500,1,VoiceMailMain(1001@default)
 same => n,Hangup()
exten => 8501,1,VoiceMailMain()
 same => n,Hangup()
exten => o,1,Set(OPERATOR=yes)
"""


def makePBX(tmpdir, conf=VOICEMAIL_CONF, dialplan=DIALPLAN, test=None):
    configDir = os.path.join(tmpdir, "etc")
    os.makedirs(configDir, exist_ok=True)
    with open(os.path.join(configDir, "voicemail.conf"), "w") as f:
        f.write(conf)
    pbx = FakePBX(configDir=configDir, settings={"spoolDir": os.path.join(tmpdir, "spool")})
    module = AppVoicemailModule()
    pbx.loadModule(module, "app_voicemail")
    tech = TestTechnology.install(pbx)
    pbx.dialplan = parseDialplan(parseText(dialplan, "extensions.conf"))
    if test is not None:
        test.addCleanup(hangupAll, pbx)
    return pbx, tech, module.service


def hangupAll(pbx):
    for channel in list(pbx.channels):
        channel.softHangup()
        channel.hangup()
    pbx.reactor.advance(0)


def toneSlin(frequency, ms, amplitude=6000):
    count = 8 * ms
    step = 2 * math.pi * frequency / 8000.0
    return struct.pack(f"<{count}h", *(int(amplitude * math.sin(step * i))
                                       for i in range(count)))


def goertzel(slin, frequency):
    """Relative power of C{frequency} in signed linear audio (0..~1)."""
    count = len(slin) // 2
    samples = struct.unpack(f"<{count}h", slin[:count * 2])
    coeff = 2 * math.cos(2 * math.pi * frequency / 8000.0)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(x * x for x in samples) or 1
    return power / (energy * count / 2)


def run(pbx, seconds, step=0.02):
    """Advance the clock by C{seconds} in C{step} increments."""
    for _ in range(int(round(seconds / step))):
        pbx.reactor.advance(step)


def speak(pbx, channel, slin, fmt="ulaw"):
    """Send C{slin} as 20 ms voice frames in real time."""
    data = g711.encode(fmt, slin) if fmt != "slin" else slin
    size = 160 * (2 if fmt == "slin" else 1)
    for offset in range(0, len(data), size):
        channel.frameReceived(voiceFrame(fmt, data[offset:offset + size]))
        pbx.reactor.advance(0.02)


def press(pbx, channel, digits, gap=0.2):
    for digit in digits:
        channel.frameReceived(dtmfFrame(digit))
        run(pbx, gap)


def heard(channel):
    """What the caller was sent, as signed linear."""
    return b"".join(g711.decode(f.subclass, f.data) if f.subclass != "slin" else f.data
                    for f in channel.driver.written if f.kind is FrameKind.VOICE)
