"""
The JSON shapes of ARI objects and events, pure: channels, bridges,
playbacks, recordings, endpoints, device states, applications and sounds
as Asterisk's ARI writes them. Times are Asterisk's
C{2026-12-07T23:35:00.123+0000}.
"""

from __future__ import annotations

import time


def isoTime(seconds: float) -> str:
    """Asterisk's ARI timestamp, UTC, milliseconds."""
    whole = int(seconds)
    millis = int(round((seconds - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}+0000"


def party(cid) -> dict:
    return {"name": cid.name or "", "number": cid.number or ""}


def channelJSON(channel) -> dict:
    """The ARI Channel object of a core channel."""
    return {
        "id": channel.uniqueid,
        "name": channel.name,
        "state": channel.state.description,
        "protocol_id": "",
        "caller": party(channel.caller),
        "connected": party(channel.connected),
        "accountcode": channel.accountcode or "",
        "dialplan": {
            "context": channel.context or "",
            "exten": channel.exten or "",
            "priority": int(channel.priority) if str(channel.priority).isdigit() else 1,
            "app_name": channel.appl or "",
            "app_data": channel.data or "",
        },
        "creationtime": isoTime(channel.creationTime),
        "language": channel.language or "en",
    }


def bridgeJSON(bridge) -> dict:
    """The ARI Bridge object of a L{plugins.res_ari_stasis.AriBridge}."""
    return {
        "id": bridge.id,
        "technology": bridge.technology,
        "bridge_type": bridge.bridgeType,
        "bridge_class": bridge.bridgeClass,
        "creator": bridge.creator,
        "name": bridge.name,
        "channels": [c.uniqueid for c in bridge.channels],
        "creationtime": isoTime(bridge.creationTime),
        "video_mode": "none",
    }


def playbackJSON(playback) -> dict:
    return {
        "id": playback.id,
        "media_uri": playback.mediaURI,
        "next_media_uri": "",
        "target_uri": playback.targetURI,
        "language": playback.language,
        "state": playback.state,
    }


def liveRecordingJSON(recording) -> dict:
    result = {
        "name": recording.name,
        "format": recording.format,
        "target_uri": recording.targetURI,
        "state": recording.state,
        "duration": int(recording.duration),
        "talking_duration": int(recording.duration),
        "silence_duration": 0,
    }
    if recording.cause:
        result["cause"] = recording.cause
    return result


def storedRecordingJSON(name: str, fmt: str) -> dict:
    return {"name": name, "format": fmt}


def endpointJSON(technology: str, resource: str, state: str, channelIds) -> dict:
    return {"technology": technology, "resource": resource, "state": state,
            "channel_ids": list(channelIds)}


def deviceStateJSON(name: str, state: str) -> dict:
    return {"name": name, "state": state}


def applicationJSON(app) -> dict:
    return {
        "name": app.name,
        "channel_ids": sorted(app.channelIds),
        "bridge_ids": sorted(app.bridgeIds),
        "endpoint_ids": sorted(app.endpointIds),
        "device_names": sorted(app.deviceNames),
        "events_allowed": [],
        "events_disallowed": [],
    }


def soundJSON(name: str, formats) -> dict:
    return {"id": name, "text": "",
            "formats": [{"language": lang, "format": fmt} for lang, fmt in formats]}


def event(kind: str, application: str, asteriskId: str, now: float, **fields) -> dict:
    """An ARI event message: type, timestamp, the fields, application, asterisk_id."""
    message = {"type": kind, "timestamp": isoTime(now)}
    message.update(fields)
    message["asterisk_id"] = asteriskId
    message["application"] = application
    return message


def asteriskId(systemName: str, seed: str) -> str:
    """A stable per-system id in Asterisk's MAC-address shape."""
    import hashlib

    digest = hashlib.sha1(f"{systemName}/{seed}".encode()).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 12, 2))


#: The ARI states of a device (ast_devstate_str of DeviceState names).
DEVICE_STATE_NAMES = ("UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE",
                      "RINGING", "RINGINUSE", "ONHOLD")
