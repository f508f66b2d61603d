"""ari.conf, the operation table and Swagger documents, and the JSON shapes (pure)."""

import pytest

from pbxcore.channel import CallerID
from pbxcore.config import ConfigError, parseText
from pbxcore.frame import ChannelState
from plugins import res_ari_spec as spec
from plugins.res_ari_config import fromConfig
from plugins.res_ari_model import channelJSON, event, isoTime
from plugins.res_ari_schema import MODELS


def conf(text):
    return fromConfig(parseText(text, "ari.conf"))


def test_users_and_general():
    s = conf("[general]\nenabled = yes\npretty = yes\nallowed_origins = http://a, http://b\n"
             "websocket_write_timeout = 250\n"
             "[app]\ntype = user\npassword = secret\n"
             "[ro]\ntype = user\nread_only = yes\npassword = x\n")
    assert s.pretty and s.allowedOrigins == ("http://a", "http://b")
    assert s.writeTimeout == 0.25
    assert s.user("app").checkPassword("secret") and not s.user("app").checkPassword("Secret")
    assert s.user("ro").readOnly and s.user("nobody") is None
    assert s.originAllowed("http://a") and not s.originAllowed("http://c")


def test_crypt_passwords():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    hashed = crypt.crypt("open sesame", "$6$saltsalt")
    s = conf(f"[u]\ntype = user\npassword = {hashed}\npassword_format = crypt\n")
    assert s.user("u").checkPassword("open sesame")
    assert not s.user("u").checkPassword("open")


@pytest.mark.parametrize("text, line, words", [
    ("[general]\nprety = yes\n", 2, "unknown ari.conf option 'prety'"),
    ("[general]\nenabled = maybe\n", 2, "enabled must be yes or no"),
    ("[u]\ntype = admin\n", 2, "type must be user"),
    ("[u]\npassword = x\n", 1, "needs type = user"),
    ("[u]\ntype = user\npassword_format = md5\n", 3, "password_format must be plain or crypt"),
    ("[general]\nwebsocket_write_timeout = soon\n", 2, "websocket_write_timeout"),
])
def test_errors_name_file_and_line(text, line, words):
    with pytest.raises(ConfigError) as e:
        conf(text)
    assert str(e.value).startswith(f"ari.conf:{line}: ") and words in str(e.value)


def test_routing_and_methods():
    op, path = spec.match("POST", "/channels/abc/play/pb1")
    assert (op.nickname, path) == ("playWithId", {"channelId": "abc", "playbackId": "pb1"})
    assert spec.match("PATCH", "/channels") == (None, ("GET", "POST"))
    assert spec.match("GET", "/nothing") == (None, ())


def test_parameters_are_checked_and_converted():
    op, _ = spec.match("POST", "/channels")
    with pytest.raises(spec.ParamError, match="Missing parameter endpoint"):
        spec.parameters(op, {}, None)
    params = spec.parameters(op, {"endpoint": "SIP/1001", "timeout": "15"},
                             {"variables": {"A": "1"}})
    assert params["timeout"] == 15 and params["variables"] == {"A": "1"}
    assert spec.parameters(op, {"endpoint": "SIP/1001"}, None)["timeout"] == 30
    with pytest.raises(spec.ParamError):
        spec.parameters(op, {"endpoint": "x", "timeout": "soon"}, None)
    with pytest.raises(spec.ParamError):
        spec.parameters(op, {"endpoint": "x"}, {"variables": "A=1"})
    hangup, _ = spec.match("DELETE", "/channels/x")
    with pytest.raises(spec.ParamError):
        spec.parameters(hangup, {"reason": "bored"}, None)
    add, _ = spec.match("POST", "/bridges/b/addChannel")
    assert spec.parameters(add, {"channel": "a,b"}, None)["channel"] == ["a", "b"]


def test_swagger_documents_hold_what_clients_read():
    listing = spec.resourceListing("http://h/ari")
    assert listing["swaggerVersion"] == "1.1"  # what asyncswagger11 accepts
    for api in listing["apis"]:
        name = api["path"].split("/")[-1].split(".")[0]
        doc = spec.apiDeclaration(name, "http://h/ari", MODELS)
        assert doc["basePath"] == "http://h/ari" and doc["apis"]
        for model_id, model in doc["models"].items():
            assert model["id"] == model_id
            assert all("type" in p for p in model["properties"].values())
        for api_ in doc["apis"]:
            for op in api_["operations"]:
                assert {"httpMethod", "nickname", "responseClass", "parameters"} <= set(op)
                for p in op["parameters"]:
                    assert "dataType" in p and "allowedValues" not in p
    assert spec.apiDeclaration("nosuch", "x", MODELS) is None
    events = MODELS["events"]
    for kind in ("StasisStart", "StasisEnd", "ChannelStateChange", "ChannelDtmfReceived",
                 "ChannelHangupRequest", "ChannelDestroyed", "ChannelVarset",
                 "PlaybackStarted", "PlaybackFinished", "RecordingStarted",
                 "RecordingFinished", "BridgeCreated", "BridgeDestroyed",
                 "ChannelEnteredBridge", "ChannelLeftBridge", "DeviceStateChanged"):
        assert events[kind]["extends"] == "Event"


class _Channel:
    uniqueid, name, state = "1.2", "SIP/1001-00000001", ChannelState.UP
    caller, connected = CallerID("Alice", "1001"), CallerID("", "300")
    accountcode, context, exten, priority = "", "default", "300", 2
    appl, data, creationTime, language = "Stasis", "demo", 0.5, "en"


def test_channel_and_event_shapes():
    body = channelJSON(_Channel())
    assert body == {
        "id": "1.2", "name": "SIP/1001-00000001", "state": "Up", "protocol_id": "",
        "caller": {"name": "Alice", "number": "1001"},
        "connected": {"name": "", "number": "300"}, "accountcode": "",
        "dialplan": {"context": "default", "exten": "300", "priority": 2,
                     "app_name": "Stasis", "app_data": "demo"},
        "creationtime": "1970-01-01T00:00:00.500+0000", "language": "en"}
    message = event("StasisStart", "demo", "aa:bb", 0, args=[], channel=body)
    assert (message["type"], message["application"], message["asterisk_id"]) == (
        "StasisStart", "demo", "aa:bb")
    assert isoTime(1.9996) == "1970-01-01T00:00:02.000+0000"


def test_assigned_uniqueids_are_taken_once():
    from pbxcore.channel import ChannelList

    channels = ChannelList()
    channels.assignUniqueid("mine")
    assert channels.nextUniqueid() == "mine"
    assert channels.nextUniqueid() != "mine"
    channels.assignUniqueid("unused")
    channels.assignUniqueid(None)
    assert channels.nextUniqueid() != "unused"
