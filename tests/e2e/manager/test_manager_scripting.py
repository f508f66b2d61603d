"""
What web consoles and call-centre tools do over the manager, with a real
client (panoramisk) against a real C{twistd -n pbx} on the shipped etc/
(copied unchanged, ports rewritten to 0): read and edit the dialplan
(GetConfig, UpdateConfig with Reload, ShowDialPlan), watch bridges
(BridgeList, BridgeInfo) during a call, optimise a Local pair away
(LocalOptimizeAway), transfer (Atxfer and CancelAtxfer, BlindTransfer),
and limit events with Filter while another session is
unaffected.
"""

import asyncio
import os
import time

import pytest

from tests.e2e.http.support import shippedEtc
from tests.pbxprocess import PBXProcess, cleanup

PATIENCE = 60



def appended(extensions):
    """UpdateConfig fields appending C{extensions} ((exten, rest) pairs) to [default]."""
    fields = {}
    for n, (exten, rest) in enumerate(extensions):
        fields.update({f"Action-{n:06d}": "Append", f"Cat-{n:06d}": "default",
                       f"Var-{n:06d}": "exten", f"Value-{n:06d}": f">{exten},{rest}"})
    return fields


@pytest.fixture(scope="module")
def pbx():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        match = process.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)", PATIENCE)
        process.port = int(match.group(1))
        yield process
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


def run(pbx, scenario):
    from panoramisk import Manager

    async def main():
        manager = Manager(host="127.0.0.1", port=pbx.port, username="admin",
                          secret="change-me-please", ping_delay=PATIENCE * 10)
        events = []
        manager.register_event("*", lambda m, event: events.append(event))
        await asyncio.wait_for(manager.connect(), PATIENCE)
        try:
            return await asyncio.wait_for(scenario(manager, events), PATIENCE * 2)
        finally:
            manager.close()

    return asyncio.run(main())


async def send(manager, **fields):
    return await asyncio.wait_for(manager.send_action(fields), PATIENCE)


async def until(predicate):
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        assert time.monotonic() < deadline, "the PBX never got there"
        await asyncio.sleep(0.05)


async def waitForBridges(manager, count):
    while True:
        listing = await send(manager, Action="BridgeList")
        items = [m for m in listing if m.event == "BridgeListItem"]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.05)


async def waitForMembers(manager, wanted):
    """The channels of the first bridge whose member names satisfy C{wanted}."""
    while True:
        for item in await waitForBridges(manager, 1):
            info = await send(manager, Action="BridgeInfo", BridgeUniqueid=item.bridgeuniqueid)
            if not isinstance(info, list):
                continue
            members = [m.channel for m in info if m.event == "BridgeInfoChannel"]
            if wanted(members):
                return members
        await asyncio.sleep(0.05)


def test_get_update_reload_show_dialplan(pbx):
    async def scenario(manager, events):
        config = await send(manager, Action="GetConfig", Filename="extensions.conf",
                            Category="default")
        assert config.response == "Success"
        assert config["Category-000000"] == "default"
        assert config["Line-000000-000000"] == "exten=100,1,Answer()"
        before = await send(manager, Action="ShowDialPlan", Context="default",
                            Extension="700")
        assert before.response == "Error"
        assert before.message == "Did not find extension 700@default"
        # A call that stays up in a bridge: Dial of a Local channel ending in Echo.
        answer = await send(manager, Action="UpdateConfig", SrcFilename="extensions.conf",
                            DstFilename="extensions.conf", Reload="pbx_config",
                            **appended([("700", "1,Dial(Local/100@default)")]))
        assert answer.response == "Success", answer
        shown = await send(manager, Action="ShowDialPlan", Context="default",
                           Extension="700")
        assert shown[0].response == "Success"
        [item] = [m for m in shown if m.event == "ListDialplan"]
        assert (item.extension, item.priority, item.application, item.appdata) == (
            "700", "1", "Dial", "Local/100@default")
        assert shown[-1].event == "ShowDialPlanComplete"
        assert shown[-1].listitems == "1" and shown[-1].listextensions == "1"
        json = await send(manager, Action="GetConfigJSON", Filename="extensions.conf",
                          Category="default")
        assert '"exten":"700,1,Dial(Local/100@default)"' in json.json
        refused = await send(manager, Action="GetConfig", Filename="../etc/../../etc/passwd")
        assert refused.response == "Error"
        assert refused.message == "File requires escalated privileges"

    run(pbx, scenario)
    with open(os.path.join(pbx.configDir, "extensions.conf")) as f:
        text = f.read()
    # Edited in place: the comments are still there, the new lines follow [default]'s last.
    assert "; Echo test\nexten => 100,1,Answer()" in text
    assert "exten => 700,1,Dial(Local/100@default)\n" in text
    assert text.index("exten => 700") < text.index("[internal]")


