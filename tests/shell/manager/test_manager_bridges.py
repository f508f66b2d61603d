"""
The bridge and transfer actions, and Local channel optimisation, on a
FakePBX running Dial between scripted Test channels and Local pairs.
"""

import pytest

from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.frame import Control
from pbxcore.testing import TestTechnology as ScriptedTechnology

from .managerfakes import Client, byName, makeManager

DIALPLAN = """\
[default]
exten => 1,1,Dial(Test/a)
exten => 2,1,Dial(Local/3@default)
exten => 3,1,Dial(Test/b)
exten => 4,1,Dial(Local/3@default/n)
exten => 5,1,Answer()
 same => n,Wait(30)
exten => 6,1,Answer()
 same => n,Wait(30)
 same => n,Set(AFTER=yes)
 same => n,Wait(30)
"""


@pytest.fixture
def env(tmp_path):
    from plugins.app_dial import AppDialModule
    from plugins.chan_local import LocalChannelModule

    pbx, module = makeManager(tmp_path)
    pbx.dialplan = parseDialplan(parseText(DIALPLAN, "extensions.conf"))
    pbx.loadModule(AppDialModule(), "app_dial")
    pbx.loadModule(LocalChannelModule(), "chan_local")
    tech = ScriptedTechnology.install(pbx)
    client = Client(module)
    client.login()
    yield pbx, tech, client
    pbx.hangupAll()


def call(client, **fields):
    """The answer to one action (broadcast events that come meanwhile left out)."""
    fields.setdefault("ActionID", "a")
    client.send(**fields)
    return [m for m in client.read() if m.actionID == fields["ActionID"]]


def dial(pbx, tech, exten):
    caller = tech.inbound(pbx, exten=exten, context="default", callerNumber="555")
    pbx.runDialplan(caller)
    pbx.reactor.advance(0.1)
    pbx.reactor.advance(0.1)
    return caller


def names(pbx):
    return sorted(c.name for c in pbx.channels)


def test_bridge_list_info_and_kick(env):
    pbx, tech, client = env
    caller = dial(pbx, tech, "1")
    listing = call(client, Action="BridgeList", ActionID="l")
    [item] = byName(listing, "BridgeListItem")
    assert listing[0].get("EventList") == "start"
    assert listing[0].get("Message") == "Bridge listing will follow"
    assert [k for k, _ in item.fields][:8] == [
        "Event", "ActionID", "BridgeUniqueid", "BridgeType", "BridgeTechnology",
        "BridgeCreator", "BridgeName", "BridgeNumChannels"]
    bridgeID = item.get("BridgeUniqueid")
    assert bridgeID == caller.bridge.uniqueid
    info = call(client, Action="BridgeInfo", BridgeUniqueid=bridgeID)
    members = byName(info, "BridgeInfoChannel")
    assert [m.get("Channel") for m in members] == [c.name for c in caller.bridge.channels]
    complete = byName(info, "BridgeInfoComplete")[0]
    assert (complete.get("ListItems"), complete.get("BridgeUniqueid")) == ("2", bridgeID)
    [missing] = call(client, Action="BridgeInfo")
    assert missing.get("Message") == "BridgeUniqueid must be provided"
    [notThere] = call(client, Action="BridgeKick", Channel="Test/zzz")
    assert notThere.get("Message") == "Channel does not exist"
    callee = [c for c in caller.bridge.channels if c is not caller][0]
    [wrong] = call(client, Action="BridgeKick", Channel=callee.name, BridgeUniqueid="x")
    assert wrong.get("Message") == "Channel is not in given bridge"
    [kicked] = call(client, Action="BridgeKick", Channel=callee.name)
    assert kicked.get("Message") == "Channel has been kicked"
    pbx.reactor.advance(0.1)
    assert callee.isHungUp and caller.isHungUp
    assert byName(call(client, Action="BridgeList"), "BridgeListItem") == []
    [notBridged] = call(client, Action="BridgeKick", Channel=tech.inbound(pbx).name)
    assert notBridged.get("Message") == "Channel is not in a bridge"


