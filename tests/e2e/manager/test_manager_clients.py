"""
Manager clients nobody on this project wrote (panoramisk, asterisk-ami,
pyst2) against a real C{twistd -n pbx} subprocess; the C{pbx -rx} console;
and a client that stops reading during an event burst.
"""

import asyncio
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from tests.ami import PATIENCE
from tests.pbxprocess import ROOT, PBXProcess, cleanup
from tests.sample import copySample

# The shipped etc/ (a copy with free ports, tests.sample): its manager user
# and secret, its dialplan (100 echoes, 101 says the caller's number and
# hangs up).
SECRET = "change-me-please"


# pyst2 still calls Event.isSet().
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

@pytest.fixture(scope="module")
def pbx():
    etc, ports = copySample()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        process.waitFor(rf"manager listening on 127\.0\.0\.1:{ports.manager}\b", PATIENCE)
        process.port = ports.manager
        yield process
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


def originateFields():
    return {"Channel": "Local/100@default", "Context": "default", "Exten": "101",
            "Priority": "1", "Async": "true", "Timeout": "10000"}


def test_panoramisk(pbx):
    from panoramisk import Manager

    async def scenario():
        events = []
        manager = Manager(host="127.0.0.1", port=pbx.port, username="admin",
                          secret=SECRET, ping_delay=PATIENCE * 10)
        manager.register_event("*", lambda m, event: events.append(event))
        await asyncio.wait_for(manager.connect(), PATIENCE)
        try:
            ping = await asyncio.wait_for(manager.send_action({"Action": "Ping"}), PATIENCE)
            assert ping.response == "Success" and ping.ping == "Pong"
            channels = await asyncio.wait_for(
                manager.send_action({"Action": "CoreShowChannels"}), PATIENCE)
            assert channels[0].response == "Success"
            assert channels[-1].event == "CoreShowChannelsComplete"
            result = await asyncio.wait_for(
                manager.send_action(dict(originateFields(), Action="Originate")), PATIENCE)
            assert result[0].response == "Success"
            assert result[-1].event == "OriginateResponse"
            assert result[-1].response == "Success"
            deadline = time.monotonic() + PATIENCE
            while time.monotonic() < deadline and not [
                    e for e in events if e.event == "Hangup"]:
                await asyncio.sleep(0.05)
            names = {e.event for e in events}
            assert "Newchannel" in names and "Hangup" in names
            output = await asyncio.wait_for(manager.send_command("core show version"),
                                            PATIENCE)
            assert "txpbx" in str(output.content) + str(output)
        finally:
            manager.close()

    asyncio.run(scenario())


def test_asterisk_ami(pbx):
    from asterisk.ami import AMIClient, SimpleAction

    events = []
    seen = threading.Event()

    def onEvent(event, source):
        events.append(event)
        if event.name == "Hangup":
            seen.set()

    client = AMIClient(address="127.0.0.1", port=pbx.port, timeout=PATIENCE)
    client.add_event_listener(onEvent)
    try:
        login = client.login(username="admin", secret=SECRET).response
        assert login.status == "Success", login
        assert client.send_action(SimpleAction("Ping")).response.keys["Ping"] == "Pong"
        channels = client.send_action(SimpleAction("CoreShowChannels")).response
        assert channels.status == "Success" and channels.keys["EventList"] == "start"
        originate = client.send_action(
            SimpleAction("Originate", **originateFields())).response
        assert originate.status == "Success"
        assert seen.wait(PATIENCE)
        names = {e.name for e in events}
        assert {"Newchannel", "OriginateResponse", "Hangup",
                "CoreShowChannelsComplete"} <= names
        [response] = [e for e in events if e.name == "OriginateResponse"]
        assert response.keys["Response"] == "Success"
        assert response.keys["ActionID"] == originate.keys["ActionID"]
    finally:
        client.logoff()
        client.disconnect()


