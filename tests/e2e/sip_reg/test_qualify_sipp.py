"""
Qualify in a real C{twistd pbx} process: a peer (SIPp) answers one OPTIONS
and then stops answering; the PBX reports it Reachable, then Unreachable.
"""

from tests.e2e.sip_reg.sipp import freeUDPPort, uas
from tests.sipp import finished, stop
from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir


def test_peer_that_stops_answering_becomes_unreachable():
    port = freeUDPPort()
    peer = uas("uas_options_once.xml", port)
    # Its own sip.conf: a qualified peer at a SIPp port, which the shipped
    # etc/ (dynamic phones only) has not got.
    etc = makeConfigDir({
        "sip.conf": ("[general]\nudpbindaddr = 127.0.0.1:0\n"
                     f"[trunk]\ntype = peer\nhost = 127.0.0.1\nport = {port}\nqualify = 300\nqualifyfreq = 1\n"),
        "modules.conf": "[modules]\nautoload = no\nload => chan_sip\n",
    })
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted()
        finished(peer, "peer")
        pbx.waitFor(r"Peer 'SIP/trunk' is now OK \(\d+ ms\)")
        pbx.waitFor(r"Peer 'SIP/trunk' is now UNREACHABLE")
    finally:
        stop(peer)
        pbx.stop()
        cleanup(etc)
