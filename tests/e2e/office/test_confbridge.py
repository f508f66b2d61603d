"""
A three-party conference with real baresip phones on the shipped etc/
(ports rewritten only): 1001 (1000 Hz), 1002 (700 Hz) and 1003 (1300 Hz)
dial room 800; each must hear the two others' tones and not its own
(the mix leaves each member out of what it hears). panoramisk sees
ConfbridgeStart, ConfbridgeJoin, ConfbridgeTalking, ConfbridgeLeave and
ConfbridgeEnd, lists the room (ConfbridgeListRooms, ConfbridgeList),
mutes and unmutes a member, locks the room and kicks the members.

Needs baresip-core (installed by .ci/run) and panoramisk (the test extra).
"""

import asyncio

from tests.e2e.office.support import PHONES, tonePowers, run


def listed(result):
    return result if isinstance(result, list) else [result]


async def threeParty(office):
    phones = [office.phones[n] for n in ("1001", "1002", "1003")]
    for phone in phones:
        await phone.dial("800")
    await office.waitFor(lambda: len(office.event("ConfbridgeJoin", Conference="800")) == 3,
                         "three joined")
    assert len(office.event("ConfbridgeStart", Conference="800")) == 1
    await office.waitFor(lambda: len(office.event("ConfbridgeTalking", TalkingStatus="on")) >= 3,
                         "three talking")
    rooms = listed(await office.action(Action="ConfbridgeListRooms"))
    room = [m for m in rooms if m.get("Event") == "ConfbridgeListRooms"]
    assert room and room[0]["Conference"] == "800" and room[0]["Parties"] == "3", rooms
    members = [m for m in listed(await office.action(Action="ConfbridgeList", Conference="800"))
               if m.get("Event") == "ConfbridgeList"]
    assert sorted(m["CallerIDNum"] for m in members) == ["1001", "1002", "1003"]
    first = next(m["Channel"] for m in members if m["CallerIDNum"] == "1001")
    assert (await office.action(Action="ConfbridgeMute", Conference="800",
                                Channel=first)).get("Response") == "Success"
    await office.waitFor(lambda: office.event("ConfbridgeMute", Channel=first), "muted")
    assert (await office.action(Action="ConfbridgeUnmute", Conference="800",
                                Channel=first)).get("Response") == "Success"
    assert (await office.action(Action="ConfbridgeLock", Conference="800")).get(
        "Response") == "Success"
    missing = await office.action(Action="ConfbridgeList", Conference="nope")
    assert listed(missing)[0].get("Response") == "Error"
    output = await office.command("confbridge list")
    assert "800" in str(output.content) + str(output)
    await asyncio.sleep(3)  # three seconds of the three tones for the recordings
    assert (await office.action(Action="ConfbridgeKick", Conference="800",
                                Channel="all")).get("Response") == "Success"
    await office.waitFor(lambda: office.event("ConfbridgeEnd", Conference="800"), "ended")
    assert len(office.event("ConfbridgeLeave", Conference="800")) == 3
    await office.waitFor(lambda: len(office.event("Hangup")) >= 3, "hung up")
    await office.waitFor(lambda: all(p.recordings() for p in phones), "recordings closed")
    for phone in phones:
        own = phone.frequency
        others = [PHONES[n][1] for n in PHONES if n != phone.name]
        _, samples = phone.recordings()[-1]
        windows = [tonePowers(samples, start) for start in range(0, len(samples) - 8000, 4000)]
        both = [p for p in windows if all(p[o] > 20 * p[own] for o in others)
                and all(p[o] > 1e9 for o in others)]
        assert both, f"{phone.name} never heard {others} without its own {own} Hz"
        # Its own tone, if any, is leakage far under what it hears of the others.
        loudest = max(max(p[o] for o in others) for p in windows)
        assert all(p[own] < loudest / 1000 for p in windows), f"{phone.name} heard itself"


def test_threePartyConference():
    run(threeParty, "1001", "1002", "1003")
