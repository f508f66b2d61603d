"""
Call pickup with real baresip phones on the shipped etc/ (ports rewritten
only; the sample's phones share call and pickup group 1): 1001 calls 1002,
which rings and does not answer (a phone setting); 1003 dials *8 and
answers it instead (Pickup()): 1001 and 1003 hear each other's tones, 1002
stops ringing. panoramisk sees the Pickup event.

Needs baresip-core (installed by .ci/run) and panoramisk (the test extra).
"""

import asyncio

from tests.e2e.office.support import heard, run


async def pickupByStar8(office):
    alice, bob, carol = office.phones["1001"], office.phones["1002"], office.phones["1003"]
    await alice.dial("1002")
    await office.waitFor(lambda: office.event("DialState", DialStatus="RINGING"), "1002 rings")
    await carol.dial("*8")
    await office.waitFor(lambda: office.event("Pickup"), "Pickup")
    pickup = office.event("Pickup")[0]
    assert pickup["CallerIDNum"] == "1003" and pickup["TargetChannel"].startswith("SIP/1002-")
    await office.waitFor(lambda: office.event("DialEnd", DialStatus="ANSWER"), "answered")
    await office.waitFor(lambda: office.event("BridgeEnter", CallerIDNum="1003"), "bridged")
    await office.waitFor(lambda: [e for e in office.event("Hangup", Cause="26")
                                  if e["Channel"].startswith("SIP/1002-")],
                         "1002 cancelled (answered elsewhere)")
    channels = await office.channels()
    assert sorted(c.split("-")[0] for c in channels) == ["SIP/1001", "SIP/1003"], channels
    await asyncio.sleep(3)  # three seconds of talk for the recordings
    await alice.command("hangup")
    await office.waitFor(lambda: {e["Channel"].split("-")[0] for e in office.event("Hangup")}
                         >= {"SIP/1001", "SIP/1002", "SIP/1003"}, "hung up")
    await office.waitFor(lambda: alice.recordings() and carol.recordings(), "recordings closed")
    for phone, frequency, other in ((alice, 1300, 700), (carol, 1000, 700)):
        name, samples = phone.recordings()[-1]
        windows, hits = heard(samples, frequency, (other,))
        assert hits >= 1, f"{phone.name} never heard {frequency} Hz ({windows} s)"
    assert not bob.recordings() or not any(
        heard(s, 1000, (700,))[1] for _, s in bob.recordings()), "1002 heard the caller"


def test_pickupWithStar8():
    run(pickupByStar8, "1001", "1002", "1003", manual=("1002",))
