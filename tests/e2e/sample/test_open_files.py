"""
C{twistd -n pbx} on the shipped etc/ (a copy with free ports) raises its soft
open-file limit to the hard one at start, as a PBX must (every anchored call
holds sockets), and says so once in its log. The daemon is started with its
soft limit lowered to half the hard one, so the raise is always observable.
"""

import re
import resource
import subprocess
import threading

from tests.pbxprocess import PBXProcess, cleanup
from tests.sample import copySample


class LowLimitPBXProcess(PBXProcess):
    """The daemon started with a soft RLIMIT_NOFILE of C{soft}."""

    def __init__(self, configDir, soft):
        super().__init__(configDir)
        self.soft = soft

    def start(self):
        soft = self.soft

        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        cmd = [self.python, "-c", "from twisted.scripts.twistd import run; run()",
               "-n", "--pidfile=", "pbx", "-c", self.configDir]
        self.process = subprocess.Popen(
            cmd, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, preexec_fn=lower,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self


def openFilesLimits(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return soft, hard
    raise AssertionError(f"no 'Max open files' in /proc/{pid}/limits")


def test_openFileLimitRaisedAtStart():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert hard != resource.RLIM_INFINITY and hard >= 64, hard
    low = hard // 2
    etc, ports = copySample()
    pbx = LowLimitPBXProcess(etc, low).start()
    try:
        pbx.waitBooted(60)
        assert openFilesLimits(pbx.process.pid) == (str(hard), str(hard))
        assert pbx.stop() == 0, pbx.output
    finally:
        pbx.kill()
        cleanup(etc)
    lines = [line for line in pbx.output.splitlines() if re.search(r"Open files limit", line)]
    assert len(lines) == 1, lines
    assert lines[0].endswith(f"Open files limit raised from {low} to {hard}"), lines
