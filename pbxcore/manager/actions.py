"""
The core manager actions, Asterisk's names, fields and messages.

An action returns a response object (L{Success}, L{ListResponse},
L{CommandOutput}, L{Goodbye}, L{Failure}) or a Deferred of one, or raises
L{ManagerError}; the protocol echoes ActionID and frames list answers, so no
action deals with either.
"""

import time

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.channel import channelFields, technologyName
from pbxcore.errors import ManagerError, ModuleError, ReadOnlyFunction
from pbxcore.interfaces import IManagerAction
from pbxcore.manager.config import formatClasses
from pbxcore.manager.responses import (
    CommandOutput,
    Failure,
    Goodbye,
    ListResponse,
    Success,
)

__all__ = [
    "Action", "CommandOutput", "Failure", "Goodbye", "ListResponse", "Success",
    "coreActions",
]

log = Logger()

@implementer(IManagerAction)
class Action:
    """A manager action made of a function C{run(session, request)}."""

    def __init__(self, name, privileges, synopsis, run):
        self.name = name
        self.privileges = tuple(privileges)
        self.synopsis = synopsis
        self._run = run

    def call(self, session, request):
        return self._run(session, request)

    def __repr__(self):
        return f"<Action {self.name}>"


def required(request, key):
    """The value of a mandatory header, or the error Asterisk gives."""
    value = request.get(key)
    if value is None or not value.strip():
        raise ManagerError(f"No {key} specified")
    return value.strip()


def isTrue(value):
    return (value or "").strip().lower() in ("yes", "true", "y", "t", "1", "on")


def findChannel(session, name):
    """One live channel by name or uniqueid (prefixes allowed), or ManagerError."""
    channels = getattr(session.pbx, "channels", None)
    if channels is None:
        raise ManagerError("No such channel")
    channel = channels.get(name)
    if channel is None:
        found = channels.find(name) if hasattr(channels, "find") else []
        if len(found) == 1:
            channel = found[0]
    if channel is None:
        raise ManagerError("No such channel")
    return channel


def liveChannels(pbx):
    channels = getattr(pbx, "channels", None)
    return list(channels) if channels is not None else []


def channelBlock(channel, prefix=""):
    return channelFields(channel, prefix)


def _now(session):
    return session.reactor.seconds()


def _hms(seconds):
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _bridgeID(channel):
    bridge = getattr(channel, "bridge", None)
    if bridge is None:
        return ""
    return str(getattr(bridge, "uniqueid", None) or getattr(bridge, "id", "") or "")


# -- session actions --------------------------------------------------------

def login(session, request):
    return session.login(request)


def logoff(session, request):
    return Goodbye()


def ping(session, request):
    return Success(fields=(("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")))


def challenge(session, request):
    authType = (request.get("AuthType") or "").strip().lower()
    if authType != "md5":
        raise ManagerError("Must specify AuthType")
    return Success(fields=(("Challenge", session.newChallenge()),))


def events(session, request):
    mask = request.get("EventMask")
    if mask is None:
        raise ManagerError("No EventMask specified")
    on = session.setEventMask(mask)
    return Success(fields=(("Events", "On" if on else "Off"),))


def listCommands(session, request):
    try:
        actions = list(session.pbx.registry("manageraction"))
    except KeyError:
        actions = []
    fields = []
    for action in sorted(actions, key=lambda a: a.name.lower()):
        privs = formatClasses(set(action.privileges)) or "<none>"
        fields.append((action.name, f"{action.synopsis}  (Priv: {privs})"))
    return Success(fields=tuple(fields))


def waitEvent(session, request):
    try:
        timeout = float(request.get("Timeout") or 30)
    except ValueError:
        raise ManagerError("Invalid Timeout")
    timeout = max(0.0, min(timeout, 3600.0))
    d = session.waitForEvent(timeout)

    def done(_):
        session.sendEvent("WaitEventComplete", [], actionID=request.actionID)
        return Success("Waiting for Event completed.")

    return d.addCallback(done)


# -- system -------------------------------------------------------------------

