"""
The ARI operations on channels in an application, over real HTTP and a
real events WebSocket, against C{twistd -n pbx} on the shipped etc/:
signalling, playbacks, DTMF both ways, recordings (live and stored),
variables through functions, bridges (full, remove, destroy), continue
into the dialplan, ARI device states and hangup causes.
"""

import json

import anyio
import httpx
from asyncwebsockets import create_websocket
from wsproto.events import TextMessage

from tests.e2e.ari.support import PASSWORD, USER, pbx  # noqa: F401
from tests.e2e.http.support import PATIENCE


class App:
    """An application's WebSocket, its events, and waiting for one."""

    def __init__(self, ws):
        self.ws = ws
        self.events = []
        self.changed = anyio.Event()

    async def read(self):
        async for message in self.ws:
            if isinstance(message, TextMessage):
                self.events.append(json.loads(message.data))
                changed, self.changed = self.changed, anyio.Event()
                changed.set()

    async def wait(self, kind, **match):
        index = 0
        while True:
            for event in self.events[index:]:
                index += 1
                if event["type"] == kind and all(_get(event, k) == v for k, v in match.items()):
                    return event
            await self.changed.wait()


def _get(event, dotted):
    value = event
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def test_channel_and_bridge_operations(pbx):  # noqa: F811
    anyio.run(_operations, pbx)


async def _operations(pbx):  # noqa: F811
    url = f"ws://127.0.0.1:{pbx.httpPort}/ari/events?app=ops&api_key={USER}:{PASSWORD}"
    with anyio.fail_after(PATIENCE):  # liveness bound
        app = App(await create_websocket(url))
        async with anyio.create_task_group() as tg, httpx.AsyncClient(
                base_url=f"{pbx.base}/ari", auth=(USER, PASSWORD)) as http:
            tg.start_soon(app.read)
            await _channel(http, app)
            await _bridges(http, app)
            await _deviceStates(http)
            tg.cancel_scope.cancel()
        await app.ws.close()


async def _originate(http, app, ident):
    r = await http.post("/channels", params={"endpoint": "Local/100@default", "app": "ops",
                                              "appArgs": "a,b", "channelId": ident,
                                              "callerId": '"Ops" <555>'})
    assert r.status_code == 200 and r.json()["id"] == ident, r.text
    start = await app.wait("StasisStart", **{"channel.id": ident})
    assert start["args"] == ["a", "b"] and start["channel"]["caller"]["number"] == "555"


async def _channel(http, app):
    await _originate(http, app, "ops-1")
    for method, path in (("POST", "answer"), ("POST", "ring"), ("DELETE", "ring"),
                         ("POST", "hold"), ("DELETE", "hold"), ("POST", "mute"),
                         ("DELETE", "mute")):
        r = await http.request(method, f"/channels/ops-1/{path}")
        assert r.status_code == 204, (path, r.text)
    r = await http.post("/channels/ops-1/play", params={"media": "digits:12"})
    assert r.status_code == 201 and r.json()["target_uri"] == "channel:ops-1", r.text
    done = await app.wait("PlaybackFinished", **{"playback.id": r.json()["id"]})
    assert done["playback"]["state"] == "done"
    r = await http.post("/channels/ops-1/play/missing-1", params={"media": "sound:nosuch"})
    assert r.status_code == 201
    assert (await app.wait("PlaybackFinished", **{"playback.id": "missing-1"}))[
        "playback"]["state"] == "failed"

    r = await http.post("/channels/ops-1/record", params={"name": "ops-rec", "format": "wav",
                                                          "ifExists": "overwrite"})
    assert r.status_code == 201 and r.json()["state"] == "recording", r.text
    await app.wait("RecordingStarted", **{"recording.name": "ops-rec"})
    assert (await http.get("/recordings/live/ops-rec")).json()["format"] == "wav"
    # Sent to the channel, echoed by the far half (Echo): received back as DTMF.
    assert (await http.post("/channels/ops-1/dtmf", params={"dtmf": "5"})).status_code == 204
    await app.wait("ChannelDtmfReceived", digit="5", **{"channel.id": "ops-1"})
    assert (await http.post("/recordings/live/ops-rec/stop")).status_code == 204
    await app.wait("RecordingFinished", **{"recording.name": "ops-rec"})
    stored = (await http.get("/recordings/stored")).json()
    assert {"name": "ops-rec", "format": "wav"} in stored
    r = await http.get("/recordings/stored/ops-rec/file")
    assert r.status_code == 200 and r.content[:4] == b"RIFF"
    assert (await http.delete("/recordings/stored/ops-rec")).status_code == 204
    assert (await http.get("/recordings/stored/ops-rec")).status_code == 404

    r = await http.post("/channels/ops-1/variable",
                        params={"variable": "CALLERID(name)", "value": "Bob"})
    assert r.status_code == 204
    r = await http.get("/channels/ops-1/variable", params={"variable": "CALLERID(name)"})
    assert r.json() == {"value": "Bob"}
    changed = await app.wait("ChannelCallerId", **{"channel.id": "ops-1"})
    assert changed["channel"]["caller"]["name"] == "Bob"
    assert "ops-1" in (await http.get("/applications/ops")).json()["channel_ids"]


