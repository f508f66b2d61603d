"""
Qualify in a real C{twistd pbx} process: a peer (SIPp) answers one OPTIONS
and then stops answering; the PBX reports it Reachable, then Unreachable.
"""

import shutil
import subprocess

from tests.e2e.sip_reg.sipp import SCENARIOS, freeUDPPort
from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir


def test_peer_that_stops_answering_becomes_unreachable():
    sippBinary = shutil.which("sipp")
    assert sippBinary is not None, "sipp is not installed (Debian package sip-tester)"
    port = freeUDPPort()
    peer = subprocess.Popen(
        [sippBinary, "-sf", f"{SCENARIOS}/uas_options_once.xml", "-i", "127.0.0.1", "-p", str(port),
         "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error", "-nd"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    etc = makeConfigDir({
        "sip.conf": ("[general]\nudpbindaddr = 127.0.0.1:0\n"
                     f"[trunk]\ntype = peer\nhost = 127.0.0.1\nport = {port}\nqualify = 300\nqualifyfreq = 1\n"),
        "modules.conf": "[modules]\nautoload = no\nload => chan_sip\n",
    })
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted()
        output, _ = peer.communicate(timeout=60)
        assert peer.returncode == 0, output[-3000:]
        pbx.waitFor(r"Peer 'SIP/trunk' is now OK \(\d+ ms\)")
        pbx.waitFor(r"Peer 'SIP/trunk' is now UNREACHABLE")
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
        pbx.stop()
        cleanup(etc)
