"""Device states from synthetic channel events, custom devices and hints."""

import pytest

from pbxcore.store.astdb import AstDB
from pbxcore.devicestate.aggregation import (
    DeviceState,
    ExtensionState,
    aggregateDeviceStates,
    deviceOfChannel,
    extensionStateName,
    extensionStateOfDevices,
    hintDevices,
)
from pbxcore.devicestate.commands import CoreShowHints, DevstateChange
from pbxcore.devicestate.engine import DeviceStateEngine
from pbxcore.errors import CLIUsageError
from tests.shell.store.fakes import HintDialplan, RecordingRegistrar, StateTechnology, StorePBX

D = DeviceState


def test_deviceOfChannel():
    assert deviceOfChannel("SIP/1001-0000abcd") == "SIP/1001"
    assert deviceOfChannel("SIP/trunk-a-00000001") == "SIP/trunk-a"
    assert deviceOfChannel("Local/100@default-00000001;2") == "Local/100@default"
    assert deviceOfChannel("Test/foo") == "Test/foo"


def test_parse():
    assert D.parse("inuse") is D.INUSE
    assert D.parse(8) is D.ONHOLD
    assert D.parse("7") is D.RINGINUSE
    assert D.parse("bogus") is D.UNKNOWN
    assert D.parse(None) is D.UNKNOWN


@pytest.mark.parametrize("states, expected", [
    ([], D.INVALID),
    ([D.NOT_INUSE], D.NOT_INUSE),
    ([D.NOT_INUSE, D.INUSE], D.INUSE),
    ([D.RINGING, D.INUSE], D.RINGINUSE),
    ([D.ONHOLD, D.RINGING], D.RINGINUSE),
    ([D.UNAVAILABLE, D.NOT_INUSE], D.NOT_INUSE),
    ([D.UNAVAILABLE, D.INVALID], D.UNAVAILABLE),
    ([D.BUSY, D.INUSE], D.BUSY),
    ([D.UNKNOWN], D.UNKNOWN),
])
def test_aggregate(states, expected):
    assert aggregateDeviceStates(states) is expected


@pytest.mark.parametrize("states, expected", [
    ([D.NOT_INUSE], 0), ([D.INUSE], 1), ([D.BUSY], 2), ([D.UNAVAILABLE], 4),
    ([D.INVALID], 4), ([D.RINGING], 8), ([D.RINGING, D.INUSE], 9),
    ([D.ONHOLD], 16), ([D.UNKNOWN], 0), ([], 4),
])
def test_extensionState(states, expected):
    assert extensionStateOfDevices(states) == expected


def test_hintDevices():
    assert hintDevices("SIP/1001&Custom:1001,Alice") == ["SIP/1001", "Custom:1001"]
    assert hintDevices("") == []
    assert extensionStateName(9) == "RINGINUSE"
    assert extensionStateName(-1) == "UNKNOWN"


def makeEngine(hints=None, techStates=None):
    pbx = StorePBX(astdb=AstDB(None), dialplan=HintDialplan(hints or {}))
    tech = StateTechnology("SIP", techStates)
    pbx.registry("technology").add(tech)
    return pbx, DeviceStateEngine(pbx), tech


def channelBlock(name, state, uid="1"):
    return dict(Channel=name, ChannelState=str(state), Uniqueid=uid)


def test_channelEventsDriveDeviceState():
    pbx, engine, tech = makeEngine({("default", "1001"): "SIP/1001&Custom:1001"},
                                   {"1001": "NOT_INUSE"})
    assert engine.deviceState("SIP/1001") is D.NOT_INUSE
    pbx.feed("Newchannel", **channelBlock("SIP/1001-00000001", 0))
    assert engine.deviceState("SIP/1001") is D.INUSE
    pbx.feed("Newstate", **channelBlock("SIP/1001-00000001", 5))
    assert engine.deviceState("SIP/1001") is D.RINGING
    pbx.feed("Newstate", **channelBlock("SIP/1001-00000001", 6))
    pbx.feed("Hangup", Cause="16", **channelBlock("SIP/1001-00000001", 6))
    assert engine.deviceState("SIP/1001") is D.NOT_INUSE

    changes = [(e.get("Device"), e.get("State")) for e in pbx.named("DeviceStateChange")]
    assert changes == [("SIP/1001", "INUSE"), ("SIP/1001", "RINGING"),
                       ("SIP/1001", "INUSE"), ("SIP/1001", "NOT_INUSE")]
    statuses = [(e.get("Exten"), e.get("Context"), e.get("Hint"), e.get("Status"),
                 e.get("StatusText")) for e in pbx.named("ExtensionStatus")]
    assert statuses == [
        ("1001", "default", "SIP/1001&Custom:1001", "1", "InUse"),
        ("1001", "default", "SIP/1001&Custom:1001", "8", "Ringing"),
        ("1001", "default", "SIP/1001&Custom:1001", "1", "InUse"),
        ("1001", "default", "SIP/1001&Custom:1001", "0", "Idle"),
    ]
    assert all(e.category == "call" for e in pbx.named("ExtensionStatus"))