def test_bridges_during_a_call_and_transfer(pbx):
    async def scenario(manager, events):
        await send(manager, Action="UpdateConfig", SrcFilename="extensions.conf",
                   DstFilename="extensions.conf", Reload="pbx_config",
                   **appended([("710", "1,Dial(Local/100@default)")]))
        originate = await send(manager, Action="Originate", Channel="Local/710@default",
                               Application="Echo", Async="true")
        assert originate[0].response == "Success"
        [item] = await waitForBridges(manager, 1)
        assert item.bridgetype == "basic" and item.bridgenumchannels == "2"
        info = await send(manager, Action="BridgeInfo", BridgeUniqueid=item.bridgeuniqueid)
        members = [m.channel for m in info if m.event == "BridgeInfoChannel"]
        assert len(members) == 2
        assert any(name.startswith("Local/710@default-") and name.endswith(";2")
                   for name in members)
        assert info[-1].event == "BridgeInfoComplete" and info[-1].listitems == "2"
        assert info[-1].bridgeuniqueid == item.bridgeuniqueid
        missing = await send(manager, Action="BridgeInfo", BridgeUniqueid="nope")
        assert missing.message == "Bridge nope not found"
        transferer = [m for m in members if m.startswith("Local/710@")][0]
        transferee = [m for m in members if m != transferer][0]
        # An attended transfer to 100, cancelled: back to the transferee.
        # panoramisk reads any "... successfully queued" answer as the start of
        # a list unless the action says Async: false (Asterisk's wording too).
        atxfer = await send(manager, Action="Atxfer", Channel=transferer, Exten="100",
                            Async="false")
        assert atxfer.message == "Atxfer successfully queued", atxfer
        consultation = await waitForMembers(
            manager, lambda m: transferer in m and transferee not in m)
        assert any(n.startswith("Local/100@default-") for n in consultation)
        cancel = await send(manager, Action="CancelAtxfer", Channel=transferer,
                            Async="false")
        assert cancel.message == "CancelAtxfer successfully queued"
        await waitForMembers(manager, lambda m: sorted(m) == sorted([transferer, transferee]))
        transfer = await send(manager, Action="BlindTransfer", Channel=transferer,
                              Exten="100", Context="default")
        assert transfer.response == "Success", transfer
        assert transfer.message == "Transfer succeeded"
        await until(lambda: any(e.event == "BlindTransfer" for e in events))
        # The transferee (the Local/100 half) runs Echo at 100 on its own now.
        while True:
            channels = await send(manager, Action="CoreShowChannels")
            rows = [m for m in channels if m.event == "CoreShowChannel"]
            if not any(r.channel.startswith("Local/710@") for r in rows):
                break
            await asyncio.sleep(0.05)
        assert any(r.channel.startswith("Local/100@default-") and r.channel.endswith(";1")
                   and r.application == "Echo" for r in rows)
        for row in rows:
            await send(manager, Action="Hangup", Channel=row.channel)

    run(pbx, scenario)