def _setting(pbx, key, default=""):
    settings = getattr(pbx, "settings", None)
    if settings is None:
        return default
    try:
        value = settings.get(key, default)
    except Exception:
        value = getattr(settings, key, default)
    return default if value is None else value


def coreSettings(session, request):
    pbx = session.pbx
    return Success(fields=(
        ("AMIversion", "5.0.2"),
        ("AsteriskVersion", f"txpbx {getattr(pbx, 'version', '')}"),
        ("SystemName", _setting(pbx, "systemname")),
        ("CoreMaxCalls", _setting(pbx, "maxcalls", 0) or 0),
        ("CoreMaxLoadAvg", "0.000000"),
        ("CoreRunUser", ""),
        ("CoreRunGroup", ""),
        ("CoreMaxFilehandles", "0"),
        ("CoreRealTimeEnabled", "No"),
        ("CoreCDRenabled", "Yes" if getattr(pbx, "cdr", None) is not None else "No"),
        ("CoreHTTPenabled", "No"),
        ("SoundsSearchCustomDir", "No"),
    ))


def _dateTime(epoch):
    local = time.localtime(epoch)
    return time.strftime("%Y-%m-%d", local), time.strftime("%H:%M:%S", local)


def coreStatus(session, request):
    pbx = session.pbx
    now = _now(session)
    start = getattr(pbx, "startTime", None) or session.factory.startTime
    reload = getattr(pbx, "reloadTime", None) or start
    wallOffset = time.time() - now
    startDate, startTime = _dateTime(start + wallOffset)
    reloadDate, reloadTime = _dateTime(reload + wallOffset)
    calls = len({getattr(c, "linkedid", c.uniqueid) for c in liveChannels(pbx)})
    return Success(fields=(
        ("CoreStartupDate", startDate), ("CoreStartupTime", startTime),
        ("CoreReloadDate", reloadDate), ("CoreReloadTime", reloadTime),
        ("CoreCurrentCalls", calls),
    ))


def coreShowChannels(session, request):
    now = _now(session)
    items = []
    for channel in liveChannels(session.pbx):
        created = getattr(channel, "creationTime", None) or now
        fields = channelBlock(channel) + [
            ("BridgeId", _bridgeID(channel)),
            ("Application", getattr(channel, "appl", None) or ""),
            ("ApplicationData", getattr(channel, "data", None) or ""),
            ("Duration", _hms(now - created)),
        ]
        items.append(("CoreShowChannel", fields))
    return ListResponse(items, "CoreShowChannelsComplete", "Channels will follow")


def status(session, request):
    name = (request.get("Channel") or "").strip()
    if name:
        channels = [findChannel(session, name)]
    else:
        channels = liveChannels(session.pbx)
    wanted = [v.strip() for v in (request.get("Variables") or "").split(",") if v.strip()]
    now = _now(session)
    items = []
    for channel in channels:
        created = getattr(channel, "creationTime", None) or now
        answered = getattr(channel, "answerTime", None)
        fields = channelBlock(channel) + [
            ("Type", technologyName(channel)),
            ("DNID", ""),
            ("EffectiveConnectedLineNum", channel.connected.number or "<unknown>"),
            ("EffectiveConnectedLineName", channel.connected.name or "<unknown>"),
            ("TimeToHangup", "0"),
            ("BridgeID", _bridgeID(channel)),
            ("Application", getattr(channel, "appl", None) or ""),
            ("Data", getattr(channel, "data", None) or ""),
            ("Nativeformats", "(ulaw)"),
            ("Readformat", "ulaw"),
            ("Writeformat", "ulaw"),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", int(now - (answered or created))),
        ]
        for variable in wanted:
            value = _readVariable(session, channel, variable)
            fields.append(("Variable", f"{variable}={value if value is not None else ''}"))
        items.append(("Status", fields))
    return ListResponse(items, "StatusComplete", "Channel status will follow",
                        completeFields=(("Items", len(items)),))


