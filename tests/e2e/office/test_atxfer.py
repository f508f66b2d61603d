"""
Attended transfer by REFER with Replaces on the shipped etc/ (ports
rewritten only). The transferor is a SIPp scenario written here playing the
sample phone 1001 (baresip 1.0 has no attended transfer command): it calls
1002 (a real baresip phone, the transferee), then the echo test 100 (the
target), then REFERs the first call to the second. The PBX reports the
progress in NOTIFYs, ends both of 1001's calls, and 1002 is left talking to
the echo test: it hears its own tone come back, so audio flows both ways
after the transfer. panoramisk receives AttendedTransfer.
"""

import asyncio
import os

from tests.ami import PATIENCE
from tests.e2e.office.support import heard, run
from tests.sipp import sippArgs

SCENARIO = os.path.join(os.path.dirname(__file__), "scenarios", "atxfer_transferor.xml")


async def transfer(office):
    bob = office.phones["1002"]
    sipp = await asyncio.create_subprocess_exec(
        *sippArgs(SCENARIO, office.ports.sip, extra=("-cid_str", "%u-%p-xfer")),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(sipp.communicate(), PATIENCE * 2)
    assert sipp.returncode == 0, output.decode("utf-8", "replace")[-3000:] + office.pbx.output[-3000:]
    await office.waitFor(lambda: office.event("AttendedTransfer"), "AttendedTransfer")
    event = office.event("AttendedTransfer")[0]
    assert event["Result"] == "Success"
    assert event["OrigTransfererChannel"].startswith("SIP/1001-")
    assert event["SecondTransfererChannel"].startswith("SIP/1001-")
    assert event["TransfereeChannel"].startswith("SIP/1002-")
    assert event["DestType"] == "App"
    recordings = len(bob.recordings())
    await asyncio.sleep(3)  # three seconds of the transferred call for the recording
    channels = await office.channels()
    assert [c for c in channels if c.startswith("SIP/1002-")], channels
    assert not [c for c in channels if c.startswith("SIP/1001-")], channels
    await bob.command("hangup")
    await office.waitFor(lambda: len(bob.recordings()) > recordings, "1002's call over")
    name, samples = bob.recordings()[-1]
    windows, hits = heard(samples, 700, (1000,))
    assert hits >= 1, f"1002 never heard the echo after the transfer in {name} ({windows} s)"


def test_attendedTransferByReferWithReplaces():
    run(transfer, "1002")