async def _bridges(http, app):
    await _originate(http, app, "ops-2")
    await _originate(http, app, "ops-3")
    r = await http.post("/bridges/ops-br", params={"type": "mixing", "name": "b"})
    assert r.status_code == 200 and r.json()["id"] == "ops-br"
    r = await http.post("/bridges/ops-br/addChannel", params={"channel": "ops-1,ops-2"})
    assert r.status_code == 204, r.text
    await app.wait("ChannelEnteredBridge", **{"channel.id": "ops-2"})
    assert sorted((await http.get("/bridges/ops-br")).json()["channels"]) == ["ops-1", "ops-2"]
    r = await http.post("/bridges/ops-br/addChannel", params={"channel": "ops-3"})
    assert r.status_code == 409, r.text
    r = await http.post("/bridges/ops-br/record", params={"name": "br-rec", "format": "wav",
                                                          "ifExists": "overwrite"})
    assert r.status_code == 201 and r.json()["target_uri"] == "bridge:ops-br", r.text
    await app.wait("RecordingStarted", **{"recording.name": "br-rec"})
    r = await http.post("/bridges/ops-br/play", params={"media": "sound:beep"})
    assert r.status_code == 201 and r.json()["target_uri"] == "bridge:ops-br"
    await app.wait("PlaybackFinished", **{"playback.id": r.json()["id"]})
    # The beep went to both channels, each far half (Echo) sent it back into
    # the bridge: the bridge's recording holds it.
    assert (await http.post("/recordings/live/br-rec/stop")).status_code == 204
    await app.wait("RecordingFinished", **{"recording.name": "br-rec"})
    r = await http.get("/recordings/stored/br-rec/file")
    assert r.status_code == 200 and r.content[:4] == b"RIFF" and len(r.content) > 44 + 160
    assert (await http.delete("/recordings/stored/br-rec")).status_code == 204
    r = await http.post("/bridges/ops-br/removeChannel", params={"channel": "ops-2"})
    assert r.status_code == 204
    await app.wait("ChannelLeftBridge", **{"channel.id": "ops-2"})
    assert (await http.post("/bridges/ops-br/removeChannel",
                            params={"channel": "ops-3"})).status_code == 422
    assert (await http.delete("/bridges/ops-br")).status_code == 204
    await app.wait("BridgeDestroyed", **{"bridge.id": "ops-br"})

    r = await http.post("/channels/ops-2/continue",
                        params={"context": "default", "extension": "100", "priority": 1})
    assert r.status_code == 204
    await app.wait("StasisEnd", **{"channel.id": "ops-2"})
    assert (await http.get("/channels/ops-2")).status_code == 200  # in the dialplan now
    assert (await http.post("/channels/ops-2/answer")).status_code == 409
    for ident in ("ops-2", "ops-3"):
        assert (await http.delete(f"/channels/{ident}")).status_code == 204
    assert (await http.delete("/channels/ops-1", params={"reason": "busy"})).status_code == 204
    await app.wait("ChannelHangupRequest", **{"channel.id": "ops-1"})
    await app.wait("StasisEnd", **{"channel.id": "ops-1"})
    gone = await app.wait("ChannelDestroyed", **{"channel.id": "ops-1"})
    assert gone["cause"] == 17