def _cause(value):
    if value is None or not value.strip():
        return None
    from pbxcore.frame import HangupCause, causeFromName

    try:
        return HangupCause(int(value))
    except ValueError:
        cause = causeFromName(value.strip())
        if cause is None:
            raise ManagerError("Invalid cause")
        return cause


def _hangupChannel(channel, cause):
    from pbxcore.frame import HangupCause

    cause = cause if cause is not None else HangupCause.NORMAL_CLEARING
    soft = getattr(channel, "softHangup", None)
    if soft is not None:
        return soft(cause, source="AMI")
    return channel.hangup(cause)


def hangup(session, request):
    target = required(request, "Channel")
    cause = _cause(request.get("Cause"))
    if len(target) > 1 and target.startswith("/") and target.endswith("/"):
        channels = session.pbx.channels.find(target)
        for channel in channels:
            _hangupChannel(channel, cause)
        return ListResponse([("ChannelHungup", [("Channel", c.name)]) for c in channels],
                            "ChannelsHungupListComplete", "Channels hung up will follow")
    channel = findChannel(session, target)
    _hangupChannel(channel, cause)
    return Success("Channel Hungup")


# -- variables ------------------------------------------------------------------

def _splitFunction(name):
    """('FUNC', 'args') for 'FUNC(args)', else None."""
    if name.endswith(")") and "(" in name:
        func, _, args = name[:-1].partition("(")
        return func.strip(), args
    return None


def _readVariable(session, channel, name):
    pbx = session.pbx
    call = _splitFunction(name)
    if call is not None:
        func = pbx.registry("function").get(call[0])
        if func is None:
            raise ManagerError(f"Unknown function {call[0]}")
        return func.read(channel, call[1])
    if channel is not None:
        return channel.getVariable(name)
    return getattr(pbx, "globals", {}).get(name)


def getvar(session, request):
    name = required(request, "Variable")
    channelName = (request.get("Channel") or "").strip()
    channel = findChannel(session, channelName) if channelName else None
    if channel is None and _splitFunction(name) is None and channelName:
        raise ManagerError("No such channel")
    d = defer.maybeDeferred(_readVariable, session, channel, name)
    return d.addCallback(lambda value: Success(fields=(
        ("Variable", name), ("Value", "" if value is None else value))))


def setvar(session, request):
    name = required(request, "Variable")
    value = request.get("Value")
    if value is None:
        raise ManagerError("No value specified")
    channelName = (request.get("Channel") or "").strip()
    channel = findChannel(session, channelName) if channelName else None
    pbx = session.pbx
    call = _splitFunction(name)
    if call is not None:
        func = pbx.registry("function").get(call[0])
        if func is None:
            raise ManagerError(f"Unknown function {call[0]}")
        try:
            d = defer.maybeDeferred(func.write, channel, call[1], value)
        except ReadOnlyFunction:
            raise ManagerError(f"Function {call[0]} cannot be written")

        def readOnly(failure):
            failure.trap(ReadOnlyFunction)
            raise ManagerError(f"Function {call[0]} cannot be written")

        return d.addCallbacks(lambda _: Success("Variable Set"), readOnly)
    if channel is not None:
        channel.setVariable(name, value)
    else:
        pbx.globals[name] = value
    return Success("Variable Set")


# -- channel operations ----------------------------------------------------------

def playDTMF(session, request):
    channel = findChannel(session, required(request, "Channel"))
    digit = required(request, "Digit")
    try:
        duration = int(request.get("Duration") or 0) or 250
    except ValueError:
        raise ManagerError("Invalid Duration")
    d = defer.ensureDeferred(channel.sendDigit(digit[0], duration))
    return d.addCallback(lambda _: Success("DTMF successfully queued"))


def sendText(session, request):
    channel = findChannel(session, required(request, "Channel"))
    message = request.get("Message")
    if message is None:
        raise ManagerError("No Message specified")
    d = defer.ensureDeferred(channel.sendText(message))

    def failed(failure):
        raise ManagerError("Failure")

    return d.addCallbacks(lambda _: Success("Success"), failed)


