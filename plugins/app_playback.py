"""
Playback(filename[&filename2...][,options]): play sound files to the
caller, answering first unless 'noanswer'; 'skip' plays nothing when the
channel is not up. Sets PLAYBACKSTATUS to SUCCESS or FAILED.
"""

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module
from pbxcore.dialplan.builtins import streamFile
from pbxcore.dialplan.expr import splitArgs
from pbxcore.frame import ChannelState

log = Logger(namespace="plugins.app_playback")


async def playback(channel, data):
    args = splitArgs(data)
    if not args or not args[0]:
        log.warn("Playback requires an argument (filename)")
        channel.setVariable("PLAYBACKSTATUS", "FAILED")
        return
    options = {o.strip().lower() for o in (args[1].split("&") if len(args) > 1 else [])}
    if channel.state != ChannelState.UP:
        if "skip" in options:
            channel.setVariable("PLAYBACKSTATUS", "SUCCESS")
            return
        if "noanswer" not in options:
            await channel.answer()
    failed = False
    for name in args[0].split("&"):
        try:
            await streamFile(channel, name.strip())
        except FileNotFoundError:
            log.warn("Playback failed on {channel} for {name}: no such file",
                     channel=channel.name, name=name)
            failed = True
        except ValueError as e:
            log.warn("Playback failed on {channel} for {name}: {error}",
                     channel=channel.name, name=name, error=str(e))
            failed = True
    channel.setVariable("PLAYBACKSTATUS", "FAILED" if failed else "SUCCESS")


class AppPlaybackModule(Module):
    """Playback."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "Playback", playback, "Play a file"))
