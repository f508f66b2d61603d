"""
Echo: everything the caller sends (voice, DTMF, text) is sent straight
back, until the caller presses '#' (echoed too), as Asterisk's Echo does.
"""

from pbxcore.api import FunctionApplication, Module
from pbxcore.frame import FrameKind

_ECHOED = frozenset({FrameKind.VOICE, FrameKind.DTMF_BEGIN, FrameKind.DTMF_END,
                     FrameKind.TEXT, FrameKind.CNG})


async def echo(channel, data):
    while True:
        frame = await channel.readFrame()
        if frame.kind in _ECHOED:
            await channel.writeFrame(frame)
        if frame.kind is FrameKind.DTMF_END and frame.subclass == "#":
            return


class AppEchoModule(Module):
    """The Echo application."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Echo", echo, "Echo media, DTMF back to the calling party"))
