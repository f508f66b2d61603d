"""
ARI over plain HTTP against C{twistd -n pbx} on the shipped etc/: the
error codes Asterisk gives, the Swagger documents, and events WebSockets
where a client that stops reading, or one that vanishes, costs the other
clients nothing.
"""

import base64
import json
import socket
import urllib.parse

import anyio
import httpx
from asyncwebsockets import create_websocket
from wsproto.events import TextMessage

from tests.e2e.ari.support import APP, PASSWORD, USER, pbx  # noqa: F401
from tests.e2e.http.support import PATIENCE, get

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def ari(pbx, method, path, body=None, auth=True, **query):  # noqa: F811
    url = f"{pbx.base}/ari{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    headers = dict(AUTH) if auth else {}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    status, _, raw = get(url, method=method, data=data, headers=headers)
    return status, (json.loads(raw) if raw.strip() else None)


def test_authentication(pbx):  # noqa: F811
    status, headers, body = get(f"{pbx.base}/ari/channels")
    assert status == 401 and json.loads(body) == {"message": "Authentication required"}
    assert headers["WWW-Authenticate"].startswith("Basic realm=")
    assert get(f"{pbx.base}/ari/channels?api_key={USER}:wrong")[0] == 401
    assert get(f"{pbx.base}/ari/channels?api_key={USER}:{PASSWORD}")[0] == 200
    assert ari(pbx, "GET", "/asterisk/info")[1]["system"]["version"].startswith("txpbx")


def test_error_codes(pbx):  # noqa: F811
    assert ari(pbx, "GET", "/channels/nosuch") == (404, {"message": "Channel not found"})
    assert ari(pbx, "DELETE", "/channels/nosuch")[0] == 404
    assert ari(pbx, "POST", "/channels/nosuch/answer")[0] == 404
    assert ari(pbx, "GET", "/bridges/nosuch") == (404, {"message": "Bridge not found"})
    assert ari(pbx, "GET", "/nothing/here")[0] == 404
    assert ari(pbx, "PUT", "/channels")[0] == 405
    status, body = ari(pbx, "POST", "/channels")
    assert status == 400 and "endpoint" in body["message"]
    assert ari(pbx, "POST", "/channels", endpoint="Local/100@default", app=APP,
               timeout="soon")[0] == 400
    assert ari(pbx, "POST", "/channels", body=b"{not json",
               endpoint="Local/100@default")[0] == 400
    assert ari(pbx, "POST", "/channels", body={"variables": ["not", "an", "object"]},
               endpoint="Local/100@default", extension="100")[0] == 400
    assert ari(pbx, "DELETE", "/channels/x", reason="whatever")[0] == 400
    assert ari(pbx, "PUT", "/deviceStates/Custom:lamp", deviceState="BUSY")[0] == 409
    assert ari(pbx, "GET", "/applications/nosuch")[0] == 404
    assert ari(pbx, "GET", "/playbacks/nosuch")[0] == 404
    assert ari(pbx, "GET", "/recordings/live/nosuch")[0] == 404


def test_wrong_state_and_bad_bodies_on_a_live_channel(pbx):  # noqa: F811
    # A channel running the dialplan (the echo test), not in a Stasis application.
    status, channel = ari(pbx, "POST", "/channels", endpoint="Local/100@default",
                          extension="100", context="default", channelId="ari-echo-1")
    assert status == 200 and channel["id"] == "ari-echo-1", channel
    assert ari(pbx, "POST", "/channels", endpoint="Local/100@default", extension="100",
               channelId="ari-echo-1")[0] == 409
    assert ari(pbx, "GET", "/channels/ari-echo-1")[1]["name"].startswith("Local/100@default-")
    assert ari(pbx, "POST", "/channels/ari-echo-1/answer") == (
        409, {"message": "Channel not in Stasis application"})
    status, bridge = ari(pbx, "POST", "/bridges", type="mixing")
    assert status == 200
    assert ari(pbx, "POST", f"/bridges/{bridge['id']}/addChannel", channel="ari-echo-1") == (
        422, {"message": "Channel not in Stasis application"})
    assert ari(pbx, "POST", f"/bridges/{bridge['id']}/addChannel")[0] == 400
    assert ari(pbx, "POST", "/channels/ari-echo-1/variable", variable="FOO", value="bar")[0] \
        == 204
    assert ari(pbx, "GET", "/channels/ari-echo-1/variable", variable="FOO") == (
        200, {"value": "bar"})
    assert ari(pbx, "GET", "/channels/ari-echo-1/variable", variable="NOPE")[0] == 404
    assert ari(pbx, "GET", "/channels/ari-echo-1/variable")[0] == 400
    assert ari(pbx, "DELETE", f"/bridges/{bridge['id']}")[0] == 204
    assert ari(pbx, "DELETE", "/channels/ari-echo-1", reason="normal")[0] == 204


