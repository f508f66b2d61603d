"""
Outbound registration of a real C{twistd pbx} process to a SIPp registrar
that challenges it (401, digest), grants a short binding and expects the
refresh before the binding lapses.
"""

import shutil
import subprocess

from tests.e2e.sip_reg.sipp import SCENARIOS, freeUDPPort
from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir


def test_register_answers_challenge_and_refreshes():
    sippBinary = shutil.which("sipp")
    assert sippBinary is not None, "sipp is not installed (Debian package sip-tester)"
    port = freeUDPPort()
    uas = subprocess.Popen(
        [sippBinary, "-sf", f"{SCENARIOS}/uas_registrar.xml", "-i", "127.0.0.1", "-p", str(port),
         "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error", "-nd"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    etc = makeConfigDir({
        "sip.conf": ("[general]\nudpbindaddr = 127.0.0.1:0\nregistertimeout = 1\n"
                     f"register => 5000:trunkpw@127.0.0.1:{port}/5000\n"),
        "modules.conf": "[modules]\nautoload = no\nload => chan_sip\n",
    })
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted()
        output, _ = uas.communicate(timeout=60)
        assert uas.returncode == 0, output[-3000:]
        pbx.waitFor(rf"registration 127\.0\.0\.1:{port}/5000: Auth\. Sent")
        pbx.waitFor(rf"registration 127\.0\.0\.1:{port}/5000: Registered")
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.wait()
        pbx.stop()
        cleanup(etc)