def test_bridge_destroy_and_technologies(env):
    pbx, tech, client = env
    caller = dial(pbx, tech, "1")
    technologies = byName(call(client, Action="BridgeTechnologyList"),
                          "BridgeTechnologyListItem")
    assert [(t.get("BridgeTechnology"), t.get("BridgeSuspended")) for t in technologies] == [
        ("native_rtp", "No"), ("simple_bridge", "No")]
    [suspended] = call(client, Action="BridgeTechnologySuspend", BridgeTechnology="native_rtp")
    assert suspended.get("Message") == "Suspended bridge technology"
    technologies = byName(call(client, Action="BridgeTechnologyList"),
                          "BridgeTechnologyListItem")
    assert technologies[0].get("BridgeSuspended") == "Yes"
    [unknown] = call(client, Action="BridgeTechnologySuspend", BridgeTechnology="softmix")
    assert unknown.get("Message") == "Technology softmix not found"
    [back] = call(client, Action="BridgeTechnologyUnsuspend", BridgeTechnology="native_rtp")
    assert back.get("Message") == "Unsuspended bridge technology"
    [destroyed] = call(client, Action="BridgeDestroy", BridgeUniqueid=caller.bridge.uniqueid)
    assert destroyed.get("Message") == "Bridge has been destroyed"
    pbx.reactor.advance(0.1)
    assert caller.isHungUp and not list(pbx.bridges)


def test_a_local_pair_bridged_on_both_sides_is_optimised_away(env):
    pbx, tech, client = env
    caller = dial(pbx, tech, "2")
    pbx.reactor.advance(0.1)
    [bridge] = list(pbx.bridges)
    [other] = [c for c in bridge.channels if c is not caller]
    assert other.name.startswith("Test/b-")
    assert names(pbx) == sorted([caller.name, other.name])
    events = [e.name for e in pbx.eventLog]
    assert "LocalOptimizationBegin" in events and "LocalOptimizationEnd" in events
    # The far end still reaches the caller through the one bridge left.
    other.hungUp()
    pbx.reactor.advance(0.1)
    assert caller.isHungUp


def test_n_keeps_the_pair_until_local_optimize_away(env):
    pbx, tech, client = env
    caller = dial(pbx, tech, "4")
    pbx.reactor.advance(0.1)
    assert len(pbx.bridges) == 2
    [half] = [n for n in names(pbx) if n.startswith("Local/3@default-") and n.endswith(";1")]
    [missing] = call(client, Action="LocalOptimizeAway")
    assert missing.get("Message") == "'Channel' not specified."
    [notLocal] = call(client, Action="LocalOptimizeAway", Channel=caller.name)
    assert notLocal.get("Message") == "Unable to find channel"
    [queued] = call(client, Action="LocalOptimizeAway", Channel=half)
    assert queued.get("Message") == "Queued channel to be optimized away"
    pbx.reactor.advance(0.1)
    assert len(pbx.bridges) == 1
    assert not [n for n in names(pbx) if n.startswith("Local/")]


def test_blind_transfer(env):
    pbx, tech, client = env
    caller = dial(pbx, tech, "4")
    pbx.reactor.advance(0.1)
    [noExten] = call(client, Action="BlindTransfer", Channel=caller.name)
    assert noExten.get("Message") == "No extension specified"
    [gone] = call(client, Action="BlindTransfer", Channel="Test/none", Exten="5")
    assert gone.get("Message") == "Channel specified does not exist"
    [invalid] = call(client, Action="BlindTransfer", Channel=caller.name, Exten="999")
    assert invalid.get("Message") == "Transfer invalid"
    half = [c for c in caller.bridge.channels if c is not caller][0]
    halfName = half.name
    [done] = call(client, Action="BlindTransfer", Channel=caller.name, Exten="5",
                  Context="default")
    assert done.get("Message") == "Transfer succeeded"
    pbx.reactor.advance(0.1)
    assert caller.isHungUp
    moved = pbx.channels.get(halfName)
    assert half.name == halfName + "<ZOMBIE>" and half.isHungUp
    assert moved is not None and moved is not half and moved.appl == "Wait"
    [event] = [e for e in pbx.eventLog if e.name == "BlindTransfer"]
    assert event.get("Result") == "Success" and event.get("TransfererChannel") == caller.name
    assert event.get("TransfereeChannel") == halfName
    assert event.get("TransfererBridgeUniqueid")


def test_transfers_the_core_cannot_do_say_so(env):
    pbx, tech, client = env
    caller = dial(pbx, tech, "1")
    [nowhere] = call(client, Action="Atxfer", Channel=caller.name, Exten="999")
    assert nowhere.get("Message") == "Extension 999@default does not exist"
    [blind] = call(client, Action="BlindTransfer", Channel=caller.name, Exten="5")
    assert blind.get("Message") == "Transfer failed"  # Test channels cannot be moved
    [missing] = call(client, Action="Bridge", Channel1=caller.name)
    assert missing.get("Message") == "Missing channel parameter in request"
    [nobody] = call(client, Action="Bridge", Channel1=caller.name, Channel2="Test/nobody")
    assert nobody.get("Message") == "Channel2 does not exist: Test/nobody"
    [aoc] = call(client, Action="AOCMessage", Channel=caller.name, MsgType="D")
    assert "Advice of charge is not available" in aoc.get("Message")