def test_pyst2(pbx):
    from asterisk.manager import Manager

    events = []
    seen = threading.Event()

    def onEvent(event, manager):
        events.append(event)
        if event.name == "Hangup":
            seen.set()

    manager = Manager()
    manager.connect("127.0.0.1", pbx.port)
    try:
        manager.register_event("*", onEvent)
        assert manager.login("admin", SECRET).get_header("Message") == "Authentication accepted"
        assert manager.ping().get_header("Ping") == "Pong"
        output = manager.command("core show channels")
        assert output.get_header("Response") == "Follows"
        assert "active channel" in "".join(output.data)
        response = manager.originate("Local/100@default", "101", context="default",
                                     priority="1", run_async=True)
        assert response.get_header("Response") == "Success"
        assert seen.wait(PATIENCE)
        names = {e.name for e in events}
        assert {"Newchannel", "OriginateResponse", "Hangup"} <= names
    finally:
        manager.close()


def consoleCommand():
    script = shutil.which("pbx")
    if script is not None:
        return [script]
    return [sys.executable, "-m", "pbxcore.console.cli"]


def test_console_rx(pbx):
    result = subprocess.run(
        consoleCommand() + ["-c", pbx.configDir, "-rx", "core show channels"],
        cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["Channel", "Location", "State",
                                                     "Application(Data)"]
    assert "active channel" in result.stdout
    path = os.path.join(os.path.dirname(pbx.configDir), "var", "run", "pbx.ctl")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    result = subprocess.run(
        consoleCommand() + ["-s", path, "-rx", "manager show connected"],
        cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert "users connected." in result.stdout


def test_console_interactive(pbx):
    result = subprocess.run(
        consoleCommand() + ["-c", pbx.configDir, "-r"],
        input="core show uptime seconds\nmanager show commands\nexit\n",
        cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE,
        env=dict(os.environ, PYTHONPATH=ROOT, HOME=os.path.dirname(pbx.configDir)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("txpbx ")
    assert "pbx*CLI> " in result.stdout
    assert "System uptime: " in result.stdout and "Originate" in result.stdout


def test_console_without_pbx(tmp_path):
    result = subprocess.run(
        consoleCommand() + ["-s", str(tmp_path / "none.ctl"), "-rx", "core show version"],
        cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 1
    assert "Unable to connect" in result.stderr and "Traceback" not in result.stderr


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def login(sock):
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: " + SECRET.encode() + b"\r\n\r\n")
    data = b""
    while b"Authentication accepted" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk


def test_slow_reader_disconnected(pbx):
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", pbx.port))
    login(slow)
    before = rss(pbx.process.pid)
    sender = socket.create_connection(("127.0.0.1", pbx.port))
    sender.settimeout(PATIENCE)
    login(sender)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    payload = b"x" * 4000
    reader = threading.Thread(target=lambda: drain(sender), daemon=True)
    reader.start()
    # 3000 events of ~4 KB: ~12 MB that the slow client never reads.
    batch = b"".join(b"Action: UserEvent\r\nUserEvent: Burst\r\nPad: " + payload
                     + b"\r\n\r\n" for _ in range(100))
    for _ in range(30):
        sender.sendall(batch)
    pbx.waitFor(r"not reading|does not read", PATIENCE)
    after = rss(pbx.process.pid)
    assert after - before < 64 * 1024 * 1024, (before, after)
    slow.settimeout(PATIENCE)
    total = 0
    try:
        while True:
            chunk = slow.recv(65536)
            if not chunk:
                break
            total += len(chunk)
    except ConnectionResetError:
        pass
    assert total < 12 * 1024 * 1024
    sender.close()
    slow.close()
    # The PBX still serves.
    check = socket.create_connection(("127.0.0.1", pbx.port))
    check.settimeout(PATIENCE)
    login(check)
    check.close()


def drain(sock):
    try:
        while sock.recv(1 << 16):
            pass
    except OSError:
        pass