def test_swagger_documents(pbx):  # noqa: F811
    status, listing = ari(pbx, "GET", "/api-docs/resources.json")
    assert status == 200 and listing["basePath"] == f"{pbx.base}/ari"
    names = {api["path"].split("/")[-1].split(".")[0] for api in listing["apis"]}
    assert {"channels", "bridges", "events", "playbacks", "recordings", "endpoints",
            "deviceStates", "applications", "sounds", "asterisk"} <= names
    for name in names:
        status, doc = ari(pbx, "GET", f"/api-docs/{name}.json")
        assert status == 200 and doc["resourcePath"] == f"/api-docs/{name}.{{format}}"
        assert doc["apis"] and all(m == doc["models"][m]["id"] for m in doc["models"])
    events = ari(pbx, "GET", "/api-docs/events.json")[1]
    assert events["apis"][0]["operations"][0]["upgrade"] == "websocket"
    assert events["models"]["StasisStart"]["properties"]["channel"]["type"] == "Channel"


def test_events_websocket_refusals(pbx):  # noqa: F811
    assert get(f"{pbx.base}/ari/events?app=x")[0] == 401
    assert get(f"{pbx.base}/ari/events?api_key={USER}:{PASSWORD}")[0] == 400


def _rawSlowClient(port, app):
    """A WebSocket client that finishes the handshake and then never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall((f"GET /ari/events?app={app}&api_key={USER}:{PASSWORD} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def test_a_slow_or_vanished_client_costs_the_others_nothing(pbx):  # noqa: F811
    slow = _rawSlowClient(pbx.httpPort, "slow")
    vanished = _rawSlowClient(pbx.httpPort, "vanished")
    vanished.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    vanished.close()  # abrupt: a reset, no close frame
    try:
        count, slowDropped = anyio.run(_flood, pbx)
    finally:
        slow.close()
    assert slowDropped, "the session that never reads was never dropped"
    assert count == 200
    pbx.waitFor(r"closing the events WebSocket of slow: the client does not read", PATIENCE)


async def _flood(pbx):  # noqa: F811
    url = f"ws://127.0.0.1:{pbx.httpPort}/ari/events?app=fast&api_key={USER}:{PASSWORD}"
    blob = "x" * 60000
    received = []
    with anyio.fail_after(PATIENCE):  # liveness bound
        ws = await create_websocket(url)
        async with httpx.AsyncClient(base_url=f"{pbx.base}/ari", headers=AUTH) as client:
            slowDropped = False
            for n in range(200):
                if not slowDropped:
                    r = await client.post("/events/user/flood", params={"application": "slow"},
                                          json={"variables": {"blob": blob}})
                    assert r.status_code in (204, 404), r.text
                    slowDropped = r.status_code == 404
                await client.post("/events/user/flood", params={"application": "vanished"})
                r = await client.post("/events/user/tick", params={"application": "fast"},
                                      json={"variables": {"n": str(n)}})
                assert r.status_code == 204, r.text
            async for message in ws:
                if isinstance(message, TextMessage):
                    event = json.loads(message.data)
                    received.append(int(event["userevent"]["n"]))
                    if len(received) == 200:
                        break
        await ws.close()
    assert received == list(range(200))
    return len(received), slowDropped


def test_console_lists_applications_and_users(pbx):  # noqa: F811
    import os
    import subprocess
    import sys

    from tests.pbxprocess import ROOT

    def console(line):
        return subprocess.run([sys.executable, "-m", "pbxcore.console.cli", "-c",
                               pbx.configDir, "-rx", line], cwd=ROOT, capture_output=True,
                              text=True, timeout=PATIENCE, env=dict(os.environ, PYTHONPATH=ROOT))

    client = _rawSlowClient(pbx.httpPort, "consoled")
    try:
        out = console("ari show apps")
        assert out.returncode == 0 and "consoled" in out.stdout.split(), out.stdout + out.stderr
        assert "asterisk" in console("ari show users").stdout
        assert "/ari/... => Asterisk RESTful Interface" in console("http show status").stdout
    finally:
        client.close()
