"""
Outbound registration of a real C{twistd pbx} process to a SIPp registrar
that challenges it (401, digest), grants a short binding and expects the
refresh before the binding lapses.
"""

from tests.e2e.sip_reg.sipp import freeUDPPort, uas
from tests.sipp import finished, stop
from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir


def test_register_answers_challenge_and_refreshes():
    port = freeUDPPort()
    registrar = uas("uas_registrar.xml", port)
    # Its own sip.conf: a register => line to a SIPp registrar at a test port,
    # which the shipped etc/ (loopback phones only) has not got.
    etc = makeConfigDir({
        "sip.conf": ("[general]\nudpbindaddr = 127.0.0.1:0\nregistertimeout = 1\n"
                     f"register => 5000:trunkpw@127.0.0.1:{port}/5000\n"),
        "modules.conf": "[modules]\nautoload = no\nload => chan_sip\n",
    })
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted()
        finished(registrar, "registrar")
        pbx.waitFor(rf"registration 127\.0\.0\.1:{port}/5000: Auth\. Sent")
        pbx.waitFor(rf"registration 127\.0\.0\.1:{port}/5000: Registered")
    finally:
        stop(registrar)
        pbx.stop()
        cleanup(etc)
