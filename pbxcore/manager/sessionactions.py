"""
More core manager actions, Asterisk's names, fields and messages: Filter,
AbsoluteTimeout, CoreShowChannelMap, DBGetTree, LoggerRotate, MessageSend,
AOCMessage, DeviceStateList and PlayMF.
"""

import base64
import binascii

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.errors import ManagerError
from pbxcore.manager.config import FilterError
from pbxcore.manager.responses import ListResponse, Success

log = Logger()


def _findChannel(session, name, missing="No such channel"):
    channels = getattr(session.pbx, "channels", None)
    channel = channels.get(name) if channels is not None else None
    if channel is None:
        raise ManagerError(missing)
    return channel


def filterAction(session, request):
    """Filter: Operation Add, Filter, MatchCriteria; this session only."""
    operation = (request.get("Operation") or "").strip()
    if operation.lower() != "add":
        raise ManagerError("Unknown operation")
    criteria = (request.get("MatchCriteria") or "").strip()
    expression = request.get("Filter") or ""
    current = session.eventFilter
    try:
        if current is None:
            from pbxcore.manager.config import EventFilter

            current = EventFilter()
        session.eventFilter = current.adding(f"({criteria})" if criteria else "",
                                             expression.strip())
    except FilterError as e:
        if e.kind == "compile":
            raise ManagerError("Filter did not compile.  Check the syntax of the filter given.")
        raise ManagerError("Filter was formatted incorrectly.  "
                           "Check the syntax of the filter given.")
    return Success("Success")


def absoluteTimeout(session, request):
    """AbsoluteTimeout: hang Channel up Timeout seconds from now (0 clears)."""
    from pbxcore.frame import HangupCause

    name = (request.get("Channel") or "").strip()
    if not name:
        raise ManagerError("No channel specified")
    try:
        timeout = float((request.get("Timeout") or "").strip() or 0)
    except ValueError:
        timeout = 0
    if timeout <= 0:
        raise ManagerError("No timeout specified")
    channel = _findChannel(session, name)
    timers = channel.datastores
    old = timers.pop("manager.absolutetimeout", None)
    if old is not None and old.active():
        old.cancel()

    def expire():
        timers.pop("manager.absolutetimeout", None)
        if not channel.isHungUp:
            channel.setVariable("TIMEOUT_EXPIRED", "absolute")
            channel.softHangup(HangupCause.NORMAL_CLEARING, "absolute timeout")

    timer = session.reactor.callLater(timeout, expire)
    timers["manager.absolutetimeout"] = timer
    channel.notifyOnHangup(lambda c: timer.cancel() if timer.active() else None)
    return Success("Timeout Set")


def channelMap(pbx, channel):
    """
    The channels connected to C{channel}: through its bridge, and through
    the other half of every Local pair on the way, transitively.
    """
    seen = {channel}
    todo = [channel]
    while todo:
        current = todo.pop()
        linked = []
        bridge = getattr(current, "bridge", None)
        if bridge is not None:
            linked.extend(bridge.channels)
        pair = getattr(current.driver, "pair", None)
        if pair is not None and hasattr(pair, "other"):
            linked.append(pair.other(current))
        for other in linked:
            if other is not None and other not in seen:
                seen.add(other)
                todo.append(other)
    seen.discard(channel)
    return sorted(c.name for c in seen)


def coreShowChannelMap(session, request):
    name = (request.get("Channel") or "").strip()
    if not name:
        raise ManagerError("No channel specified")
    channel = _findChannel(session, name, f"Could not get channel with name {name}")
    connected = channelMap(session.pbx, channel)
    return ListResponse([("CoreShowChannelMap", [
        ("Channel", channel.name), ("ConnectedChannels", ",".join(connected))])],
        "CoreShowChannelMapComplete", "Channel map will follow")


def dbGetTree(session, request):
    family = (request.get("Family") or "").strip()
    key = (request.get("Key") or "").strip()
    if not family and key:
        raise ManagerError("No family specified.")
    db = getattr(session.pbx, "astdb", None)
    if db is None:
        raise ManagerError("Database not available")
    entries = db.gettree(family or None, key or None)
    if not entries:
        raise ManagerError("Database entry not found")
    items = []
    for fullKey, value in entries:
        first, _, rest = fullKey.lstrip("/").partition("/")
        items.append(("DBGetTreeResponse", [("Family", first), ("Key", rest), ("Val", value)]))
    return ListResponse(items, "DBGetTreeComplete", "Result will follow")


def loggerRotate(session, request):
    """LoggerRotate: reopen the log file when the PBX writes one."""
    rotate = getattr(session.pbx, "rotateLogs", None)
    if rotate is not None:
        rotate()
    else:
        from twisted.python import log as legacy

        logFile = getattr(getattr(legacy, "theLogPublisher", None), "logFile", None)
        if logFile is not None and hasattr(logFile, "rotate"):
            logFile.rotate()
    return Success("Reloaded the logger and rotated log files")