def _priority(request, key="Priority"):
    value = (request.get(key) or "1").strip()
    try:
        return int(value)
    except ValueError:
        raise ManagerError("Invalid priority")


def _redirectOne(session, channel, context, exten, priority):
    engine = getattr(session.pbx, "engine", None)
    redirect = getattr(engine, "redirect", None)
    if redirect is not None:
        return defer.maybeDeferred(redirect, channel, context, exten, priority)
    channel.goto(context, exten, priority)
    return defer.succeed(None)


def redirect(session, request):
    channel = findChannel(session, required(request, "Channel"))
    exten = required(request, "Exten")
    context = (request.get("Context") or "").strip() or channel.context
    priority = _priority(request)
    extraName = (request.get("ExtraChannel") or "").strip()
    targets = [(channel, context, exten, priority)]
    if extraName:
        extra = findChannel(session, extraName)
        targets.append((extra,
                        (request.get("ExtraContext") or "").strip() or context,
                        (request.get("ExtraExten") or "").strip() or exten,
                        _priority(request, "ExtraPriority")
                        if request.get("ExtraPriority") else priority))
    ds = [_redirectOne(session, *t) for t in targets]
    d = defer.gatherResults(ds, consumeErrors=True)

    def done(_):
        return Success("Dual Redirect successful" if extraName else "Redirect successful")

    def failed(failure):
        log.failure("Redirect failed", failure)
        raise ManagerError("Redirect failed")

    return d.addCallbacks(done, failed)


def _callerID(value):
    """('name', 'number') from '"Name" <number>' or a bare number."""
    value = (value or "").strip()
    if not value:
        return None, None
    if "<" in value and value.endswith(">"):
        name, _, number = value[:-1].partition("<")
        return name.strip().strip('"') or None, number.strip() or None
    return None, value


def originate(session, request):
    """
    Originate: call Channel, then run Context/Exten/Priority or
    Application(Data) on it. With Async the answer comes at once and an
    OriginateResponse event follows.
    """
    pbx = session.pbx
    target = required(request, "Channel")
    tech, sep, dest = target.partition("/")
    if not sep or not dest:
        raise ManagerError("Invalid channel")
    application = (request.get("Application") or "").strip() or None
    exten = (request.get("Exten") or "").strip() or None
    context = (request.get("Context") or "").strip() or None
    priority = _priority(request)
    if application is None and exten is None:
        raise ManagerError("Exten not specified")
    if application and application.lower() in ("system", "exec") and \
            "system" not in session.writeClasses:
        raise ManagerError("Originate with certain 'Application' arguments "
                           "requires the additional System privilege, which you do not have.")
    try:
        timeout = int(request.get("Timeout") or 30000) / 1000.0
    except ValueError:
        raise ManagerError("Invalid timeout")
    if timeout <= 0:
        raise ManagerError("Invalid timeout")
    name, number = _callerID(request.get("CallerID"))
    variables = request.variables()
    account = (request.get("Account") or "").strip() or None
    isAsync = isTrue(request.get("Async"))
    actionID = request.actionID
    engine = getattr(pbx, "engine", None)
    if engine is None or not hasattr(engine, "originate"):
        raise ManagerError("Originate failed")

    def start():
        # The engine announces the outcome with OriginateResponse (carrying
        # the ActionID); Codecs are accepted and left to the technology.
        d = defer.ensureDeferred(engine.originate(
            tech, dest, timeout=timeout, context=context, exten=exten,
            priority=priority, application=application, data=request.get("Data") or "",
            callerID=(name, number) if (name or number) else None, variables=variables,
            account=account or "", actionID=actionID))

        def failed(failure):
            log.failure("Originate of {target} failed", failure, target=target)
            return {"Response": "Failure"}

        return d.addErrback(failed)

    if isAsync:
        # Started on the next turn so that the acknowledgement is written
        # before anything the call emits, OriginateResponse included.
        session.reactor.callLater(0, start)
        return Success("Originate successfully queued")
    d = start()

    def syncAnswer(result):
        if result.get("Response") == "Success":
            return Success("Originate successfully queued")
        raise ManagerError("Originate failed")

    return d.addCallback(syncAnswer)


