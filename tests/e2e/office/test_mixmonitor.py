"""
Call recording with real baresip phones on the shipped etc/ (ports
rewritten only): 1001 (1000 Hz) calls 1002 (700 Hz); a panoramisk client
starts MixMonitor on 1001's channel, lets them talk, stops it with
StopMixMonitor: the WAV holds both parties' tones (Goertzel), and the
MixMonitorStart/Stop events came.

Needs baresip-core (installed by .ci/run) and panoramisk (the test extra).
"""

import asyncio
import os
from array import array

from pbxcore.media.wav import readWav
from tests.e2e.office.support import heard, run


async def recordCall(office):
    alice = office.phones["1001"]
    path = os.path.join(office.base, "recordings", "call.wav")
    await alice.dial("1002")
    await office.waitFor(lambda: len(office.event("BridgeEnter")) >= 2, "1001 -> 1002 bridged")
    channels = await office.channels()
    aliceChannel = next(c for c in channels if c.startswith("SIP/1001-"))
    started = await office.action(Action="MixMonitor", Channel=aliceChannel, File=path)
    assert started.get("Response") == "Success", started
    recordingId = started.get("MixMonitorID")
    assert recordingId
    await office.waitFor(lambda: office.event("MixMonitorStart", Channel=aliceChannel), "start")
    await asyncio.sleep(3)  # three seconds of talk recorded
    stopped = await office.action(Action="StopMixMonitor", Channel=aliceChannel,
                                  MixMonitorID=recordingId)
    assert stopped.get("Response") == "Success", stopped
    await office.waitFor(lambda: office.event("MixMonitorStop", Channel=aliceChannel), "stop")
    again = await office.action(Action="StopMixMonitor", Channel=aliceChannel)
    assert again.get("Response") == "Error"
    bad = await office.action(Action="MixMonitor", Channel="SIP/nobody-1", File=path)
    assert bad.get("Response") == "Error"
    await alice.command("hangup")
    await office.waitFor(lambda: len(office.event("Hangup")) >= 2, "hung up")
    with open(path, "rb") as f:
        audio = readWav(f.read(), path)
    assert (audio.format, audio.rate) == ("slin", 8000)
    samples = array("h", audio.data)
    assert len(samples) >= 8000 * 2, len(samples)
    for frequency, other in ((1000, 400), (700, 400)):
        windows, hits = heard(samples, frequency, (other,))
        assert hits >= 2, f"{frequency} Hz in {hits} of {windows} s of the recording"


def test_mixMonitorRecordsBothParties():
    run(recordCall, "1001", "1002")
