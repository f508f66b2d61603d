"""
The log of C{twistd -n pbx} follows pbx.conf, on the shipped etc/ (a copy
with free ports, L{tests.sample}): at C{debug = 0} no debug line, even when
something logs one (a stray SIP response); at C{verbose = 3} no per-socket
line from Twisted for the RTP ports of a call; paths printed normalised.
"""

import os
import re
import socket

from tests import sipp as sippRun
from tests.pbxprocess import PBXProcess, cleanup
from tests.sample import copySample

SCENARIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "call_auth.xml")


def test_logFollowsPbxConf():
    etc, ports = copySample()
    pbx = PBXProcess(etc).start()
    try:
        pbx.waitBooted(60)
        # A response no transaction waits for: the PBX drops it with a debug line.
        stray = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKstray\r\n"
                 b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\n"
                 b"Call-ID: stray-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(stray, ("127.0.0.1", ports.sip))
        # A call with media to the sample's echo test, as phone 1001 (etc/sip.conf).
        code, output = sippRun.run(sippRun.sippArgs(
            SCENARIO, ports.sip, service="100", timeout=30,
            extra=["-au", "1001", "-ap", "change-me-1001"]), timeout=90)
        assert code == 0, output[-3000:]
        pbx.waitFor(r"Executing \[100@internal:2\] Echo", 30)
        assert pbx.stop() == 0, pbx.output
    finally:
        pbx.kill()
        cleanup(etc)
    log = pbx.output
    assert "#debug]" not in log, [line for line in log.splitlines() if "#debug]" in line]
    rtp = [line for line in log.splitlines()
           if re.search(r"RTC?PProtocol starting on|\(UDP Port 1\d{4} Closed\)", line)]
    assert rtp == [], rtp
    assert "/../" not in log and "/./" not in log, [line for line in log.splitlines() if "/.." in line]
    base = os.path.dirname(etc)
    assert f"astdb: 0 keys loaded from {os.path.join(base, 'var', 'lib', 'astdb.sqlite3')}" in log, log