async def _deviceStates(http):
    r = await http.put("/deviceStates/Stasis:lamp", params={"deviceState": "BUSY"})
    assert r.status_code == 204, r.text
    assert (await http.get("/deviceStates/Stasis:lamp")).json() == {
        "name": "Stasis:lamp", "state": "BUSY"}
    assert {"name": "Stasis:lamp", "state": "BUSY"} in (await http.get("/deviceStates")).json()
    assert (await http.delete("/deviceStates/Stasis:lamp")).status_code == 204


def test_generators_and_playback_control(pbx):  # noqa: F811
    anyio.run(_generators, pbx)


async def _generators(pbx):  # noqa: F811
    url = f"ws://127.0.0.1:{pbx.httpPort}/ari/events?app=ops&api_key={USER}:{PASSWORD}"
    with anyio.fail_after(PATIENCE):  # liveness bound
        app = App(await create_websocket(url))
        async with anyio.create_task_group() as tg, httpx.AsyncClient(
                base_url=f"{pbx.base}/ari", auth=(USER, PASSWORD)) as http:
            tg.start_soon(app.read)
            await _originate(http, app, "gen-1")
            for method, path in (("POST", "moh"), ("DELETE", "moh"), ("POST", "silence"),
                                 ("DELETE", "silence")):
                r = await http.request(method, f"/channels/gen-1/{path}")
                assert r.status_code == 204, (path, r.text)
            r = await http.post("/channels/gen-1/moh", params={"mohClass": "nosuch"})
            assert r.status_code == 404
            r = await http.post("/channels/gen-1/play/tone", params={"media": "sound:tone-1khz"})
            assert r.status_code == 201
            await app.wait("PlaybackStarted", **{"playback.id": "tone"})
            for operation in ("pause", "unpause", "forward", "reverse", "restart"):
                r = await http.post("/playbacks/tone/control", params={"operation": operation})
                assert r.status_code == 204, (operation, r.text)
            r = await http.post("/playbacks/tone/control", params={"operation": "dance"})
            assert r.status_code == 400
            assert (await http.delete("/playbacks/tone")).status_code == 204
            await app.wait("PlaybackFinished", **{"playback.id": "tone"})
            assert (await http.delete("/channels/gen-1")).status_code == 204
            await app.wait("StasisEnd", **{"channel.id": "gen-1"})
            tg.cancel_scope.cancel()
        await app.ws.close()


def test_subscribe_all_sees_bridges_and_device_states(pbx):  # noqa: F811
    anyio.run(_everything, pbx)


async def _everything(pbx):  # noqa: F811
    url = (f"ws://127.0.0.1:{pbx.httpPort}/ari/events?app=all&subscribeAll=true"
           f"&api_key={USER}:{PASSWORD}")
    with anyio.fail_after(PATIENCE):  # liveness bound
        app = App(await create_websocket(url))
        async with anyio.create_task_group() as tg, httpx.AsyncClient(
                base_url=f"{pbx.base}/ari", auth=(USER, PASSWORD)) as http:
            tg.start_soon(app.read)
            assert (await http.post("/bridges/all-br")).status_code == 200
            await app.wait("BridgeCreated", **{"bridge.id": "all-br"})
            assert (await http.delete("/bridges/all-br")).status_code == 204
            await app.wait("BridgeDestroyed", **{"bridge.id": "all-br"})
            r = await http.put("/deviceStates/Stasis:desk", params={"deviceState": "INUSE"})
            assert r.status_code == 204
            await app.wait("DeviceStateChanged", **{"device_state.name": "Stasis:desk",
                                                    "device_state.state": "INUSE"})
            r = await http.post("/channels", params={
                "endpoint": "Local/100@default", "extension": "100", "channelId": "seen-1"})
            assert r.status_code == 200
            await app.wait("ChannelCreated", **{"channel.id": "seen-1"})
            assert (await http.delete("/channels/seen-1")).status_code == 204
            await app.wait("ChannelDestroyed", **{"channel.id": "seen-1"})
            r = await http.post("/events/user/hello", params={"application": "all"},
                                json={"variables": {"k": "v"}})
            assert r.status_code == 204
            await app.wait("ChannelUserevent", eventname="hello", **{"userevent.k": "v"})
            tg.cancel_scope.cancel()
        await app.ws.close()


