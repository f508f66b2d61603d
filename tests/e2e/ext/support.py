"""
Helpers for the extension tests: a blocking manager client, the console,
SIPp as a subprocess, and a virtual environment with txpbx and the example
distribution installed from their wheels.
"""

import os
import subprocess

from tests import sipp as sippRun
from tests.ami import AMI, MANAGER_CONF, PATIENCE, waitUntil  # noqa: F401 (used by the extension tests)
from tests.pbxprocess import ROOT
from tests.wheels import makeVenv  # noqa: F401 (used by the extension tests)

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")
EXAMPLE = os.path.join(ROOT, "examples", "txpbx_example")

# Its own sip.conf (not the shipped etc/): the example distribution's SIPp
# callers come in as guests (allowguest = yes) into a test context, which the
# sample (allowguest = no, authenticated phones) refuses by design.
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


def sipp(scenario, port, service, extra=(), timeout=PATIENCE, background=False):
    """
    Run SIPp as a caller against 127.0.0.1:C{port}; (exit code, output), or
    the Popen when C{background}.
    """
    args = sippRun.sippArgs(os.path.join(SCENARIOS, scenario), port, service=service,
                            timeout=timeout, extra=extra)
    if background:
        return sippRun.spawn(args)
    return sippRun.run(args, timeout=timeout + 10)
