"""
Helpers for the extension tests: a blocking manager client, the console,
SIPp as a subprocess, and a virtual environment with txpbx and the example
distribution installed from their wheels.
"""

import os
import socket
import shutil
import subprocess
import time

from tests.pbxprocess import ROOT
from tests.wheels import makeVenv  # noqa: F401 (used by the extension tests)

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")
EXAMPLE = os.path.join(ROOT, "examples", "txpbx_example")

#: Upper bound for anything waited on, so a broken server fails instead of
#: hanging the test; never an assertion about speed.
PATIENCE = 30

MANAGER_CONF = """\
[general]
enabled = yes
port = 0
bindaddr = 127.0.0.1

[admin]
secret = pw
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
"""

SIP_CONF = """\
[general]
context = calls
allowguest = yes
udpbindaddr = 127.0.0.1:0
useragent = txpbx-ext
disallow = all
allow = ulaw,alaw
"""


class Console:
    """C{pbx -rx} as an administrator types it (the venv's console script)."""

    def __init__(self, script, configDir, cwd):
        self.script = script
        self.configDir = configDir
        self.cwd = cwd

    def __call__(self, line):
        result = subprocess.run([self.script, "-c", self.configDir, "-rx", line],
                                cwd=self.cwd, capture_output=True, text=True, timeout=PATIENCE)
        assert result.returncode == 0, result.stderr
        return result.stdout


class AMI:
    """A minimal blocking manager client: one action, one response."""

    def __init__(self, port, username="admin", secret="pw"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.buffer = b""
        self._readBlock()  # the banner line ends with CRLF only
        response = self.action("Login", Username=username, Secret=secret)
        assert response.get("Response") == "Success", response

    def _readBlock(self):
        while True:
            if self.buffer.startswith(b"Asterisk Call Manager") and b"\r\n" in self.buffer:
                line, _, self.buffer = self.buffer.partition(b"\r\n")
                return line.decode()
            if b"\r\n\r\n" in self.buffer:
                block, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
                return block.decode()
            chunk = self.sock.recv(65536)
            assert chunk, "the manager closed the connection"
            self.buffer += chunk

    def action(self, name, **fields):
        """Send an action; the response (a dict, events skipped)."""
        lines = [f"Action: {name}", f"ActionID: {name}-{time.monotonic_ns()}"]
        lines += [f"{k}: {v}" for k, v in fields.items()]
        actionID = lines[1].split(": ", 1)[1]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while True:
            block = self._readBlock()
            message = {}
            for line in block.split("\r\n"):
                key, _, value = line.partition(": ")
                message.setdefault(key, value)
            if "Response" in message and message.get("ActionID") == actionID:
                return message

    def close(self):
        self.sock.close()


def sipp(scenario, port, service, extra=(), timeout=PATIENCE, background=False):
    """
    Run SIPp as a caller against 127.0.0.1:C{port}; (exit code, output), or
    the Popen when C{background}.
    """
    path = shutil.which("sipp")
    assert path is not None, "sipp is not installed (Debian package sip-tester)"
    args = [path, "-sf", os.path.join(SCENARIOS, scenario), "-t", "u1", "-i", "127.0.0.1",
            "-p", "0", "-m", "1", "-nostdin", "-timeout", f"{timeout}s", "-timeout_error",
            "-mp", str(freeUDPPort()), "-s", service, *extra, f"127.0.0.1:{port}"]
    if background:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 10)
    return result.returncode, result.stdout + result.stderr


def freeUDPPort():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def waitUntil(predicate, what, timeout=PATIENCE):
    """Poll C{predicate} until true; fail naming C{what} after C{timeout}."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
