"""
The Swagger models of the ARI documents, pure: each resource's objects
and, in C{events}, every event txpbx sends, with the types clients map to
their classes (asyncari turns a property of type C{Channel} into its
Channel object).
"""

from __future__ import annotations


def model(_id: str, _description: str, extends: str | None = None, **props) -> dict:
    """A model; a property type ending in '!' is required."""
    properties = {}
    for prop, kind in props.items():
        required = kind.endswith("!")
        properties[prop] = {"type": kind.rstrip("!"), "required": required,
                            "description": prop.replace("_", " ")}
    result = {"id": _id, "description": _description, "properties": properties}
    if extends:
        result["extends"] = extends
    return result


def _index(*models) -> dict:
    return {m["id"]: m for m in models}


_CHANNEL = (
    model("CallerID", "Caller identification", name="string!", number="string!"),
    model("DialplanCEP", "Dialplan location (context/extension/priority)",
          context="string!", exten="string!", priority="long!", app_name="string!",
          app_data="string!"),
    model("Channel", "A specific communication connection between Asterisk and an Endpoint.",
          id="string!", name="string!", state="string!", protocol_id="string!",
          caller="CallerID!", connected="CallerID!", accountcode="string!",
          dialplan="DialplanCEP!", creationtime="Date!", language="string!",
          channelvars="object"),
    model("Variable", "The value of a channel variable", value="string!"),
)
_BRIDGE = model("Bridge", "The merging of media from one or more channels.",
                id="string!", technology="string!", bridge_type="string!",
                bridge_class="string!", creator="string!", name="string!",
                channels="List[string]!", creationtime="Date!", video_mode="string",
                video_source_id="string")
_PLAYBACK = model("Playback", "Object representing the playback of media to a channel",
                  id="string!", media_uri="string!", next_media_uri="string",
                  target_uri="string!", language="string", state="string!")
_LIVE = model("LiveRecording", "A recording that is in progress", name="string!",
              format="string!", target_uri="string!", state="string!", duration="int",
              talking_duration="int", silence_duration="int", cause="string")
_STORED = model("StoredRecording", "A past recording that may be played back.",
                name="string!", format="string!")
_ENDPOINT = model("Endpoint", "An external device that may offer/accept calls.",
                  technology="string!", resource="string!", state="string",
                  channel_ids="List[string]!")
_DEVICE = model("DeviceState", "Represents the state of a device.", name="string!",
                state="string!")
_APPLICATION = model("Application", "Details of a Stasis application", name="string!",
                     channel_ids="List[string]!", bridge_ids="List[string]!",
                     endpoint_ids="List[string]!", device_names="List[string]!",
                     events_allowed="List[object]!", events_disallowed="List[object]!")
_SOUND = (model("FormatLangPair", "Identifies the format and language of a sound file",
                language="string!", format="string!"),
          model("Sound", "A media file that may be played back.", id="string!",
                text="string", formats="List[FormatLangPair]!"))
_ASTERISK = (
    model("BuildInfo", "Info about how Asterisk was built", os="string!", kernel="string!",
          options="string!", machine="string!", date="string!", user="string!"),
    model("SystemInfo", "Info about Asterisk", version="string!", entity_id="string!"),
    model("SetId", "Effective user/group id", user="string!", group="string!"),
    model("ConfigInfo", "Info about Asterisk configuration", name="string!",
          default_language="string!", max_channels="int", max_open_files="int",
          max_load="double", setid="SetId!"),
    model("StatusInfo", "Info about Asterisk status", startup_time="Date!",
          last_reload_time="Date!"),
    model("AsteriskInfo", "Asterisk system information", build="BuildInfo",
          system="SystemInfo", config="ConfigInfo", status="StatusInfo"),
    model("AsteriskPing", "Asterisk ping information", asterisk_id="string!",
          ping="string!", timestamp="string!"),
    model("Variable", "The value of a variable", value="string!"),
)


def _event(_id, _description, **props):
    return model(_id, _description, extends="Event", **props)


_EVENTS = (
    model("Message", "Base type for errors and events", type="string!",
          asterisk_id="string"),
    model("MissingParams", "Error event sent when required params are missing.",
          extends="Message", params="List[string]!"),
    model("Event", "Base type for asynchronous events from Asterisk.", extends="Message",
          application="string!", timestamp="Date!"),
    _event("StasisStart", "A channel entered a Stasis application.", args="List[string]!",
           channel="Channel!", replace_channel="Channel"),
    _event("StasisEnd", "A channel left a Stasis application.", channel="Channel!"),
    _event("ChannelCreated", "A channel was created.", channel="Channel!"),
    _event("ChannelDestroyed", "A channel was destroyed.", cause="int!", cause_txt="string!",
           channel="Channel!"),
    _event("ChannelStateChange", "The state of a channel changed.", channel="Channel!"),
    _event("ChannelDtmfReceived", "DTMF was received from a channel.", digit="string!",
           duration_ms="int!", channel="Channel!"),
    _event("ChannelHangupRequest", "A hangup was requested on the channel.", cause="int",
           soft="boolean", channel="Channel!"),
    _event("ChannelVarset", "A channel variable changed.", variable="string!",
           value="string!", channel="Channel"),
    _event("ChannelCallerId", "The caller id of a channel changed.",
           caller_presentation="int!", caller_presentation_txt="string!", channel="Channel!"),
    _event("ChannelConnectedLine", "The connected line of a channel changed.",
           channel="Channel!"),
    _event("ChannelHold", "A channel was put on hold.", channel="Channel!",
           musicclass="string"),
    _event("ChannelUnhold", "A channel was taken off hold.", channel="Channel!"),
    _event("ChannelDialplan", "The dialplan location of a channel changed.",
           channel="Channel!", dialplan_app="string!", dialplan_app_data="string!"),
    _event("PlaybackStarted", "A playback started.", playback="Playback!"),
    _event("PlaybackFinished", "A playback finished.", playback="Playback!"),
    _event("RecordingStarted", "A recording started.", recording="LiveRecording!"),
    _event("RecordingFinished", "A recording stopped.", recording="LiveRecording!"),
    _event("RecordingFailed", "A recording failed.", recording="LiveRecording!"),
    _event("BridgeCreated", "A bridge was created.", bridge="Bridge!"),
    _event("BridgeDestroyed", "A bridge was destroyed.", bridge="Bridge!"),
    _event("ChannelEnteredBridge", "A channel entered a bridge.", bridge="Bridge!",
           channel="Channel"),
    _event("ChannelLeftBridge", "A channel left a bridge.", bridge="Bridge!",
           channel="Channel!"),
    _event("DeviceStateChanged", "The state of a device changed.",
           device_state="DeviceState!"),
    _event("ChannelUserevent", "User-generated event with additional user-defined fields.",
           eventname="string!", channel="Channel", bridge="Bridge", endpoint="Endpoint",
           userevent="object!"),
    _event("ApplicationReplaced", "Another WebSocket took over the application."),
)

MODELS = {
    "asterisk": _index(*_ASTERISK),
    "endpoints": _index(_ENDPOINT),
    "channels": _index(*_CHANNEL, _PLAYBACK, _LIVE),
    "bridges": _index(_BRIDGE, _PLAYBACK, _LIVE),
    "recordings": _index(_LIVE, _STORED),
    "sounds": _index(*_SOUND),
    "playbacks": _index(_PLAYBACK),
    "deviceStates": _index(_DEVICE),
    "applications": _index(_APPLICATION),
    "events": _index(*_EVENTS, *_CHANNEL, _BRIDGE, _PLAYBACK, _LIVE, _ENDPOINT, _DEVICE),
}
