"""
The manager's bridge and transfer actions, Asterisk's names, fields and
messages (main/manager_bridges.c, main/manager.c): BridgeList, BridgeInfo,
BridgeDestroy, BridgeKick, BridgeTechnologyList/Suspend/Unsuspend, Bridge,
BlindTransfer, Atxfer, CancelAtxfer.

Bridges are the core's two-party bridges (L{pbxcore.bridge}), listed by
uniqueid in C{pbx.bridges} while they run.
"""

from twisted.internet import defer
from twisted.logger import Logger

from pbxcore.bridge import TECHNOLOGIES, Bridge, BridgeRegistry, pullOut
from pbxcore.channel import channelFields
from pbxcore.errors import ManagerError
from pbxcore.manager.responses import ListResponse, Success

log = Logger()


def _bridges(session):
    return BridgeRegistry.of(session.pbx)


def _findBridge(session, request):
    uniqueid = (request.get("BridgeUniqueid") or "").strip()
    if not uniqueid:
        raise ManagerError("BridgeUniqueid must be provided")
    bridge = _bridges(session).get(uniqueid)
    if bridge is None:
        raise ManagerError(f"Bridge {uniqueid} not found")
    return bridge


def _channel(session, name):
    channels = getattr(session.pbx, "channels", None)
    return channels.get(name) if channels is not None and name else None


def bridgeList(session, request):
    wanted = (request.get("BridgeType") or "").strip().lower()
    items = [("BridgeListItem", bridge.fields()) for bridge in _bridges(session)
             if not wanted or bridge.bridgeType.lower() == wanted]
    return ListResponse(items, "BridgeListComplete", "Bridge listing will follow")


def bridgeInfo(session, request):
    bridge = _findBridge(session, request)
    items = [("BridgeInfoChannel", channelFields(channel)) for channel in bridge.channels]
    return ListResponse(items, "BridgeInfoComplete", "Bridge channel listing will follow",
                        completeFields=tuple(bridge.fields()))


def bridgeDestroy(session, request):
    bridge = _findBridge(session, request)
    bridge.dissolve()
    return Success("Bridge has been destroyed")


def bridgeKick(session, request):
    name = (request.get("Channel") or "").strip()
    if not name:
        raise ManagerError("Channel must be provided")
    channel = _channel(session, name)
    if channel is None:
        raise ManagerError("Channel does not exist")
    uniqueid = (request.get("BridgeUniqueid") or "").strip()
    if uniqueid:
        bridge = _bridges(session).get(uniqueid)
        if bridge is None or channel not in bridge.channels:
            raise ManagerError("Channel is not in given bridge")
    else:
        bridge = getattr(channel, "bridge", None)
        if bridge is None:
            raise ManagerError("Channel is not in a bridge")
    if not bridge.kick(channel):
        raise ManagerError("Channel kick from bridge failed")
    return Success("Channel has been kicked")


def bridgeTechnologyList(session, request):
    suspended = _bridges(session).suspended
    items = [("BridgeTechnologyListItem", [
        ("BridgeTechnology", name), ("BridgeType", kind), ("BridgePriority", str(priority)),
        ("BridgeSuspended", "Yes" if name in suspended else "No"),
    ]) for name, kind, priority in TECHNOLOGIES]
    return ListResponse(items, "BridgeTechnologyListComplete",
                        "Bridge technology listing will follow")


def _technology(request):
    name = (request.get("BridgeTechnology") or "").strip()
    if not name:
        raise ManagerError("BridgeTechnology must be provided")
    for known, _, _ in TECHNOLOGIES:
        if known.lower() == name.lower():
            return known
    raise ManagerError(f"Technology {name} not found")


def _relink(session):
    for bridge in _bridges(session):
        bridge.updateNative()


def bridgeTechnologySuspend(session, request):
    name = _technology(request)
    if name == "simple_bridge":
        raise ManagerError("Technology simple_bridge cannot be suspended: every bridge "
                           "falls back to it")
    _bridges(session).suspended.add(name)
    _relink(session)
    return Success("Suspended bridge technology")


def bridgeTechnologyUnsuspend(session, request):
    name = _technology(request)
    _bridges(session).suspended.discard(name)
    _relink(session)
    return Success("Unsuspended bridge technology")


