"""
Milliwatt([options]): a constant 1004 Hz tone at 0 dBm0 for line tests,
until the caller hangs up. Option 'o': the 1000 Hz tone of older
switches. Answers the channel first.
"""

from pbxcore.api import FunctionApplication, Module
from pbxcore.frame import ChannelState
from pbxcore.media.playout import ToneSource, playChunks, playoutFormat

#: Peak of a 0 dBm0 sine in 16-bit linear (3.17 dB under the G.711 maximum).
ZERO_DBM0_PEAK = 22388


async def milliwatt(channel, data):
    options = (data or "").strip()
    if channel.state != ChannelState.UP:
        await channel.answer()
    frequency = 1000 if "o" in options else 1004
    await playChunks(channel, ToneSource((frequency,), ZERO_DBM0_PEAK, playoutFormat(channel)))


class AppMilliwattModule(Module):
    """The Milliwatt application."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Milliwatt", milliwatt, "Generate a constant 1004Hz tone at 0dbm (mu-law)"))
