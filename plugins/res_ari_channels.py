"""
The C{/ari/channels} operations on the core: list, originate, get, hangup,
answer, ring, hold, mute, DTMF, play, record, variables, continue and
redirect. Errors are L{AriError}s with Asterisk's codes.
"""

import re

from twisted.internet import defer, task
from twisted.logger import Logger

from pbxcore.channel import CallerID
from pbxcore.dialplan.engine import ORIGINATE_ANSWERED, ORIGINATE_RINGING
from pbxcore.errors import ChannelHungUp, ChannelUnavailable
from pbxcore.frame import Control, HangupCause
from pbxcore.media.playout import playoutFormat
from plugins.res_ari_media import (
    RECORDING_FORMATS,
    Generator,
    LiveRecording,
    Playback,
    loopFiles,
    silence,
)
from plugins.res_ari_model import channelJSON
from plugins.res_ari_stasis import StasisControl

log = Logger(namespace="plugins.res_ari")

_REASONS = {
    "normal": HangupCause.NORMAL_CLEARING, "busy": HangupCause.USER_BUSY,
    "congestion": HangupCause.NORMAL_CIRCUIT_CONGESTION, "no_answer": HangupCause.NO_ANSWER,
    "timeout": HangupCause.NO_USER_RESPONSE, "rejected": HangupCause.CALL_REJECTED,
    "unallocated": HangupCause.UNALLOCATED, "normal_unspecified": HangupCause.NORMAL_UNSPECIFIED,
    "number_incomplete": HangupCause.INVALID_NUMBER_FORMAT,
    "codec_mismatch": HangupCause.BEARERCAPABILITY_NOTAVAIL,
    "interworking": HangupCause.INTERWORKING, "failure": HangupCause.FAILURE,
    "answered_elsewhere": HangupCause.ANSWERED_ELSEWHERE,
}


