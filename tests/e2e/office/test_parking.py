"""
Call parking with real baresip phones on the shipped etc/ (ports rewritten
only): 1001 calls 1002, 1002 blind-transfers 1001 to 700 (REFER), 1001 is
parked in 701 (its BLF hint park:701@parkedcalls goes in use); 1002 dials
701 and takes it back: each hears the other's tone. Then the manager's
Park with a Timeout parks 1001 again with 1002 as TimeoutChannel: the call
times out and rings 1002 back (comebacktoorigin). panoramisk receives
ParkedCall, UnParkedCall, ParkedCallTimeOut with Asterisk's fields.

Needs baresip-core (installed by .ci/run) and panoramisk (the test extra).
"""

import asyncio
import os

from tests.e2e.office.support import heard, run


def assertHeard(phone, frequency, others, call=-1):
    recordings = phone.recordings()
    assert recordings, f"{phone.name} recorded nothing"
    name, samples = recordings[call]
    windows, hits = heard(samples, frequency, others)
    assert hits >= 1, f"{phone.name} never heard {frequency} Hz in {name} ({windows} s)"


async def parkAndRetrieve(office):
    alice, bob = office.phones["1001"], office.phones["1002"]
    await alice.dial("1002")
    await office.waitFor(lambda: len(office.event("BridgeEnter")) >= 2, "1001 -> 1002 bridged")
    # 1002 transfers the caller to the park extension (REFER to 700).
    await bob.command("transfer", f"sip:700@127.0.0.1:{office.ports.sip}")
    await office.waitFor(lambda: office.event("ParkedCall"), "ParkedCall")
    parked = office.event("ParkedCall")[0]
    assert parked["ParkingSpace"] == "701"
    assert parked["Parkinglot"] == "default"
    assert parked["ParkeeCallerIDNum"] == "1001"
    assert parked["ParkeeChannel"].startswith("SIP/1001-")
    assert parked["ParkerDialString"] == "SIP/1002"
    assert int(parked["ParkingTimeout"]) > 0
    await office.waitFor(lambda: office.event(
        "ExtensionStatus", Exten="701", Context="parkedcalls", Status="1"), "701 lit")
    listed = await office.action(Action="ParkedCalls")
    listed = listed if isinstance(listed, list) else [listed]
    assert [m.get("ParkingSpace") for m in listed if m.get("Event") == "ParkedCall"] == ["701"]
    complete = [m for m in listed if m.get("Event") == "ParkedCallsComplete"]
    assert complete and complete[0].get("Total") == "1"
    output = await office.command("parkedcalls show")
    shown = str(output.content) + str(output)
    assert "Parking Extension           :  700" in shown and "Space: 701" in shown, shown
    await office.waitFor(lambda: len(bob.recordings()) >= 1, "1002's first call over")

    # 1002 (another phone than the parked one) takes the call back; a new
    # second first, as baresip names its recordings by the second.
    await asyncio.sleep(1.1)
    await bob.dial("701")
    await office.waitFor(lambda: office.event("UnParkedCall"), "UnParkedCall")
    unparked = office.event("UnParkedCall")[0]
    assert unparked["ParkingSpace"] == "701"
    assert unparked["RetrieverCallerIDNum"] == "1002"
    assert unparked["ParkeeCallerIDNum"] == "1001"
    await office.waitFor(lambda: office.event(
        "ExtensionStatus", Exten="701", Context="parkedcalls", Status="0"), "701 dark")
    bridges = len(office.event("BridgeEnter"))
    await office.waitFor(lambda: len(office.event("BridgeEnter")) >= bridges, "bridged")
    await asyncio.sleep(3)  # three seconds of talk for the recordings
    await alice.command("hangup")
    await office.waitFor(lambda: office.event("Hangup", CallerIDNum="1002")
                         and len(office.event("Hangup")) >= 4, "every leg hung up")
    await office.waitFor(lambda: len(bob.recordings()) >= 2 and len(alice.recordings()) >= 1,
                         f"recordings closed ({len(bob.recordings())}, {len(alice.recordings())}, "
                         f"{sorted(os.listdir(bob.dump)) + sorted(os.listdir(alice.dump))})")
    # The retrieved call: 1002 hears 1001's tone and 1001 hears 1002's.
    assertHeard(bob, 1000, (700,))
    assertHeard(alice, 700, (1000,))


def test_parkByTransferAndRetrieve():
    run(parkAndRetrieve, "1001", "1002")


async def parkTimesOut(office):
    alice, bob = office.phones["1001"], office.phones["1002"]
    await alice.dial("1002")
    await office.waitFor(lambda: len(office.event("BridgeEnter")) >= 2, "1001 -> 1002 bridged")
    channels = await office.channels()
    aliceChannel = next(c for c in channels if c.startswith("SIP/1001-"))
    bobChannel = next(c for c in channels if c.startswith("SIP/1002-"))
    result = await office.action(Action="Park", Channel=aliceChannel,
                                 TimeoutChannel=bobChannel, Timeout="2000")
    assert result.get("Response") == "Success", result
    await office.waitFor(lambda: office.event("ParkedCall"), "ParkedCall")
    assert office.event("ParkedCall")[0]["ParkerDialString"] == "SIP/1002"
    await office.waitFor(lambda: office.event("ParkedCallTimeOut"), "ParkedCallTimeOut")
    timedOut = office.event("ParkedCallTimeOut")[0]
    assert timedOut["ParkingSpace"] == "701" and timedOut["ParkeeCallerIDNum"] == "1001"
    # comebacktoorigin: 1002 rings again (and answers by itself).
    await office.waitFor(lambda: [e for e in office.event("DialBegin")
                                  if e.get("DestChannel", "").startswith("SIP/1002-")
                                  and e.get("CallerIDNum") == "1001"
                                  and e.get("Exten") == "700"], "1002 dialled back")
    await office.waitFor(lambda: office.event("DialEnd", DialStatus="ANSWER")
                         and len(office.event("DialEnd", DialStatus="ANSWER")) >= 2,
                         "1002 answered the returning call")
    bad = await office.action(Action="Park", Channel="SIP/nobody-1")
    assert bad.get("Response") == "Error"
    await alice.command("hangup")
    await office.waitFor(lambda: len(office.event("Hangup")) >= 4, "hung up")


def test_parkedCallTimesOutBackToOrigin():
    run(parkTimesOut, "1001", "1002")
