"""
The daemon as a user runs it: C{twistd -n pbx -c DIR} boots, reloads on
SIGHUP, stops on SIGTERM with status 0, and refuses a broken configuration
with one line naming file:line.
"""

import os
import signal
import subprocess
import sys

import pytest

from tests.pbxprocess import ROOT, PBXProcess, cleanup, makeConfigDir
from tests.sample import copySample


def runTwistd(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_helpDocumentsOptions():
    result = runTwistd("pbx", "--help")
    assert result.returncode == 0, result.stderr
    assert "--config=" in result.stdout
    assert "-c" in result.stdout


def bootSample():
    """
    Start a copy of the sample configuration (L{tests.sample}: only its
    ports rewritten to free ones, so no other test run's PBX is in the way).
    Returns (process, the booted line's match, the etc folder).
    """
    etc, _ = copySample()
    pbx = PBXProcess(etc).start()
    booted = pbx.waitFor(r"PBX fully booted \((\d+) modules loaded, (\d+) declined\)", 60)
    return pbx, booted, etc


def test_sampleConfigBootsAndStopsOnSIGTERM():
    pbx, booted, etc = bootSample()
    try:
        # The sample loads every bundled module and declines none.
        assert int(booted.group(1)) >= 30, pbx.output
        assert booted.group(2) == "0", pbx.output
        for name in ("pbx_config", "chan_sip", "res_sdp_rtp", "manager", "app_voicemail"):
            assert f"loaded module {name}" in pbx.output
        status = pbx.stop()
    finally:
        pbx.kill()
        cleanup(etc)
    assert status == 0, pbx.output
    assert "txpbx stopped" in pbx.output
    assert "Traceback" not in pbx.output


@pytest.mark.parametrize("name, text, where", [
    # A line without '=' is only a warning in Asterisk (issue 20): a header
    # with no closing ']' is what its reader refuses.
    ("extensions.conf", "[default]\nexten => 100,1,Answer()\n[broken\n",
     "extensions.conf:3:"),
    ("pbx.conf", "[options]\nverbose = loud\n", "pbx.conf:2:"),
    ("modules.conf", "[modules]\nautoload = no\nlaod => app_dial\n", "modules.conf:3:"),
    ("sip.conf", "[general]\n[broken\n", "sip.conf:2:"),
])
def test_brokenConfigRefusedWithFileLine(name, text, where):
    etc = makeConfigDir({name: text})
    try:
        result = runTwistd("-n", "--pidfile=", "pbx", "-c", etc)
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert os.path.join(etc, where) in lines[0], lines
        assert "Traceback" not in result.stderr + result.stdout
    finally:
        cleanup(etc)


def test_missingConfigDirectory(tmp_path):
    result = runTwistd("-n", "--pidfile=", "pbx", "-c", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_requiredModuleFailureStopsStartup():
    etc = makeConfigDir({"modules.conf": "[modules]\nautoload = no\nrequire => chan_sip\n"})
    # chan_sip declines without a sip.conf: a required module that fails
    # stops the daemon with a clear message and a non-zero status.
    pbx = PBXProcess(etc).start()
    try:
        status = pbx.process.wait(60)
    finally:
        pbx.kill()
        cleanup(etc)
    assert status != 0
    assert "required module chan_sip failed to load" in pbx.output


def test_sighupReloadsAndKeepsOldConfigOnError():
    etc = makeConfigDir({
        "modules.conf": "[modules]\nautoload = no\nload => pbx_config\n",
        "extensions.conf": "[default]\nexten => 100,1,NoOp(one)\n",
    })
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted(60)
        with open(os.path.join(etc, "extensions.conf"), "w") as f:
            f.write("[default]\nexten => 100,1,NoOp(two)\n[broken line here\n")
        pbx.process.send_signal(signal.SIGHUP)
        pbx.waitFor(r"extensions\.conf:3:", 20)
        pbx.waitFor("reload done: 0 reloaded, 1 kept their old configuration", 20)
        with open(os.path.join(etc, "extensions.conf"), "w") as f:
            f.write("[default]\nexten => 100,1,NoOp(two)\n")
        pbx.process.send_signal(signal.SIGHUP)
        pbx.waitFor("reload done: 1 reloaded, 0 kept", 20)
        assert pbx.stop() == 0
    finally:
        pbx.kill()
        cleanup(etc)


def _startFails(etc):
    """Start twistd pbx on C{etc}, expecting it to stop by itself; (status, output)."""
    pbx = PBXProcess(etc).start()
    try:
        status = pbx.process.wait(60)
    finally:
        pbx.kill()
    return status, pbx.output


def _assertOneListenLine(status, output, port):
    assert status == 1, output
    lines = [line for line in output.splitlines() if "cannot listen" in line]
    assert len(lines) == 1, output
    assert lines[0].endswith(f"cannot listen on 127.0.0.1:{port}: address already in use"), lines
    assert "Traceback" not in output, output
    assert "fully booted" not in output, output
    assert "not available" not in output, output  # nothing else complains


def test_secondPBXOnTheSamePortsExits1WithOneLine():
    etc, ports = copySample()
    first = PBXProcess(etc).start()
    try:
        first.waitBooted(60)
        status, output = _startFails(etc)
        # The HTTP server binds first (before the modules load).
        _assertOneListenLine(status, output, ports.http or ports.manager)
        # The first PBX is untouched: it still answers on its manager port.
        import socket

        with socket.create_connection(("127.0.0.1", ports.manager), timeout=30) as s:
            assert s.recv(100).startswith(b"Asterisk Call Manager/")
        assert first.stop() == 0, first.output
    finally:
        first.kill()
        cleanup(etc)


@pytest.mark.parametrize("which", ["sip-udp", "sip-tcp", "manager", "http"])
def test_listenerThatCannotBindStopsTheStart(which):
    """Start-up is all or nothing: any listener whose port is held stops it, status 1."""
    import socket

    etc, ports = copySample()
    kind = socket.SOCK_DGRAM if which == "sip-udp" else socket.SOCK_STREAM
    port = {"sip-udp": ports.sip, "sip-tcp": ports.sip, "manager": ports.manager,
            "http": ports.http}[which]
    assert port, ports
    holder = socket.socket(socket.AF_INET, kind)
    try:
        holder.bind(("127.0.0.1", port))
        if kind == socket.SOCK_STREAM:
            holder.listen(1)
        status, output = _startFails(etc)
    finally:
        holder.close()
        cleanup(etc)
    _assertOneListenLine(status, output, port)