def test_local_optimize_away(pbx):
    async def scenario(manager, events):
        await send(manager, Action="UpdateConfig", SrcFilename="extensions.conf",
                   DstFilename="extensions.conf", Reload="yes",
                   **appended([("721", "1,Dial(Local/722@default/n)"),
                               ("722", "1,Dial(Local/100@default)")]))
        await send(manager, Action="Originate", Channel="Local/721@default",
                   Application="Echo", Async="true")
        # 721 dials Local/722/n, 722 dials Local/100: two bridges, and the
        # /n pair in the middle stays.
        bridges = await waitForBridges(manager, 2)
        assert len(bridges) == 2
        channels = await send(manager, Action="CoreShowChannels")
        names = [m.channel for m in channels if m.event == "CoreShowChannel"]
        [half] = [n for n in names if n.startswith("Local/722@default-") and n.endswith(";1")]
        optimize = await send(manager, Action="LocalOptimizeAway", Channel=half,
                              Async="false")
        assert optimize.response == "Success", optimize
        assert optimize.message == "Queued channel to be optimized away"
        while True:
            bridges = await waitForBridges(manager, 1)
            if len(bridges) == 1:
                break
            await asyncio.sleep(0.05)
        info = await send(manager, Action="BridgeInfo",
                          BridgeUniqueid=bridges[0].bridgeuniqueid)
        members = sorted(m.channel for m in info if m.event == "BridgeInfoChannel")
        assert len(members) == 2
        assert members[0].startswith("Local/100@default-") and members[0].endswith(";1")
        assert members[1].startswith("Local/721@default-") and members[1].endswith(";2")
        names = {e.event for e in events}
        assert {"LocalOptimizationBegin", "LocalOptimizationEnd"} <= names
        await until(lambda: not any(
            n.startswith("Local/722@") for n in _live(events)))
        for name in members:
            await send(manager, Action="Hangup", Channel=name)

    run(pbx, scenario)


def _live(events):
    live = set()
    for event in events:
        if event.event == "Newchannel":
            live.add(event.channel)
        elif event.event == "Hangup":
            live.discard(event.channel)
        elif event.event == "Rename":
            live.discard(event.channel)
            live.add(event.newname)
    return live


def test_filter_limits_events_of_one_session_only(pbx):
    from panoramisk import Manager

    async def scenario(manager, events):
        other = Manager(host="127.0.0.1", port=pbx.port, username="admin",
                        secret="change-me-please", ping_delay=PATIENCE * 10)
        otherEvents = []
        other.register_event("*", lambda m, event: otherEvents.append(event))
        await asyncio.wait_for(other.connect(), PATIENCE)
        try:
            bad = await send(manager, Action="Filter", Operation="Add", Filter="(")
            assert bad.response == "Error"
            assert bad.message.startswith("Filter did not compile")
            unknown = await send(manager, Action="Filter", Operation="Remove",
                                 Filter="Event: Hangup")
            assert unknown.message == "Unknown operation"
            added = await send(manager, Action="Filter", Operation="Add",
                               Filter="Event: Hangup")
            assert added.response == "Success"
            # The regular expression also matches HangupRequest: leave those out.
            added = await send(manager, Action="Filter", Operation="Add",
                               MatchCriteria="action(exclude),name(HangupRequest)")
            assert added.response == "Success"
            added = await send(manager, Action="Filter", Operation="Add",
                               MatchCriteria="action(exclude),name(Hangup),header(Channel),"
                                             "method(starts_with)",
                               Filter="Local/999@")
            assert added.response == "Success"
            events.clear()
            # Originated by the other session: this one's filter holds back
            # the OriginateResponse a client waits for.
            await send(other, Action="Originate", Channel="Local/100@default",
                       Application="Wait", Data="0.1", Async="true")
            await until(lambda: len([e for e in otherEvents if e.event == "Hangup"]) >= 2)
            await send(manager, Action="Ping")
            await until(lambda: [e for e in events if e.event == "Hangup"])
            broadcast = [e for e in events if "actionid" not in e]
            assert broadcast and {e.event for e in broadcast} == {"Hangup"}
            assert all(e.channel.startswith("Local/100@") for e in broadcast)
            assert {"Newchannel", "Newstate", "Hangup"} <= {e.event for e in otherEvents}
        finally:
            other.close()

    run(pbx, scenario)


def test_bridge_two_calls_that_run_applications(pbx):
    async def scenario(manager, events):
        for _ in range(2):
            await send(manager, Action="Originate", Channel="Local/100@default",
                       Application="Echo", Async="true")
        while True:
            channels = await send(manager, Action="CoreShowChannels")
            halves = sorted(m.channel for m in channels if m.event == "CoreShowChannel"
                            and m.channel.endswith(";1") and m.application == "Echo")
            if len(halves) == 2:
                break
            await asyncio.sleep(0.05)
        bridged = await send(manager, Action="Bridge", Channel1=halves[0], Channel2=halves[1])
        assert bridged.response == "Success" and bridged.message == "Channel has been bridged"
        members = await waitForMembers(manager, lambda m: sorted(m) == halves)
        assert sorted(members) == halves
        for name in halves:
            await send(manager, Action="Hangup", Channel=name)
        await until(lambda: not any(n.startswith("Local/100@") for n in _live(events)))

    run(pbx, scenario)
