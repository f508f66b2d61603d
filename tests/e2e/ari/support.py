"""A real C{twistd -n pbx} on the shipped etc/ for the ARI tests."""

import os

import pytest

from tests.e2e.http.support import PATIENCE, httpPort, shippedEtc
from tests.pbxprocess import PBXProcess, cleanup

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")
USER, PASSWORD = "asterisk", "change-me-ari"   # the shipped ari.conf
APP = "demo"                                   # the shipped dialplan's Stasis(demo) at 300
DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_1.pcap"


@pytest.fixture(scope="module")
def pbx():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        process.httpPort = httpPort(process)
        process.sipPort = int(process.waitFor(
            r"SIP listening on udp 127\.0\.0\.1:(\d+)", PATIENCE).group(1))
        process.base = f"http://127.0.0.1:{process.httpPort}"
        yield process
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)