def test_technologyStateWhenIdle():
    pbx, engine, tech = makeEngine({("default", "1002"): "SIP/1002"}, {"1002": "UNAVAILABLE"})
    assert engine.extensionState("default", "1002") == ExtensionState.UNAVAILABLE
    tech.states["1002"] = "NOT_INUSE"
    engine.deviceStateChanged("SIP/1002")
    assert pbx.named("ExtensionStatus")[-1].get("StatusText") == "Idle"
    # A technology nobody registered: INVALID, so the hint is Unavailable.
    assert engine.deviceState("IAX2/9") is D.INVALID


def test_twoChannelsOfOneDevice():
    pbx, engine, tech = makeEngine()
    pbx.feed("Newchannel", **channelBlock("SIP/1001-00000001", 6))
    pbx.feed("Newchannel", **channelBlock("SIP/1001-00000002", 5, "2"))
    assert engine.deviceState("SIP/1001") is D.RINGINUSE
    pbx.feed("Hold", **channelBlock("SIP/1001-00000001", 6))
    assert engine.deviceState("SIP/1001") is D.RINGINUSE
    pbx.feed("Hangup", **channelBlock("SIP/1001-00000002", 5, "2"))
    assert engine.deviceState("SIP/1001") is D.ONHOLD
    pbx.feed("Unhold", **channelBlock("SIP/1001-00000001", 6))
    assert engine.deviceState("SIP/1001") is D.INUSE


def test_customDevicePersistedInAstDB():
    pbx, engine, tech = makeEngine({("default", "lamp"): "Custom:lamp"})
    assert engine.deviceState("Custom:lamp") is D.UNKNOWN
    seen = []
    unwatch = engine.watch("default", "lamp", lambda *a: seen.append(a))
    engine.setCustomState("lamp", "BUSY")
    assert pbx.astdb.get("CustomDevstate", "lamp") == "BUSY"
    assert engine.deviceState("custom:lamp") is D.BUSY
    assert seen == [("default", "lamp", ExtensionState.BUSY, "Custom:lamp")]
    assert engine.watcherCount("default", "lamp") == 1
    unwatch()
    engine.setCustomState("lamp", "NOT_INUSE")
    assert len(seen) == 1
    assert [e.get("State") for e in pbx.named("DeviceStateChange")] == ["BUSY", "NOT_INUSE"]


def test_hintRemovedOnDialplanReload():
    pbx, engine, tech = makeEngine({("default", "1001"): "Custom:a"})
    seen = []
    engine.watch("default", "1001", lambda *a: seen.append(a[2]))
    engine.setCustomState("a", "INUSE")
    pbx.dialplan = HintDialplan({("default", "1001"): "Custom:b"})
    engine.dialplanReloaded()
    assert seen == [1, 0]
    pbx.dialplan = HintDialplan({})
    engine.dialplanReloaded()
    assert seen[-1] == -1
    assert engine.extensionState("default", "1001") == -1


def test_cli():
    pbx, engine, tech = makeEngine({("default", "1001"): "Custom:1001"})
    pbx.devicestate = engine
    DevstateChange().execute(pbx, ["Custom:1001", "inuse"])
    out = CoreShowHints().execute(pbx, [])
    assert "1001@default" in out
    assert "State:InUse" in out
    assert "- 1 hints registered" in out
    with pytest.raises(CLIUsageError):
        DevstateChange().execute(pbx, ["SIP/1001", "INUSE"])
    registrar = RecordingRegistrar()
    engine.register(registrar)
    assert {o.name for k, o in registrar.registered} >= {"core show hints", "devstate list"}


def test_renameMovesTheChannel():
    pbx, engine, tech = makeEngine()
    pbx.feed("Newchannel", **channelBlock("SIP/1001-00000001", 6))
    pbx.feed("Rename", Channel="SIP/1001-00000001", Newname="SIP/1002-00000001")
    assert engine.deviceState("SIP/1001") is D.NOT_INUSE
    assert engine.deviceState("SIP/1002") is D.INUSE
    pbx.feed("Hangup", **channelBlock("SIP/1002-00000001", 6))
    assert engine.deviceState("SIP/1002") is D.NOT_INUSE
    assert engine.cachedDeviceState("SIP/1002") is D.NOT_INUSE
