"""
Echo: everything the caller sends (voice, DTMF, text) is sent straight
back, until the caller presses '#' (echoed too), as Asterisk's Echo does.
"""

from zope.interface import implementer

from pbxcore.dialplan.builtins import FunctionApplication
from pbxcore.frame import FrameKind
from pbxcore.interfaces import IModule

_ECHOED = frozenset({FrameKind.VOICE, FrameKind.DTMF_BEGIN, FrameKind.DTMF_END,
                     FrameKind.TEXT, FrameKind.CNG})


async def echo(channel, data):
    while True:
        frame = await channel.readFrame()
        if frame.kind in _ECHOED:
            await channel.writeFrame(frame)
        if frame.kind is FrameKind.DTMF_END and frame.subclass == "#":
            return


@implementer(IModule)
class AppEchoModule:
    """The Echo application."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Echo", echo, "Echo media, DTMF back to the calling party"))

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        pass