# -- console, modules, events ---------------------------------------------------

def command(session, request):
    from pbxcore.console.clicommands import runCommand

    line = required(request, "Command")
    return runCommand(session.pbx, line).addCallback(CommandOutput)


def reload(session, request):
    pbx = session.pbx
    module = (request.get("Module") or "").strip() or None
    d = defer.maybeDeferred(pbx.reload, module) if hasattr(pbx, "reload") else \
        defer.maybeDeferred(pbx.loader.reload, module)

    def done(results):
        errors = [e for _, e in (results or []) if e]
        if errors:
            raise ManagerError(errors[0])
        return Success("Module Reloaded.")

    def failed(failure):
        failure.trap(ModuleError)
        raise ManagerError("No such module")

    return d.addCallbacks(done, failed)


def moduleLoad(session, request):
    loader = session.pbx.loader
    loadType = required(request, "LoadType").lower()
    module = (request.get("Module") or "").strip()
    if loadType not in ("load", "unload", "reload"):
        raise ManagerError("Incorrect value for LoadType")
    if not module and loadType != "reload":
        raise ManagerError("Need module name")
    if loadType == "load":
        d = defer.maybeDeferred(loader.load, module)
        message = "Module loaded."
    elif loadType == "unload":
        d = defer.maybeDeferred(loader.unload, module, False)
        message = "Module unloaded."
    else:
        d = defer.maybeDeferred(loader.reload, module or None)
        message = "Module reloaded."

    def done(results):
        if loadType == "reload":
            errors = [e for _, e in (results or []) if e]
            if errors:
                raise ManagerError(errors[0])
        return Success(message)

    def failed(failure):
        failure.trap(ModuleError)
        raise ManagerError(str(failure.value))

    return d.addCallbacks(done, failed)


def moduleCheck(session, request):
    from pbxcore.loader import moduleName

    name = moduleName(required(request, "Module"))
    if name not in session.pbx.loader.modules:
        raise ManagerError("Module not loaded")
    return Success(fields=(("Version", ""),))


def userEvent(session, request):
    name = required(request, "UserEvent")
    skip = {"action", "actionid", "userevent"}
    fields = [("UserEvent", name)] + [(k, v) for k, v in request.fields
                                      if k.lower() not in skip]
    session.pbx.emitEvent("UserEvent", fields, "user")
    return Success("Event Sent")


def _astdb(session):
    db = getattr(session.pbx, "astdb", None)
    if db is None:
        raise ManagerError("Database not available")
    return db


def dbGet(session, request):
    family = required(request, "Family")
    key = required(request, "Key")
    value = _astdb(session).get(family, key)
    if value is None:
        raise ManagerError("Database entry not found")
    return ListResponse([("DBGetResponse", [("Family", family), ("Key", key),
                                            ("Val", value)])],
                        "DBGetComplete", "Result will follow")


def dbPut(session, request):
    family = required(request, "Family")
    key = required(request, "Key")
    value = request.get("Val")
    if value is None:
        value = request.get("Value") or ""
    _astdb(session).put(family, key, value)
    return Success("Updated database successfully")


def dbDel(session, request):
    family = required(request, "Family")
    key = required(request, "Key")
    if not _astdb(session).delete(family, key):
        raise ManagerError("Database entry not found")
    return Success("Key deleted successfully")


def dbDelTree(session, request):
    family = required(request, "Family")
    keytree = (request.get("Key") or "").strip() or None
    args = (family, keytree) if keytree else (family,)
    if not _astdb(session).deltree(*args):
        raise ManagerError("Database entry not found")
    return Success("Key tree deleted successfully")


def _extensionStateText(state):
    from pbxcore.devicestate.aggregation import extensionStateText

    return extensionStateText(state)