class AriError(Exception):
    """An HTTP error answer with a JSON C{{"message": ...}} body."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def parseCallerId(text):
    """'"Name" <number>', 'Name <number>' or 'number' -> CallerID."""
    m = re.match(r'\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$', text or "")
    if m:
        return CallerID(m.group(1).strip(), m.group(2).strip())
    return CallerID("", (text or "").strip())


class ChannelHandlers:
    """Handlers named after the operations' nicknames (channels_<nickname>)."""

    def __init__(self, core):
        self.core = core
        self.pbx = core.pbx

    # -- lookups -------------------------------------------------------------------

    def channel(self, channelId, code=404):
        channel = self.pbx.channels.byUniqueid(channelId) if self.pbx.channels else None
        if channel is None or channel.isHungUp:
            raise AriError(code, "Channel not found")
        return channel

    def control(self, channelId):
        channel = self.channel(channelId)
        control = self.core.controls.get(channel.uniqueid)
        if control is None:
            raise AriError(409, "Channel not in Stasis application")
        return control

    # -- list, get, originate ------------------------------------------------------------

    def channels_list(self, params, path):
        return [channelJSON(c) for c in self.pbx.channels]

    def channels_get(self, params, path):
        return channelJSON(self.channel(path["channelId"]))

    def channels_originate(self, params, path):
        return self._originate(params, params.get("channelId"))

    def channels_originateWithId(self, params, path):
        return self._originate(params, path["channelId"])

    def _originate(self, params, channelId):
        endpoint = params["endpoint"]
        tech, slash, resource = endpoint.partition("/")
        if not slash or not resource:
            raise AriError(400, "Endpoint must be TECH/resource")
        app = params.get("app")
        if not app and not params.get("extension"):
            raise AriError(400, "Application or extension must be specified")
        if app and not self.core.registered(app):
            raise AriError(400, f"Application '{app}' is not registered")
        if channelId and self.pbx.channels.byUniqueid(channelId) is not None:
            raise AriError(409, "Channel with given unique ID already exists")
        self.pbx.channels.assignUniqueid(channelId or None)
        try:
            channel = self.pbx.requestChannel(tech, resource)
        except ChannelUnavailable as e:
            raise AriError(400, f"Allocation failed: {e}") from None
        finally:
            self.pbx.channels.assignUniqueid(None)
        self._prepare(channel, params)
        if app:
            self.core.watch(channel, self.core.app(app, create=True))
        d = defer.ensureDeferred(self._dial(channel, resource, params))
        d.addErrback(lambda f: log.failure("ARI originate {channel}", f, channel=channel.name))
        return channelJSON(channel)

    def _prepare(self, channel, params):
        if params.get("callerId"):
            cid = parseCallerId(params["callerId"])
            channel.caller = cid
            channel.connected = cid.copy()
        for name, value in (params.get("variables") or {}).items():
            channel.setVariable(str(name), str(value))
        if params.get("context"):
            channel.context = params["context"]
        if params.get("extension"):
            channel.exten = params["extension"]
        if params.get("priority") is not None:
            channel.priority = int(params["priority"])
        if params.get("app"):
            channel.appl = "Stasis"
            channel.data = ",".join(filter(None, (params["app"], params.get("appArgs"))))

    async def _dial(self, channel, resource, params):
        engine = self.pbx.engine
        timeout = params.get("timeout")
        timeout = None if timeout is not None and int(timeout) < 0 else (timeout or 30)
        try:
            await channel.call(resource, timeout)
            reason = await engine.waitForAnswer(channel, timeout)
        except ChannelHungUp:
            reason = None
        if reason != ORIGINATE_ANSWERED:
            await channel.hangup(HangupCause.NO_ANSWER if reason == ORIGINATE_RINGING else None)
            return
        if not params.get("app"):
            if params.get("label"):
                number = engine.resolvePriority(channel, channel.context, channel.exten,
                                                params["label"])
                channel.priority = number or 1
            engine.start(channel)
            return
        args = [a for a in (params.get("appArgs") or "").split(",") if a]
        continued = await runStasis(self.core, channel, params["app"], args)
        if continued and not channel.hangupRequested and channel.pbx.dialplan is not None:
            engine.start(channel)
        else:
            await channel.hangup()

    # -- hangup and signalling -------------------------------------------------------

    def channels_hangup(self, params, path):
        channel = self.channel(path["channelId"])
        reason = params.get("reason")
        cause = HangupCause.NORMAL_CLEARING
        if params.get("reason_code"):
            try:
                cause = int(params["reason_code"])
            except ValueError:
                raise AriError(400, "Invalid reason for hangup provided") from None
        elif reason:
            cause = _REASONS[reason]
        channel.softHangup(cause, "ARI")
        return None

    async def channels_answer(self, params, path):
        control = self.control(path["channelId"])
        try:
            await control.channel.answer()
        except ChannelHungUp:
            raise AriError(404, "Channel not found") from None

    async def _indicate(self, path, control):
        ctl = self.control(path["channelId"])
        try:
            await ctl.channel.indicate(control)
        except ChannelHungUp:
            raise AriError(404, "Channel not found") from None

    def channels_ring(self, params, path):
        return self._indicate(path, Control.RINGING)

    def channels_ringStop(self, params, path):
        return self._indicate(path, Control.PROGRESS)

    def channels_hold(self, params, path):
        return self._indicate(path, Control.HOLD)

    def channels_unhold(self, params, path):
        return self._indicate(path, Control.UNHOLD)

    def channels_mute(self, params, path):
        control = self.control(path["channelId"])
        control.muted = params.get("direction") or "both"
        if control.bridge is not None:
            control.bridge.mutes.add(control.channel.uniqueid)

    def channels_unmute(self, params, path):
        control = self.control(path["channelId"])
        control.muted = None
        if control.bridge is not None:
            control.bridge.mutes.discard(control.channel.uniqueid)

    def channels_sendDTMF(self, params, path):
        control = self.control(path["channelId"])
        digits = params.get("dtmf")
        if not digits:
            raise AriError(400, "DTMF is required")
        d = defer.ensureDeferred(self._sendDigits(control.channel, digits, params))
        d.addErrback(lambda f: None if f.check(ChannelHungUp) else log.failure("DTMF", f))

    async def _sendDigits(self, channel, digits, params):
        clock = self.core.reactor

        async def pause(ms):
            if ms and ms > 0:
                await task.deferLater(clock, ms / 1000.0, lambda: None)

        await pause(params.get("before"))
        for i, digit in enumerate(digits):
            if digit == ",":
                await pause(500)
                continue
            if i:
                await pause(params.get("between") or 100)
            await channel.sendDigit(digit, params.get("duration") or 100)
        await pause(params.get("after"))

    # -- media ---------------------------------------------------------------------

    def channels_play(self, params, path):
        return self._play(params, path, params.get("playbackId"))

    def channels_playWithId(self, params, path):
        return self._play(params, path, path["playbackId"])

    def _play(self, params, path, playbackId):
        control = self.control(path["channelId"])
        channel = control.channel
        if playbackId and playbackId in self.core.playbacks:
            raise AriError(409, "Playback id already in use")
        playback = Playback(self.core, playbackId, params["media"],
                            f"channel:{channel.uniqueid}", lambda: [channel],
                            params.get("lang") or channel.language)
        return startPlayback(self.core, playback, control)

    def _generate(self, path, chunks):
        control = self.control(path["channelId"])
        self._stopGenerator(control)
        generator = control.generator = Generator(self.core, control.channel, chunks)
        d = defer.ensureDeferred(generator.run())
        d.addErrback(lambda f: log.failure("ARI generator", f))
        return control

    def _stopGenerator(self, control):
        if control.generator is not None:
            control.generator.stopped = True
            control.generator = None

    def channels_startMoh(self, params, path):
        channel = self.channel(path["channelId"])
        moh = self.pbx.loader.modules.get("res_musiconhold")
        music = moh.module.classes.get((params.get("mohClass") or "default").lower()) \
            if moh is not None else None
        files = music.files() if music is not None else []
        if not files:
            raise AriError(404, "Music on hold class not found or empty")
        fmt = playoutFormat(channel)
        self._generate(path, loopFiles(files, fmt))

    def channels_stopMoh(self, params, path):
        self._stopGenerator(self.control(path["channelId"]))

    def channels_startSilence(self, params, path):
        channel = self.channel(path["channelId"])
        self._generate(path, silence(playoutFormat(channel)))

    def channels_stopSilence(self, params, path):
        self._stopGenerator(self.control(path["channelId"]))

    def channels_record(self, params, path):
        control = self.control(path["channelId"])
        return startRecording(self.core, params, f"channel:{control.channel.uniqueid}",
                              control)

    def channels_snoopChannel(self, params, path):
        return self._snoop(params, path, params.get("snoopId"))

    def channels_snoopChannelWithId(self, params, path):
        return self._snoop(params, path, path["snoopId"])

    def _snoop(self, params, path, snoopId):
        from plugins.res_ari_snoop import makeSnoop

        target = self.channel(path["channelId"])
        spy, whisper = params.get("spy") or "none", params.get("whisper") or "none"
        if spy == "none" and whisper == "none":
            raise AriError(400, "Either spy or whisper must be specified")
        if not self.core.registered(params["app"]):
            raise AriError(400, f"Application '{params['app']}' is not registered")
        if snoopId and self.pbx.channels.byUniqueid(snoopId) is not None:
            raise AriError(400, "Channel with given unique ID already exists")
        snoop = makeSnoop(self.pbx, target, spy, whisper, snoopId)
        args = [a for a in (params.get("appArgs") or "").split(",") if a]
        d = defer.ensureDeferred(self._snoopRun(snoop, params["app"], args))
        d.addErrback(lambda f: log.failure("ARI snoop {channel}", f, channel=snoop.name))
        return channelJSON(snoop)

    async def _snoopRun(self, snoop, app, args):
        snoop.appl, snoop.data = "Stasis", ",".join([app] + args)
        await runStasis(self.core, snoop, app, args)
        await snoop.hangup()

    # -- variables, continue, redirect ---------------------------------------------------

    def channels_getChannelVar(self, params, path):
        channel = self.channel(path["channelId"])
        name = params["variable"]
        if "(" in name:
            value = self.pbx.engine.substitute(channel, "${" + name + "}")
        else:
            value = channel.getVariable(name)
            if value is None:
                raise AriError(404, "Provided variable was not found")
        return {"value": value}

    def channels_setChannelVar(self, params, path):
        channel = self.channel(path["channelId"])
        name, value = params["variable"], params.get("value") or ""
        m = re.match(r"^([A-Za-z_0-9.]+)\((.*)\)$", name)
        if m:
            try:
                self.pbx.engine.writeFunction(channel, m.group(1), m.group(2), value)
            except Exception as e:
                raise AriError(400, f"Unable to set {name}: {e}") from None
        else:
            channel.setVariable(name, value)

    def channels_continueInDialplan(self, params, path):
        control = self.control(path["channelId"])
        channel = control.channel
        context = params.get("context") or channel.context
        exten = params.get("extension") or channel.exten
        priority = params.get("priority")
        if params.get("label"):
            priority = self.pbx.engine.resolvePriority(channel, context, exten, params["label"])
            if priority is None:
                raise AriError(400, f"Label {params['label']!r} not found")
        if priority is None:
            target = None if not (params.get("context") or params.get("extension")) \
                else (context, exten, 1)
        else:
            target = (context, exten, int(priority))
        control.leave(target)

    def channels_redirect(self, params, path):
        control = self.control(path["channelId"])
        channel = control.channel
        tech, _, resource = params["endpoint"].partition("/")
        if tech.lower() != channel.name.split("/")[0].lower():
            raise AriError(422, "Endpoint is not the same type as the channel")
        try:
            channel.driver.transfer(channel, resource)
        except ChannelUnavailable as e:
            raise AriError(409, str(e)) from None