def test_channel_map_and_absolute_timeout(env):
    pbx, tech, client = env
    caller = dial(pbx, tech, "4")
    pbx.reactor.advance(0.1)
    answer = call(client, Action="CoreShowChannelMap", Channel=caller.name)
    [item] = byName(answer, "CoreShowChannelMap")
    connected = item.get("ConnectedChannels").split(",")
    assert len(connected) == 3 and any(n.startswith("Test/b-") for n in connected)
    assert byName(answer, "CoreShowChannelMapComplete")[0].get("ListItems") == "1"
    [noTimeout] = call(client, Action="AbsoluteTimeout", Channel=caller.name)
    assert noTimeout.get("Message") == "No timeout specified"
    [set_] = call(client, Action="AbsoluteTimeout", Channel=caller.name, Timeout="5")
    assert set_.get("Message") == "Timeout Set"
    pbx.reactor.advance(4.9)
    assert not caller.hangupRequested
    pbx.reactor.advance(0.2)
    pbx.reactor.advance(0.1)
    assert caller.isHungUp


def test_bridge_takes_two_channels_from_their_dialplans(env):
    pbx, tech, client = env
    first = dial(pbx, tech, "6")
    second = tech.inbound(pbx, exten="5", context="default", resource="other")
    pbx.runDialplan(second)
    pbx.reactor.advance(0.1)
    names = (first.name, second.name)
    [ok] = call(client, Action="Bridge", Channel1=first.name, Channel2=second.name)
    assert ok.get("Message") == "Channel has been bridged"
    pbx.reactor.advance(0.1)
    [bridge] = list(pbx.bridges)
    assert tuple(c.name for c in bridge.channels) == names
    assert first.isHungUp and first.name == names[0] + "<ZOMBIE>"
    renames = [(e.get("Channel"), e.get("Newname"), e.get("Uniqueid"))
               for e in pbx.eventLog if e.name == "Rename"]
    assert (names[0] + "<MASQ>", names[0] + "<ZOMBIE>", first.uniqueid) in renames
    assert first.driver is None
    one, two = bridge.channels
    assert one.driver is not None and one.uniqueid != first.uniqueid
    # The far end of the second leaves: the first goes on in its dialplan.
    two.hungUp()
    pbx.reactor.advance(0.1)
    assert two.isHungUp and not one.isHungUp
    assert one.getVariable("AFTER") == "yes" and one.appl == "Wait"
    assert [c.name for c in pbx.channels] == [names[0]]


def atxfer(pbx, tech, client):
    caller = dial(pbx, tech, "1")
    callee = [c for c in caller.bridge.channels if c is not caller][0]
    names = (caller.name, callee.name)
    [queued] = call(client, Action="Atxfer", Channel=caller.name, Exten="5")
    assert queued.get("Message") == "Atxfer successfully queued"
    pbx.reactor.advance(0.1)
    pbx.reactor.advance(0.1)
    [consultation] = list(pbx.bridges)
    transferer, target = consultation.channels
    assert transferer.name == names[0] and target.name.startswith("Local/5@default-")
    assert transferer is not caller and caller.isHungUp and callee.isHungUp
    held = pbx.channels.get(names[1])
    assert held.driver.indications[-1] == Control.HOLD
    return names, transferer, target, held


def test_attended_transfer_completes_when_the_transferer_hangs_up(env):
    pbx, tech, client = env
    names, transferer, target, held = atxfer(pbx, tech, client)
    transferer.hungUp()
    pbx.reactor.advance(0.1)
    [final] = list(pbx.bridges)
    assert [c.name for c in final.channels] == [names[1], target.name]
    assert held.driver.indications[-1] == Control.UNHOLD
    [event] = [e for e in pbx.eventLog if e.name == "AttendedTransfer"]
    assert event.get("Result") == "Success"
    assert event.get("TransfereeChannel") == names[1]
    assert event.get("TransferTargetChannel") == target.name
    held.hungUp()
    pbx.reactor.advance(0.1)
    assert target.isHungUp and not list(pbx.bridges)


def test_cancel_atxfer_goes_back_to_the_transferee(env):
    pbx, tech, client = env
    names, transferer, target, held = atxfer(pbx, tech, client)
    [nothing] = call(client, Action="CancelAtxfer", Channel=names[1])
    assert nothing.get("Message") == "No attended transfer is in progress on the channel"
    [cancelled] = call(client, Action="CancelAtxfer", Channel=names[0])
    assert cancelled.get("Message") == "CancelAtxfer successfully queued"
    pbx.reactor.advance(0.1)
    assert target.isHungUp
    [back] = list(pbx.bridges)
    assert [c.name for c in back.channels] == list(names)
    assert held.driver.indications[-1] == Control.UNHOLD