def test_snoop(pbx):  # noqa: F811
    anyio.run(_snoop, pbx)


async def _snoop(pbx):  # noqa: F811
    url = f"ws://127.0.0.1:{pbx.httpPort}/ari/events?app=ops&api_key={USER}:{PASSWORD}"
    with anyio.fail_after(PATIENCE):  # liveness bound
        app = App(await create_websocket(url))
        async with anyio.create_task_group() as tg, httpx.AsyncClient(
                base_url=f"{pbx.base}/ari", auth=(USER, PASSWORD)) as http:
            tg.start_soon(app.read)
            await _originate(http, app, "spied")
            r = await http.post("/channels/spied/snoop", params={"app": "ops"})
            assert r.status_code == 400  # neither spy nor whisper
            r = await http.post("/channels/spied/snoop/spy-1",
                                params={"app": "ops", "spy": "both", "appArgs": "snooping"})
            assert r.status_code == 200 and r.json()["name"].startswith("Snoop/spied-"), r.text
            start = await app.wait("StasisStart", **{"channel.id": "spy-1"})
            assert start["args"] == ["snooping"]
            r = await http.post("/channels/spy-1/record", params={
                "name": "spy-rec", "format": "sln", "ifExists": "overwrite"})
            assert r.status_code == 201, r.text
            # Played to the target (out) and echoed back by its far half (in):
            # the snoop hears both, mixed, and records them.
            r = await http.post("/channels/spied/play", params={"media": "sound:beep"})
            await app.wait("PlaybackFinished", **{"playback.id": r.json()["id"]})
            assert (await http.post("/recordings/live/spy-rec/stop")).status_code == 204
            r = await http.get("/recordings/stored/spy-rec/file")
            assert r.status_code == 200 and len(r.content) >= 2 * 160 * 5, len(r.content)
            assert max(abs(int.from_bytes(r.content[i:i + 2], "little", signed=True))
                       for i in range(0, len(r.content), 2)) > 1000  # not silence
            assert (await http.delete("/recordings/stored/spy-rec")).status_code == 204
            assert (await http.delete("/channels/spied")).status_code == 204
            await app.wait("StasisEnd", **{"channel.id": "spy-1"})  # gone with its target
            tg.cancel_scope.cancel()
        await app.ws.close()


def test_redirect_refers_the_phone(pbx):  # noqa: F811
    import os

    from tests import sipp
    from tests.e2e.ari.support import SCENARIOS

    async def scenario():
        url = f"ws://127.0.0.1:{pbx.httpPort}/ari/events?app=demo&api_key={USER}:{PASSWORD}"
        with anyio.fail_after(PATIENCE):  # liveness bound
            app = App(await create_websocket(url))
            async with anyio.create_task_group() as tg, httpx.AsyncClient(
                    base_url=f"{pbx.base}/ari", auth=(USER, PASSWORD)) as http:
                tg.start_soon(app.read)
                callers.append(sipp.spawn(sipp.sippArgs(
                    os.path.join(SCENARIOS, "ari_redirect.xml"), pbx.sipPort, service="300",
                    timeout=PATIENCE)))
                start = await app.wait("StasisStart")
                ident = start["channel"]["id"]
                assert (await http.post(f"/channels/{ident}/answer")).status_code == 204
                r = await http.post(f"/channels/{ident}/redirect",
                                    params={"endpoint": "Local/1002@default"})
                assert r.status_code == 422, r.text  # not the channel's technology
                r = await http.post(f"/channels/{ident}/redirect",
                                    params={"endpoint": "SIP/1002"})
                assert r.status_code == 204, r.text
                # The REFER went out before this answer; SIPp checks that it
                # names 1002 and accepts it, then takes the BYE of this hangup.
                assert (await http.delete(f"/channels/{ident}")).status_code == 204
                await app.wait("StasisEnd", **{"channel.id": ident})
                tg.cancel_scope.cancel()
            await app.ws.close()

    callers = []
    try:
        anyio.run(scenario)
        sipp.finished(callers[0], "redirected caller", timeout=PATIENCE)
    finally:
        for caller in callers:
            if caller.poll() is None:
                caller.kill()
                caller.wait()