def extensionState(session, request):
    exten = required(request, "Exten")
    context = (request.get("Context") or "").strip() or "default"
    engine = getattr(session.pbx, "devicestate", None)
    if engine is None:
        state, hint = -1, ""
    else:
        state = engine.extensionState(context, exten)
        hint = engine.hint(context, exten) or ""
    return Success("Extension Status", fields=(
        ("Exten", exten), ("Context", context), ("Hint", hint),
        ("Status", str(state)), ("StatusText", _extensionStateText(state)),
    ))


def _hintItems(session):
    engine = getattr(session.pbx, "devicestate", None)
    items = []
    if engine is None:
        return items
    for context, exten, hint in engine.hints():
        state = engine.extensionState(context, exten)
        items.append((context, exten, hint, state))
    return items


def coreShowHints(session, request):
    items = []
    engine = getattr(session.pbx, "devicestate", None)
    for context, exten, hint, state in _hintItems(session):
        watchers = engine.watcherCount(context, exten) if engine is not None else 0
        items.append(("ExtensionStatus", [
            ("Exten", exten), ("Context", context), ("Hint", hint),
            ("Status", str(state)), ("StatusText", _extensionStateText(state)),
            ("Watchers", str(watchers)),
        ]))
    return ListResponse(items, "CoreShowHintsComplete", "Hints will follow")


def extensionStateList(session, request):
    items = [("ExtensionStatus", [
        ("Exten", exten), ("Context", context), ("Hint", hint),
        ("Status", str(state)), ("StatusText", _extensionStateText(state)),
    ]) for context, exten, hint, state in _hintItems(session)]
    return ListResponse(items, "ExtensionStateListComplete",
                        "Extension Statuses will follow")


def coreActions():
    """Fresh Action objects for the manager module to register."""
    A = Action
    return [
        A("Login", (), "Login Manager", login),
        A("Logoff", (), "Logoff Manager", logoff),
        A("Ping", (), "Keepalive command", ping),
        A("Challenge", (), "Generate Challenge for MD5 Auth", challenge),
        A("Events", (), "Control Event Flow", events),
        A("ListCommands", (), "List available manager commands", listCommands),
        A("WaitEvent", (), "Wait for an event to occur", waitEvent),
        A("CoreSettings", ("system", "reporting"), "Show PBX core settings (version etc)",
          coreSettings),
        A("CoreStatus", ("system", "reporting"), "Show PBX core status variables",
          coreStatus),
        A("CoreShowChannels", ("system", "reporting"), "List currently active channels",
          coreShowChannels),
        A("Status", ("system", "call", "reporting"), "List channel status", status),
        A("Hangup", ("system", "call"), "Hangup channel", hangup),
        A("Originate", ("originate",), "Originate a call", originate),
        A("Redirect", ("call",), "Redirect (transfer) a call", redirect),
        A("Getvar", ("call", "reporting"), "Gets a channel variable or function value",
          getvar),
        A("Setvar", ("call",), "Sets a channel variable or function value", setvar),
        A("PlayDTMF", ("call",), "Play DTMF signal on a specific channel", playDTMF),
        A("SendText", ("call",), "Sends a text message to channel", sendText),
        A("Command", ("command",), "Execute a console command", command),
        A("Reload", ("system", "config"), "Send a reload event", reload),
        A("ModuleLoad", ("system",), "Module management", moduleLoad),
        A("ModuleCheck", ("system",), "Check if module is loaded", moduleCheck),
        A("UserEvent", ("user",), "Send an arbitrary event", userEvent),
        A("DBGet", ("system", "reporting"), "Get DB Entry", dbGet),
        A("DBPut", ("system",), "Put DB entry", dbPut),
        A("DBDel", ("system",), "Delete DB entry", dbDel),
        A("DBDelTree", ("system",), "Delete DB Tree", dbDelTree),
        A("ExtensionState", ("call", "reporting"), "Check Extension Status",
          extensionState),
        A("ExtensionStateList", ("call", "reporting"), "List the current known extension states",
          extensionStateList),
        A("CoreShowHints", ("call", "reporting"), "List dialplan hints and their states",
          coreShowHints),
    ]