def startPlayback(core, playback, control):
    """Queue C{playback} after the target's earlier ones; the Playback JSON."""
    core.playbacks[playback.id] = playback
    previous = getattr(control, "playQueue", None) or defer.succeed(None)

    def play(_):
        if playback.stopped:
            core.playbacks.pop(playback.id, None)
            return None
        return defer.ensureDeferred(playback.run())

    queue = previous.addCallback(play)
    queue.addErrback(lambda f: log.failure("ARI playback", f))
    control.playQueue = queue
    return playback.json()


def startRecording(core, params, targetURI, control, kind=LiveRecording):
    name, fmt = params["name"], params["format"]
    if fmt not in RECORDING_FORMATS:
        raise AriError(422, f"Unknown format {fmt!r}")
    if name in core.recordings:
        raise AriError(409, "Recording with that name is in progress")
    if "/" in name or name.startswith("."):
        raise AriError(400, "Bad recording name")
    recording = kind(core, name, fmt, targetURI, params.get("maxDurationSeconds"),
                     params.get("terminateOn") or "none", params.get("ifExists"))
    import os

    if params.get("ifExists") == "fail" and os.path.exists(recording.path):
        raise AriError(422, "Recording already exists")
    core.recordings[name] = recording
    if hasattr(control, "record"):
        control.record(recording)
    else:
        control.recorders.append(recording)
    core.recordingEvent(recording, "RecordingStarted")
    return recording.json()


async def runStasis(core, channel, appName, args):
    """
    Hold C{channel} in application C{appName} until continue or hangup.
    Returns True when the dialplan should continue (at the continue target
    when one was given, else after the Stasis step).
    """
    control = StasisControl(core, channel, core.app(appName, create=True), args)
    continued = await control.run()
    if continued and control.continueTo is not None:
        channel.goto(*control.continueTo)
    return continued
