"""
Events as a manager client reads them: names and field order as Asterisk
sends them, the channel block in Asterisk's order, the bridge block first
on bridge events; eventfilters of manager.conf (legacy and advanced).
"""

import pytest

from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.frame import Control, dtmfFrame
from pbxcore.testing import TestTechnology as ScriptedTechnology

from .managerfakes import CONF, Client, byName, makeManager

BLOCK = ["Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
         "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
         "Exten", "Priority", "Uniqueid", "Linkedid"]
BRIDGE = ["BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName",
          "BridgeNumChannels", "BridgeVideoSourceMode"]

DIALPLAN = """\
[default]
exten => 1,1,Set(X=y)
 same => n,Dial(Local/2@default)
exten => 2,1,Dial(Test/far)
"""

USERS = CONF + """
[advanced]
secret = pw
read = all
write = all
eventfilter(name(Hangup),header(Channel),method(starts_with)) = Test/
eventfilter(action(exclude),name(Hangup),header(Cause-txt),method(exact)) = User busy
"""


@pytest.fixture
def env(tmp_path):
    from plugins.app_dial import AppDialModule
    from plugins.chan_local import LocalChannelModule

    pbx, module = makeManager(tmp_path, USERS)
    pbx.dialplan = parseDialplan(parseText(DIALPLAN, "extensions.conf"))
    pbx.loadModule(AppDialModule(), "app_dial")
    pbx.loadModule(LocalChannelModule(), "chan_local")
    tech = ScriptedTechnology.install(pbx)
    yield pbx, module, tech
    pbx.hangupAll()


def keys(message):
    return [k for k, _ in message.fields]


def test_call_events_have_asterisks_shape(env):
    pbx, module, tech = env
    client = Client(module)
    client.login()
    client.read()
    caller = tech.inbound(pbx, exten="1", context="default", callerNumber="555",
                          callerName="Alice")
    pbx.runDialplan(caller)
    pbx.reactor.advance(0.1)
    pbx.reactor.advance(0.1)
    messages = client.read()
    newchannel = byName(messages, "Newchannel")[0]
    assert keys(newchannel) == ["Event", "Privilege"] + BLOCK
    newexten = byName(messages, "Newexten")[0]
    assert keys(newexten) == ["Event", "Privilege"] + BLOCK + [
        "Extension", "Application", "AppData"]
    varset = [m for m in byName(messages, "VarSet") if m.get("Variable") == "X"][0]
    assert keys(varset) == ["Event", "Privilege"] + BLOCK + ["Variable", "Value"]
    dialBegin = byName(messages, "DialBegin")[0]
    assert keys(dialBegin) == ["Event", "Privilege"] + BLOCK + [
        "Dest" + k for k in BLOCK] + ["DialString"]
    connected = byName(messages, "NewConnectedLine")
    assert connected and connected[0].get("Channel").endswith(";2")
    assert connected[0].get("ConnectedLineNum") == "555"
    enter = byName(messages, "BridgeEnter")[0]
    assert keys(enter) == ["Event", "Privilege"] + BRIDGE + BLOCK
    assert byName(messages, "BridgeCreate")[0].get("Privilege") == "call,all"
    # Hold from the far end, DTMF, then a hangup request from it.
    [far] = [c for c in pbx.channels if c.name.startswith("Test/far")]
    far.controlReceived(Control.HOLD, b"default")
    far.controlReceived(Control.UNHOLD)
    far.frameReceived(dtmfFrame("5", end=False))
    far.frameReceived(dtmfFrame("5", True, 120))
    far.hungUp()
    pbx.reactor.advance(0.1)
    messages = client.read()
    hold = byName(messages, "Hold")[0]
    assert keys(hold) == ["Event", "Privilege"] + BLOCK + ["MusicClass"]
    assert keys(byName(messages, "Unhold")[0]) == ["Event", "Privilege"] + BLOCK
    assert keys(byName(messages, "DTMFBegin")[0])[-2:] == ["Digit", "Direction"]
    assert keys(byName(messages, "DTMFEnd")[0])[-3:] == ["Digit", "DurationMs", "Direction"]
    assert keys(byName(messages, "HangupRequest")[0]) == ["Event", "Privilege"] + BLOCK + [
        "Cause"]
    hangup = byName(messages, "Hangup")[0]
    assert keys(hangup) == ["Event", "Privilege"] + BLOCK + ["Cause", "Cause-txt"]
    assert byName(messages, "BridgeLeave") and byName(messages, "BridgeDestroy")


def test_advanced_eventfilters_from_manager_conf(env):
    pbx, module, tech = env
    client = Client(module)
    client.login("advanced")
    client.read()
    caller = tech.inbound(pbx, exten="1", context="default", callerNumber="555")
    pbx.runDialplan(caller)
    pbx.reactor.advance(0.1)
    pbx.reactor.advance(0.1)
    [far] = [c for c in pbx.channels if c.name.startswith("Test/far")]
    far.hungUp()
    pbx.reactor.advance(0.1)
    messages = client.read()
    assert {m.get("Event") for m in messages} == {"Hangup"}
    assert {m.get("Channel").split("-")[0] for m in messages} == {"Test/far", "Test/caller"}


def test_sessions_that_want_no_events_cost_the_calls_nothing(env):
    pbx, module, tech = env
    factory = module.factory
    [wanted] = [when for callback, names, when in pbx.events._subscribers
                if callback == factory.broadcast]
    quiet = Client(module)
    assert not wanted()  # connected, not logged in
    quiet.login(Events="off")
    assert factory.listeners == 0 and not wanted()
    quiet.send(Action="Events", EventMask="call")
    quiet.read()
    assert factory.listeners == 1 and wanted()
    quiet.send(Action="Events", EventMask="off")
    quiet.read()
    assert not wanted()
    loud = Client(module)
    loud.login()
    assert factory.listeners == 1 and wanted()
    loud.protocol.connectionLost(None)
    assert factory.listeners == 0 and not wanted()
