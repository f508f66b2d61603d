"""
Run C{twistd -n pbx} as a real subprocess for end-to-end tests.

The subprocess runs this working tree (PYTHONPATH is the repository root, so
its C{twisted/plugins} drop-ins are found) unless C{python} names another
interpreter (a virtual environment with txpbx installed).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTED = "PBX fully booted"


def makeConfigDir(files, base=None):
    """
    A temporary configuration directory holding C{files} (name -> text);
    modules.conf defaults to loading nothing that binds a well-known port.
    """
    top = tempfile.mkdtemp(prefix="txpbx-", dir=base)
    etc = os.path.join(top, "etc")
    os.makedirs(etc)
    files = dict(files)
    files.setdefault("modules.conf", "[modules]\nautoload = no\n")
    files.setdefault("pbx.conf", "[options]\nverbose = 3\n")
    for name, text in files.items():
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    return etc


class PBXProcess:
    """A C{twistd -n pbx -c DIR} subprocess whose output is collected."""

    def __init__(self, configDir, python=None, cwd=None, env=None):
        self.configDir = configDir
        self.python = python or sys.executable
        self.cwd = cwd or ROOT
        self.env = dict(os.environ)
        if python is None:
            self.env["PYTHONPATH"] = ROOT + os.pathsep + self.env.get("PYTHONPATH", "")
        self.env.update(env or {})
        self.lines = []
        self._cond = threading.Condition()
        self.process = None

    def start(self):
        cmd = [self.python, "-c", "from twisted.scripts.twistd import run; run()",
               "-n", "--pidfile=", "pbx", "-c", self.configDir]
        self.process = subprocess.Popen(
            cmd, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.process.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def output(self):
        with self._cond:
            return "\n".join(self.lines)

    def waitFor(self, pattern, timeout=30.0):
        """Wait for an output line matching C{pattern}; returns the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = regex.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if self.process.poll() is not None and seen == len(self.lines):
                    raise AssertionError(
                        f"pbx exited ({self.process.returncode}) before {pattern!r}:\n"
                        + "\n".join(self.lines))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {pattern!r}:\n"
                                         + "\n".join(self.lines))
                self._cond.wait(min(left, 0.2))

    def waitBooted(self, timeout=30.0):
        return self.waitFor(BOOTED, timeout)

    def stop(self, timeout=20.0):
        """SIGTERM, then wait; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("pbx did not stop on SIGTERM:\n" + self.output)

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def cleanup(configDir):
    shutil.rmtree(os.path.dirname(configDir), ignore_errors=True)