def _prefixed(session, name):
    """A live channel by name, or the one whose name starts with C{name}."""
    channels = getattr(session.pbx, "channels", None)
    if channels is None:
        return None
    found = channels.find(name)
    return found[0] if len(found) == 1 else None


def bridgeAction(session, request):
    """
    Bridge: take both channels away from whatever they run (a masquerade:
    new channel objects carry their calls) and bridge them. Afterwards a
    channel that ran the dialplan goes on at its next priority; any other
    hangs up.
    """
    first = (request.get("Channel1") or "").strip()
    second = (request.get("Channel2") or "").strip()
    if not first or not second:
        raise ManagerError("Missing channel parameter in request")
    one = _prefixed(session, first)
    if one is None:
        raise ManagerError(f"Channel1 does not exist: {first}")
    two = _prefixed(session, second)
    if two is None:
        raise ManagerError(f"Channel2 does not exist: {second}")
    if one is two:
        raise ManagerError("Unable to bridge a channel with itself")
    for channel, label in ((one, "Channel1"), (two, "Channel2")):
        if channel.hangupRequested or channel.driver is None:
            raise ManagerError(f"Unable to add {label} to bridge")
    resumes = [_resumeOf(channel) for channel in (one, two)]
    parties = list(zip(pullOut(one, two), resumes))
    bridge = Bridge(session.pbx, creator="Manager")
    d = defer.Deferred.fromCoroutine(_runBridge(session.pbx, bridge, parties))
    d.addErrback(lambda f: log.failure("manager Bridge of {a} and {b}", f, a=first, b=second))
    return Success("Channel has been bridged")


def _resumeOf(channel):
    """Where C{channel}'s dialplan goes on after the bridge, or None."""
    if channel.pbxTask is not None and not channel.inHangupHandler:
        return (channel.context, channel.exten, channel.priority + 1)
    return None


async def _runBridge(pbx, bridge, parties):
    (one, _), (two, _) = parties
    try:
        await bridge.run(one, two)
    finally:
        for channel, resume in parties:
            if channel.hangupRequested or channel.isHungUp or resume is None:
                await channel.hangup()
                continue
            channel.owned = False
            channel.context, channel.exten, channel.priority = resume
            pbx.runDialplan(channel)


def _peerOf(channel):
    bridge = getattr(channel, "bridge", None)
    if bridge is None:
        return None
    others = [c for c in bridge.channels if c is not channel]
    return others[0] if len(others) == 1 else None


def blindTransfer(session, request):
    """
    BlindTransfer: the party bridged with Channel goes to Exten@Context
    (Channel's context when none is given); Channel's call ends.
    """
    name = (request.get("Channel") or "").strip()
    exten = (request.get("Exten") or "").strip()
    if not name:
        raise ManagerError("No channel specified")
    if not exten:
        raise ManagerError("No extension specified")
    channel = _channel(session, name)
    if channel is None:
        raise ManagerError("Channel specified does not exist")
    context = (request.get("Context") or "").strip() or channel.context
    transferee = _peerOf(channel)
    if transferee is None:
        raise ManagerError("Transfer invalid")
    dialplan = getattr(session.pbx, "dialplan", None)
    if dialplan is None or dialplan.find(context, exten, 1,
                                         transferee.caller.number or None) is None:
        raise ManagerError("Transfer invalid")
    technology = transferee.technology
    redirect = getattr(technology, "redirect", None)
    if redirect is None:
        raise ManagerError("Transfer failed")
    # The event's bridge block is taken now: the transfer ends the bridge.
    fields = _transferFields(session, channel, transferee, context, exten)
    d = defer.maybeDeferred(redirect, transferee, context, exten)

    def done(ok):
        if fields is not None:
            fields[0] = ("Result", "Success" if ok is not False else "Fail")
            session.pbx.emitEvent("BlindTransfer", fields, "call")
        if ok is False:
            raise ManagerError("Transfer failed")
        return Success("Transfer succeeded")

    return d.addCallback(done)