class _Message:
    """What the MessageSend application needs of a channel, for a message alone."""

    def __init__(self, pbx, to, sender, body, variables):
        self.pbx = pbx
        self.name = "Message/ast_msg_queue"
        self.datastores = {"message": {"to": to, "from": sender, "body": body}}
        self.variables = dict(variables)

    def setVariable(self, name, value):
        self.variables[name] = value

    def getVariable(self, name):
        return self.variables.get(name)


def messageSend(session, request):
    to = (request.get("To") or "").strip()
    destination = (request.get("Destination") or "").strip() or to
    if not to and not destination:
        raise ManagerError("No 'To' address specified.")
    body = request.get("Body") or ""
    encoded = (request.get("Base64Body") or "").strip()
    if encoded:
        try:
            body = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ManagerError("Base64Body is not valid base64")
    try:
        app = session.pbx.registry("application").get("MessageSend")
    except KeyError:
        app = None
    if app is None:
        raise ManagerError("Message technology not found.")
    sender = (request.get("From") or "").strip()
    message = _Message(session.pbx, to or destination, sender, body, request.variables())
    arguments = destination + (f",{sender}" if sender else "")
    d = defer.maybeDeferred(app.execute, message, arguments)

    def sent(_):
        if message.getVariable("MESSAGE_SEND_STATUS") == "SUCCESS":
            return Success("Message successfully sent")
        raise ManagerError("Message failed to send.")

    def failed(failure):
        if failure.check(ManagerError):
            return failure
        log.failure("MessageSend to {destination} failed", failure, destination=destination)
        raise ManagerError("Message failed to send.")

    return d.addCallback(sent).addErrback(failed)


def aocMessage(session, request):
    name = (request.get("Channel") or "").strip()
    prefix = (request.get("ChannelPrefix") or "").strip()
    if not name and not prefix:
        raise ManagerError("Channel and ChannelPrefix are both empty.")
    msgType = (request.get("MsgType") or "").strip().upper()
    if msgType not in ("D", "E", "S"):
        raise ManagerError("Invalid MsgType")
    if name:
        _findChannel(session, name, f"No such channel {name}")
    raise ManagerError("Advice of charge is not available: no txpbx channel driver "
                       "carries AOC messages")


def deviceStateList(session, request):
    """DeviceStateList: every device state known, as DeviceStateChange events."""
    engine = getattr(session.pbx, "devicestate", None)
    devices = engine.devices() if engine is not None else []
    items = [("DeviceStateChange", [("Device", device), ("State", state.name)])
             for device, state in devices]
    return ListResponse(items, "DeviceStateListComplete", "Device State Changes will follow")


def playMF(session, request):
    """PlayMF: MF tones written to Channel at real time; answered at once."""
    from pbxcore.manager.mf import mfPlan

    name = (request.get("Channel") or "").strip()
    digits = (request.get("Digit") or "").strip()
    if not name:
        raise ManagerError("Channel not specified")
    if not digits:
        raise ManagerError("No digit specified")
    channel = _findChannel(session, name, "Channel not found")
    duration = (request.get("Duration") or "").strip()
    try:
        durationMs = int(duration) if duration else 0
    except ValueError:
        raise ManagerError("Could not convert Duration parameter")
    if durationMs < 0:
        raise ManagerError("Could not convert Duration parameter")
    d = defer.ensureDeferred(_playTones(channel, mfPlan(digits, durationMs)))
    d.addErrback(lambda f: None)  # a hangup ends the tones, nothing else
    return Success("MF successfully queued")


async def _playTones(channel, plan):
    from twisted.internet.task import deferLater

    from pbxcore.frame import voiceFrame
    from pbxcore.media.playout import FRAME_MS, ToneSource, playoutFormat

    fmt = playoutFormat(channel)
    clock = channel.reactor
    start = clock.seconds()
    elapsed = 0
    for frequencies, ms in plan:
        source = ToneSource(frequencies or (0,), 7000 if frequencies else 0, fmt)
        for _ in range(max(1, ms // FRAME_MS)):
            if channel.hangupRequested:
                return
            _, data = next(source)
            await channel.writeFrame(voiceFrame(fmt, data))
            elapsed += FRAME_MS
            delay = start + elapsed / 1000.0 - clock.seconds()
            if delay > 0:
                await deferLater(clock, delay, lambda: None)


def sessionActions(Action):
    return [
        Action("DeviceStateList", ("call", "reporting"), "List the current known device states",
               deviceStateList),
        Action("PlayMF", ("call",), "Play MF digit on a specific channel", playMF),
        Action("Filter", ("system",), "Dynamically add filters for the current manager session",
               filterAction),
        Action("AbsoluteTimeout", ("system", "call"), "Set absolute timeout", absoluteTimeout),
        Action("CoreShowChannelMap", ("call", "reporting"),
               "List all channels connected to the specified channel", coreShowChannelMap),
        Action("DBGetTree", ("system", "reporting"), "Get DB entries, optionally at a particular "
               "family/key", dbGetTree),
        Action("LoggerRotate", ("system", "reporting"), "Reload and rotate the Asterisk logger",
               loggerRotate),
        Action("MessageSend", ("message",), "Send an out of call message to an endpoint",
               messageSend),
        Action("AOCMessage", ("aoc",), "Generate an Advice of Charge message on a channel",
               aocMessage),
    ]
