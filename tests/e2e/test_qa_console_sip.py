"""`pbx -rx "sip show peers"` against a running twistd -n pbx with chan_sip loaded."""

import os
import shutil
import subprocess
import sys

from tests.pbxprocess import ROOT, PBXProcess, cleanup, makeConfigDir

# Its own sip.conf: peers of every kind (host, dynamic, user) for the
# console tables, beyond the shipped etc/'s two phones.
SIP_CONF = """\
[general]
udpbindaddr = 127.0.0.1:0

[phones](!)
type = friend
host = dynamic
context = default

[1001](phones)
secret = s1

[1002](phones)
secret = s2
"""

MODULES = "[modules]\nautoload = no\nload => pbx_config\nload => chan_sip\n"

PATIENCE = 30


def console(configDir, line):
    script = shutil.which("pbx")
    command = [script] if script else [sys.executable, "-m", "pbxcore.console.cli"]
    return subprocess.run(command + ["-c", configDir, "-rx", line], cwd=ROOT,
                          capture_output=True, text=True, timeout=PATIENCE,
                          env=dict(os.environ, PYTHONPATH=ROOT))


def test_sip_show_peers_through_the_console():
    etc = makeConfigDir({"sip.conf": SIP_CONF, "modules.conf": MODULES,
                         "extensions.conf": "[default]\nexten => 1,1,NoOp()\n"})
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        result = console(etc, "sip show peers")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].split()[:2] == ["Name/username", "Host"], result.stdout
        assert [line.split()[0] for line in lines[1:3]] == ["1001", "1002"], result.stdout
        assert lines[-1].startswith("2 sip peers"), result.stdout
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)
