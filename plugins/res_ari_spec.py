"""
The ARI operations txpbx serves, as one table, pure: from it come the
Swagger 1.2 documents clients build themselves from
(C{/ari/api-docs/resources.json} and one document per resource), the
routing of requests to handlers, and the checking of parameters (400 for
a missing one, 400 for a value that is not of its type or not allowed).

The operation names, parameters and models follow Asterisk's ARI (the
facts of its rest-api); the wording here is this project's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

API_VERSION = "9.0.0"


@dataclass(frozen=True)
class Param:
    name: str
    dataType: str = "string"
    paramType: str = "query"
    required: bool = False
    allowMultiple: bool = False
    default: object = None
    allowed: tuple = ()
    description: str = ""

    def doc(self) -> dict:
        d = {"name": self.name, "description": self.description or self.name,
             "paramType": self.paramType, "required": self.required,
             "allowMultiple": self.allowMultiple, "dataType": self.dataType}
        if self.default is not None:
            d["defaultValue"] = self.default
        if self.allowed:
            d["allowableValues"] = {"valueType": "LIST", "values": list(self.allowed)}
        return d


@dataclass(frozen=True)
class Operation:
    resource: str
    path: str
    method: str
    nickname: str
    summary: str
    responseClass: str = "void"
    params: tuple = ()
    errors: tuple = ()
    upgrade: str | None = None
    regex: object = field(default=None, compare=False)

    def doc(self) -> dict:
        params = [Param(n, paramType="path", required=True, description=f"The {n}").doc()
                  for n in re.findall(r"\{(\w+)\}", self.path)]
        params += [p.doc() for p in self.params]
        d = {"httpMethod": self.method, "summary": self.summary, "nickname": self.nickname,
             "responseClass": self.responseClass, "parameters": params,
             "errorResponses": [{"code": c, "reason": r} for c, r in self.errors]}
        if self.upgrade:
            d["upgrade"] = self.upgrade
            d["websocketProtocol"] = "ari"
        return d


def P(name, dataType="string", *, where="query", req=False, multi=False, default=None,
      allowed=(), desc=""):
    return Param(name, dataType, where, req, multi, default, tuple(allowed), desc)


_NOCHAN = (404, "Channel not found")
_NOTINAPP = (409, "Channel not in a Stasis application")
_NOBRIDGE = (404, "Bridge not found")
_HANGUP_REASONS = ("normal", "busy", "congestion", "no_answer", "timeout", "rejected",
                   "unallocated", "normal_unspecified", "number_incomplete", "codec_mismatch",
                   "interworking", "failure", "answered_elsewhere")
_ORIGINATE = (
    P("endpoint", req=True, desc="Endpoint to call, as TECH/resource"),
    P("extension", desc="Extension to dial after the call answers"),
    P("context", desc="Context of the extension"),
    P("priority", "long", desc="Priority of the extension"),
    P("label", desc="Label of the extension (instead of priority)"),
    P("app", desc="The Stasis application the channel enters (instead of an extension)"),
    P("appArgs", desc="Arguments of the application"),
    P("callerId", desc="Caller ID of the new channel"),
    P("timeout", "int", default=30, desc="Seconds to wait for an answer; -1 for no limit"),
    P("variables", "containers", where="body",
      desc='Channel variables: {"variables": {"NAME": "value"}}'),
    P("otherChannelId", desc="Accepted; unused"),
    P("originator", desc="The channel that caused this one"),
    P("formats", desc="Accepted; unused"),
)
_PLAY = (P("media", req=True, multi=True, desc="sound:NAME, digits:DIGITS or recording:NAME"),
         P("lang"), P("offsetms", "int", default=0), P("skipms", "int", default=3000))
_RECORD = (
    P("name", req=True, desc="Name of the recording"),
    P("format", req=True, desc="Format: wav, ulaw, alaw, sln"),
    P("maxDurationSeconds", "int", default=0), P("maxSilenceSeconds", "int", default=0),
    P("ifExists", default="fail", allowed=("fail", "overwrite", "append")),
    P("beep", "boolean", default=False),
    P("terminateOn", default="none", allowed=("none", "any", "*", "#")),
)
_SNOOP = (P("spy", default="none", allowed=("none", "both", "out", "in")),
          P("whisper", default="none", allowed=("none", "both", "out", "in")),
          P("app", req=True, desc="The application the snoop channel is placed in"),
          P("appArgs"))
_RECORD_ERRORS = ((400, "Invalid parameters"), (409, "Already recording under that name"),
                  (422, "The format is not known"))


def _channels():
    c = "channels"
    one = "/channels/{channelId}"
    return [
        Operation(c, "/channels", "GET", "list", "List all active channels.", "List[Channel]"),
        Operation(c, "/channels", "POST", "originate", "Create a new channel (originate).",
                  "Channel", _ORIGINATE + (P("channelId"),),
                  ((400, "Invalid parameters for originating a channel."),
                   (409, "Channel with given unique ID already exists."))),
        Operation(c, one, "GET", "get", "Channel details.", "Channel", (), (_NOCHAN,)),
        Operation(c, one, "POST", "originateWithId", "Create a channel with a given id.",
                  "Channel", _ORIGINATE, ((400, "Invalid parameters"), (409, "Id in use"))),
        Operation(c, one, "DELETE", "hangup", "Delete (hang up) a channel.", "void",
                  (P("reason_code"), P("reason", allowed=_HANGUP_REASONS)),
                  ((400, "Invalid reason for hangup provided"), _NOCHAN)),
        Operation(c, one + "/continue", "POST", "continueInDialplan",
                  "Leave Stasis and continue in the dialplan.", "void",
                  (P("context"), P("extension"), P("priority", "int"), P("label")),
                  (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/redirect", "POST", "redirect", "Redirect the channel elsewhere.",
                  "void", (P("endpoint", req=True),),
                  ((400, "Endpoint parameter not provided"), _NOCHAN, _NOTINAPP,
                   (422, "Endpoint is not the same type as the channel"))),
        Operation(c, one + "/answer", "POST", "answer", "Answer a channel.", "void", (),
                  (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/ring", "POST", "ring", "Indicate ringing to a channel.", "void",
                  (), (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/ring", "DELETE", "ringStop", "Stop ringing indication.", "void",
                  (), (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/dtmf", "POST", "sendDTMF", "Send DTMF to a channel.", "void",
                  (P("dtmf"), P("before", "int", default=0), P("between", "int", default=100),
                   P("duration", "int", default=100), P("after", "int", default=0)),
                  ((400, "DTMF is required"), _NOCHAN, _NOTINAPP)),
        Operation(c, one + "/mute", "POST", "mute", "Mute a channel.", "void",
                  (P("direction", default="both", allowed=("both", "in", "out")),),
                  (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/mute", "DELETE", "unmute", "Unmute a channel.", "void",
                  (P("direction", default="both", allowed=("both", "in", "out")),),
                  (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/hold", "POST", "hold", "Hold a channel.", "void", (),
                  (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/hold", "DELETE", "unhold", "Remove a channel from hold.", "void",
                  (), (_NOCHAN, _NOTINAPP)),
    ]


def _channelMedia():
    c = "channels"
    one = "/channels/{channelId}"
    return [
        Operation(c, one + "/moh", "POST", "startMoh", "Play music on hold to a channel.",
                  "void", (P("mohClass"),), (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/moh", "DELETE", "stopMoh", "Stop music on hold.", "void", (),
                  (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/silence", "POST", "startSilence", "Play silence to a channel.",
                  "void", (), (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/silence", "DELETE", "stopSilence", "Stop playing silence.",
                  "void", (), (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/play", "POST", "play", "Start playback of media.", "Playback",
                  _PLAY + (P("playbackId"),), (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/play/{playbackId}", "POST", "playWithId",
                  "Start playback of media with a given playback id.", "Playback", _PLAY,
                  (_NOCHAN, _NOTINAPP)),
        Operation(c, one + "/record", "POST", "record", "Start a recording.", "LiveRecording",
                  _RECORD, _RECORD_ERRORS + (_NOCHAN,)),
        Operation(c, one + "/snoop", "POST", "snoopChannel",
                  "Start snooping: a new channel in an application hears and whispers.",
                  "Channel", _SNOOP + (P("snoopId"),),
                  ((400, "Invalid parameters"), _NOCHAN)),
        Operation(c, one + "/snoop/{snoopId}", "POST", "snoopChannelWithId",
                  "Start snooping with a given snoop channel id.", "Channel", _SNOOP,
                  ((400, "Invalid parameters"), _NOCHAN)),
        Operation(c, one + "/variable", "GET", "getChannelVar",
                  "Get the value of a channel variable or function.", "Variable",
                  (P("variable", req=True),),
                  ((400, "Missing variable parameter."), _NOCHAN,
                   (404, "Variable not found"))),
        Operation(c, one + "/variable", "POST", "setChannelVar",
                  "Set the value of a channel variable or function.", "void",
                  (P("variable", req=True), P("value")),
                  ((400, "Missing variable parameter."), _NOCHAN)),
    ]


def _bridges():
    b = "bridges"
    one = "/bridges/{bridgeId}"
    create = (P("type", desc="Comma list: mixing, holding, dtmf_events, proxy_media"),
              P("name"))
    return [
        Operation(b, "/bridges", "GET", "list", "List all active bridges.", "List[Bridge]"),
        Operation(b, "/bridges", "POST", "create", "Create a new bridge.", "Bridge",
                  create + (P("bridgeId"),)),
        Operation(b, one, "POST", "createWithId", "Create a bridge with a given id.", "Bridge",
                  create),
        Operation(b, one, "GET", "get", "Get bridge details.", "Bridge", (), (_NOBRIDGE,)),
        Operation(b, one, "DELETE", "destroy", "Shut down a bridge.", "void", (),
                  (_NOBRIDGE,)),
        Operation(b, one + "/addChannel", "POST", "addChannel", "Add a channel to a bridge.",
                  "void", (P("channel", req=True, multi=True), P("role"),
                           P("absorbDTMF", "boolean", default=False),
                           P("mute", "boolean", default=False)),
                  ((400, "Channel not found"), _NOBRIDGE,
                   (409, "Bridge not in Stasis application; bridge full"),
                   (422, "Channel not in Stasis application"))),
        Operation(b, one + "/removeChannel", "POST", "removeChannel",
                  "Remove a channel from a bridge.", "void",
                  (P("channel", req=True, multi=True),),
                  ((400, "Channel not found"), _NOBRIDGE, (409, "Bridge not in Stasis"),
                   (422, "Channel not in this bridge"))),
        Operation(b, one + "/play", "POST", "play", "Start playback of media on a bridge.",
                  "Playback", _PLAY + (P("playbackId"),), (_NOBRIDGE,)),
        Operation(b, one + "/play/{playbackId}", "POST", "playWithId",
                  "Start playback of media on a bridge with a given id.", "Playback", _PLAY,
                  (_NOBRIDGE,)),
        Operation(b, one + "/record", "POST", "record", "Start a recording of a bridge.",
                  "LiveRecording", _RECORD, _RECORD_ERRORS + (_NOBRIDGE,)),
    ]


def _others():
    r = "recordings"
    stored = "/recordings/stored/{recordingName}"
    live = "/recordings/live/{recordingName}"
    return [
        Operation("asterisk", "/asterisk/info", "GET", "getInfo",
                  "Gets Asterisk system information.", "AsteriskInfo",
                  (P("only", multi=True, allowed=("build", "system", "config", "status")),)),
        Operation("asterisk", "/asterisk/ping", "GET", "ping", "Response pong message.",
                  "AsteriskPing"),
        Operation("asterisk", "/asterisk/variable", "GET", "getGlobalVar",
                  "Get the value of a global variable.", "Variable",
                  (P("variable", req=True),), ((400, "Missing variable parameter."),)),
        Operation("asterisk", "/asterisk/variable", "POST", "setGlobalVar",
                  "Set the value of a global variable.", "void",
                  (P("variable", req=True), P("value")), ((400, "Missing variable parameter."),)),
        Operation("endpoints", "/endpoints", "GET", "list", "List all endpoints.",
                  "List[Endpoint]"),
        Operation("endpoints", "/endpoints/{tech}", "GET", "listByTech",
                  "List available endoints for a given endpoint technology.", "List[Endpoint]",
                  (), ((404, "Endpoints not found"),)),
        Operation("endpoints", "/endpoints/{tech}/{resource}", "GET", "get",
                  "Details for an endpoint.", "Endpoint", (),
                  ((400, "Invalid parameters"), (404, "Endpoints not found"))),
        Operation("playbacks", "/playbacks/{playbackId}", "GET", "get",
                  "Get a playback's details.", "Playback", (), ((404, "Playback not found"),)),
        Operation("playbacks", "/playbacks/{playbackId}", "DELETE", "stop",
                  "Stop a playback.", "void", (), ((404, "Playback not found"),)),
        Operation("playbacks", "/playbacks/{playbackId}/control", "POST", "control",
                  "Control a playback.", "void",
                  (P("operation", req=True, allowed=("restart", "pause", "unpause", "reverse",
                                                     "forward")),),
                  ((400, "The provided operation parameter was invalid"),
                   (404, "The playback cannot be found"),
                   (409, "The operation cannot be performed in the playback's current state"))),
        Operation(r, "/recordings/stored", "GET", "listStored", "List recordings that are "
                  "complete.", "List[StoredRecording]"),
        Operation(r, stored, "GET", "getStored", "Get a stored recording's details.",
                  "StoredRecording", (), ((404, "Recording not found"),)),
        Operation(r, stored, "DELETE", "deleteStored", "Delete a stored recording.", "void",
                  (), ((404, "Recording not found"),)),
        Operation(r, stored + "/file", "GET", "getStoredFile", "Get the file of a recording.",
                  "binary", (), ((403, "The recording file could not be opened"),
                                 (404, "Recording not found"))),
        Operation(r, live, "GET", "getLive", "List live recordings.", "LiveRecording", (),
                  ((404, "Recording not found"),)),
        Operation(r, live, "DELETE", "cancel", "Stop a live recording and discard it.", "void",
                  (), ((404, "Recording not found"),)),
        Operation(r, live + "/stop", "POST", "stop", "Stop a live recording and store it.",
                  "void", (), ((404, "Recording not found"),)),
        Operation("sounds", "/sounds", "GET", "list", "List all sounds.", "List[Sound]",
                  (P("lang"), P("format"))),
        Operation("sounds", "/sounds/{soundId}", "GET", "get", "Get a sound's details.",
                  "Sound", (), ((404, "Sound not found"),)),
    ]


def _apps():
    d = "deviceStates"
    a = "applications"
    return [
        Operation(d, "/deviceStates", "GET", "list", "List all ARI controlled device states.",
                  "List[DeviceState]"),
        Operation(d, "/deviceStates/{deviceName}", "GET", "get",
                  "Retrieve the current state of a device.", "DeviceState"),
        Operation(d, "/deviceStates/{deviceName}", "PUT", "update",
                  "Change the state of a device controlled by ARI.", "void",
                  (P("deviceState", req=True, allowed=(
                      "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING",
                      "RINGINUSE", "ONHOLD")),),
                  ((404, "Device name is missing"),
                   (409, "Uncontrolled device specified"))),
        Operation(d, "/deviceStates/{deviceName}", "DELETE", "delete",
                  "Destroy a device-state controlled by ARI.", "void", (),
                  ((404, "Device name is missing"), (409, "Uncontrolled device specified"))),
        Operation(a, "/applications", "GET", "list", "List all applications.",
                  "List[Application]"),
        Operation(a, "/applications/{applicationName}", "GET", "get",
                  "Get details of an application.", "Application", (),
                  ((404, "Application does not exist."),)),
        Operation(a, "/applications/{applicationName}/subscription", "POST", "subscribe",
                  "Subscribe an application to an event source.", "Application",
                  (P("eventSource", req=True, multi=True),),
                  ((400, "Missing parameter."), (404, "Application does not exist."),
                   (422, "Event source does not exist."))),
        Operation(a, "/applications/{applicationName}/subscription", "DELETE", "unsubscribe",
                  "Unsubscribe an application from an event source.", "Application",
                  (P("eventSource", req=True, multi=True),),
                  ((400, "Missing parameter; event source scheme not recognized."),
                   (404, "Application does not exist."),
                   (409, "Application not subscribed to event source."),
                   (422, "Event source does not exist."))),
        Operation("events", "/events", "GET", "eventWebsocket",
                  "WebSocket connection for events.", "Message",
                  (P("app", req=True, multi=True), P("subscribeAll", "boolean")),
                  upgrade="websocket"),
        Operation("events", "/events/user/{eventName}", "POST", "userEvent",
                  "Generate a user event.", "void",
                  (P("application", req=True), P("source", multi=True),
                   P("variables", "containers", where="body")),
                  ((404, "Application does not exist."),
                   (422, "Event source not found."), (400, "Invalid even tsource URI."))),
    ]


RESOURCES = (
    ("asterisk", "Asterisk resources"),
    ("endpoints", "Endpoint resources"),
    ("channels", "Channel resources"),
    ("bridges", "Bridge resources"),
    ("recordings", "Recording resources"),
    ("sounds", "Sound resources"),
    ("playbacks", "Playback control resources"),
    ("deviceStates", "Device state resources"),
    ("events", "WebSocket resource"),
    ("applications", "Stasis application resources"),
)


def _compile(op: Operation) -> Operation:
    pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(op.path)) + "$"
    return Operation(op.resource, op.path, op.method, op.nickname, op.summary,
                     op.responseClass, op.params, op.errors, op.upgrade, re.compile(pattern))


OPERATIONS = tuple(_compile(op) for op in
                   _channels() + _channelMedia() + _bridges() + _others() + _apps())


def match(method: str, path: str):
    """
    (operation, path parameters) for C{method} and C{path} ('/channels/x'),
    (None, allowed methods) when the path exists with other methods, or
    (None, ()) when it does not exist.
    """
    allowed = []
    for op in OPERATIONS:
        m = op.regex.match(path)
        if m is None:
            continue
        if op.method == method:
            return op, m.groupdict()
        allowed.append(op.method)
    return None, tuple(allowed)


class ParamError(ValueError):
    """A parameter is missing or not of its type (HTTP 400)."""


def _convert(param: Param, value):
    if param.dataType in ("int", "long"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ParamError(f"{param.name}: not a whole number: {value!r}") from None
    if param.dataType == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ParamError(f"{param.name}: not a boolean: {value!r}")
    if param.dataType == "containers":
        if not isinstance(value, dict):
            raise ParamError(f"{param.name}: must be a JSON object")
        return value
    if param.allowMultiple:
        values = value if isinstance(value, list) else str(value).split(",")
        values = [str(v) for v in values if str(v)]
        for v in values:
            if param.allowed and v not in param.allowed:
                raise ParamError(f"{param.name}: {v!r} is not one of {', '.join(param.allowed)}")
        return values
    value = str(value)
    if param.allowed and value not in param.allowed:
        raise ParamError(f"{param.name}: {value!r} is not one of {', '.join(param.allowed)}")
    return value


def parameters(op: Operation, query: dict, body) -> dict:
    """
    The operation's parameters from the query (name -> first value) and a
    JSON body object (Asterisk takes either), converted and defaulted.
    Raises ParamError.
    """
    result = {}
    body = body if isinstance(body, dict) else {}
    for param in op.params:
        value = body.get(param.name, query.get(param.name))
        if value is None or value == "":
            if param.required:
                raise ParamError(f"Missing parameter {param.name}")
            result[param.name] = param.default
            continue
        result[param.name] = _convert(param, value)
    return result


def resourceListing(basePath: str) -> dict:
    return {"apiVersion": API_VERSION, "swaggerVersion": "1.1", "basePath": basePath,
            "apis": [{"path": f"/api-docs/{name}.{{format}}", "description": text}
                     for name, text in RESOURCES]}


def apiDeclaration(resource: str, basePath: str, models: dict) -> dict | None:
    """The Swagger document of one resource, or None for an unknown one."""
    if resource not in dict(RESOURCES):
        return None
    apis = {}
    for op in OPERATIONS:
        if op.resource != resource:
            continue
        api = apis.setdefault(op.path, {"path": op.path, "description": op.summary,
                                        "operations": []})
        api["operations"].append(op.doc())
    return {"apiVersion": API_VERSION, "swaggerVersion": "1.2", "basePath": basePath,
            "resourcePath": f"/api-docs/{resource}.{{format}}",
            "apis": list(apis.values()), "models": models.get(resource, {})}