def _transferFields(session, transferer, transferee, context, exten):
    """The BlindTransfer event's fields, or None when nobody listens."""
    events = getattr(session.pbx, "events", None)
    if events is not None and not events.wants("BlindTransfer"):
        return None
    bridge = getattr(transferer, "bridge", None)
    fields = [("Result", "")] + channelFields(transferer, "Transferer")
    if bridge is not None:
        fields += [("Transferer" + k, v) for k, v in bridge.fields()]
    fields += channelFields(transferee, "Transferee")
    fields += [("IsExternal", "No"), ("Context", context), ("Extension", exten)]
    return fields


def atxfer(session, request):
    """
    Atxfer: Channel consults Exten@Context (the TRANSFER_CONTEXT variable,
    else Channel's context) while the party it was bridged with waits on
    hold; Channel hanging up completes the transfer (L{atxfer}).
    """
    from pbxcore.manager.atxfer import AttendedTransfer

    name = (request.get("Channel") or "").strip()
    exten = (request.get("Exten") or "").strip()
    if not name:
        raise ManagerError("No channel specified")
    if not exten:
        raise ManagerError("No extension specified")
    channel = _channel(session, name)
    if channel is None:
        raise ManagerError("Channel specified does not exist")
    context = ((request.get("Context") or "").strip()
               or channel.getVariable("TRANSFER_CONTEXT") or channel.context)
    transferee = _peerOf(channel)
    if transferee is None or channel.driver is None or transferee.driver is None:
        raise ManagerError("Channel specified is not bridged with one other party")
    dialplan = getattr(session.pbx, "dialplan", None)
    if dialplan is None or dialplan.find(context, exten, 1, channel.caller.number or None) is None:
        raise ManagerError(f"Extension {exten}@{context} does not exist")
    AttendedTransfer(session.pbx, channel, transferee, context, exten).start()
    return Success("Atxfer successfully queued")


def cancelAtxfer(session, request):
    from pbxcore.manager.atxfer import transfers

    name = (request.get("Channel") or "").strip()
    if not name:
        raise ManagerError("No channel specified")
    channel = _channel(session, name)
    if channel is None:
        raise ManagerError("Channel specified does not exist")
    transfer = transfers(session.pbx).get(channel)
    if transfer is None:
        raise ManagerError("No attended transfer is in progress on the channel")
    transfer.cancel()
    return Success("CancelAtxfer successfully queued")


def localOptimizeAway(session, request):
    name = (request.get("Channel") or "").strip()
    if not name:
        raise ManagerError("'Channel' not specified.")
    channel = _channel(session, name)
    if channel is None:
        raise ManagerError("Channel does not exist.")
    optimize = getattr(channel.technology, "optimizeAway", None)
    if optimize is None or not optimize(channel):
        raise ManagerError("Unable to find channel")
    return Success("Queued channel to be optimized away")


def bridgeActions(Action):
    return [
        Action("BridgeList", ("call", "reporting"), "Get a list of bridges in the system",
               bridgeList),
        Action("BridgeInfo", ("call", "reporting"), "Get information about a bridge",
               bridgeInfo),
        Action("BridgeDestroy", ("call",), "Destroy a bridge", bridgeDestroy),
        Action("BridgeKick", ("call",), "Kick a channel from a bridge", bridgeKick),
        Action("BridgeTechnologyList", ("call", "reporting"),
               "List available bridging technologies and their statuses", bridgeTechnologyList),
        Action("BridgeTechnologySuspend", ("call", "reporting"), "Suspend a bridging technology",
               bridgeTechnologySuspend),
        Action("BridgeTechnologyUnsuspend", ("call", "reporting"),
               "Unsuspend a bridging technology", bridgeTechnologyUnsuspend),
        Action("Bridge", ("call",), "Bridge two channels already in the PBX", bridgeAction),
        Action("BlindTransfer", ("call",), "Blind transfer channel(s) to the given destination",
               blindTransfer),
        Action("Atxfer", ("call",), "Attended transfer", atxfer),
        Action("CancelAtxfer", ("call",), "Cancel an attended transfer", cancelAtxfer),
        Action("LocalOptimizeAway", ("system", "call"),
               "Optimize away a local channel when possible", localOptimizeAway),
    ]
