"""Every core manager action over StringTransport on a FakePBX."""

import pytest

from pbxcore.config import parseText
from pbxcore.devicestate.engine import DeviceStateEngine
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.errors import ModuleError
from pbxcore.frame import ChannelState
from pbxcore.testing import TestTechnology as ScriptedTechnology

from .managerfakes import Client, byName, makeManager

DIALPLAN = """\
[default]
exten => 100,1,Answer()
 same => n,Wait(30)
 same => n,Hangup()
exten => 200,1,Answer()
 same => n,Wait(5)
exten => 300,hint,Custom:lamp
exten => 300,1,NoOp()
exten => 400,1,Wait(60)
"""


class FakeLoader:
    """What the module actions need of pbx.loader."""

    def __init__(self):
        self.modules = {"manager": object(), "app_echo": object()}
        self.calls = []

    def load(self, name):
        self.calls.append(("load", name))
        if name == "missing":
            raise ModuleError("no module named missing")

    def unload(self, name, force=False):
        self.calls.append(("unload", name))

    def reload(self, name=None):
        self.calls.append(("reload", name))
        return [(name or "manager", None)]


@pytest.fixture
def env(tmp_path):
    pbx, module = makeManager(tmp_path)
    pbx.dialplan = parseDialplan(parseText(DIALPLAN, "extensions.conf"))
    pbx.devicestate = DeviceStateEngine(pbx)
    from plugins.func_devstate import FuncDevstateModule

    pbx.loadModule(FuncDevstateModule(), "func_devstate")
    tech = ScriptedTechnology.install(pbx)
    pbx.loader = FakeLoader()
    pbx.reload = lambda name=None: pbx.loader.reload(name)
    client = Client(module)
    client.login()
    yield pbx, module, tech, client
    pbx.hangupAll()


def call(client, **fields):
    client.send(**fields)
    return client.read()


def responses(messages):
    return [m for m in messages if m.get("Event") is None]


def liveCall(pbx, tech, exten="100"):
    caller = tech.inbound(pbx, exten=exten, context="default", callerNumber="555")
    pbx.runDialplan(caller)
    pbx.reactor.advance(0.1)
    return caller


def test_ping(env):
    pbx, module, tech, client = env
    [m] = call(client, Action="Ping", ActionID="p")
    assert m.get("Response") == "Success" and m.get("Ping") == "Pong" and m.get("Timestamp")


def test_events_off_and_on(env):
    pbx, module, tech, client = env
    [m] = call(client, Action="Events", EventMask="off", ActionID="e")
    assert m.get("Events") == "Off" and m.actionID == "e"
    pbx.emitEvent("UserEvent", [("UserEvent", "hidden")], "user")
    assert client.read() == []
    [m] = call(client, Action="Events", EventMask="user")
    assert m.get("Events") == "On"
    pbx.emitEvent("UserEvent", [("UserEvent", "shown")], "user")
    pbx.emitEvent("Reload", [("Module", "x")], "system")
    [e] = client.read()
    assert e.get("UserEvent") == "shown" and e.get("Privilege") == "user,all"


def test_list_commands(env):
    pbx, module, tech, client = env
    [m] = call(client, Action="ListCommands", ActionID="lc")
    assert m.get("Response") == "Success" and m.actionID == "lc"
    assert m.get("Originate").startswith("Originate a call")
    assert "Priv: originate" in m.get("Originate")


def test_core_settings_and_status(env):
    pbx, module, tech, client = env
    [m] = call(client, Action="CoreSettings", ActionID="s")
    assert m.get("AMIversion").startswith("5.") and m.actionID == "s"
    liveCall(pbx, tech)
    client.read()
    [m] = call(client, Action="CoreStatus", ActionID="t")
    assert m.get("CoreCurrentCalls") == "1" and m.get("CoreStartupDate")


def test_core_show_channels_list(env):
    pbx, module, tech, client = env
    caller = liveCall(pbx, tech)
    client.read()
    messages = call(client, Action="CoreShowChannels", ActionID="csc")
    assert [m.actionID for m in messages] == ["csc"] * 3
    head, item, done = messages
    assert (head.get("Response"), head.get("EventList"), head.get("Message")) == (
        "Success", "start", "Channels will follow")
    assert item.get("Event") == "CoreShowChannel" and item.get("Channel") == caller.name
    assert item.get("Application") == "Wait" and item.get("Uniqueid") == caller.uniqueid
    assert (done.get("Event"), done.get("EventList"), done.get("ListItems")) == (
        "CoreShowChannelsComplete", "Complete", "1")


def test_status_with_variables(env):
    pbx, module, tech, client = env
    caller = liveCall(pbx, tech)
    caller.setVariable("FOO", "bar")
    client.read()
    messages = call(client, Action="Status", Channel=caller.name, Variables="FOO,NOPE",
                    ActionID="st")
    assert [m.actionID for m in messages] == ["st"] * 3
    item = messages[1]
    assert item.get("Event") == "Status"
    assert item.getall("Variable") == ["FOO=bar", "NOPE="]
    assert messages[2].get("Event") == "StatusComplete" and messages[2].get("Items") == "1"
    [m] = call(client, Action="Status", Channel="Test/none-1")
    assert m.get("Response") == "Error" and m.get("Message") == "No such channel"


def test_hangup_by_name_and_regex(env):
    pbx, module, tech, client = env
    a = liveCall(pbx, tech)
    b = liveCall(pbx, tech)
    client.read()
    [m] = responses(call(client, Action="Hangup", Channel=a.name, Cause="17", ActionID="h"))
    assert m.get("Message") == "Channel Hungup" and m.actionID == "h"
    pbx.reactor.advance(0.1)
    assert a.name not in pbx.channels
    [hangup] = [e for e in pbx.eventLog if e.name == "Hangup" and e.get("Channel") == a.name]
    assert hangup.get("Cause") == "17"
    client.read()
    messages = [m for m in call(client, Action="Hangup", Channel="/^test/caller/", ActionID="r")
                if m.actionID == "r"]
    assert messages[0].get("EventList") == "start"
    assert byName(messages, "ChannelHungup")[0].get("Channel") == b.name
    assert byName(messages, "ChannelsHungupListComplete")[0].get("ListItems") == "1"
    [m] = call(client, Action="Hangup", Channel="Test/nobody")
    assert m.get("Message") == "No such channel"


def test_originate_async_events(env):
    pbx, module, tech, client = env
    messages = call(client, Action="Originate", Channel="Test/alice", Context="default",
                    Exten="200", Priority="1", Async="yes", ActionID="o1",
                    CallerID='"Bob" <123>', Variable="A=1", Account="acc")
    [ack] = responses(messages)
    assert ack.get("Response") == "Success" and ack.actionID == "o1"
    assert ack.get("Message") == "Originate successfully queued"
    pbx.reactor.advance(1)
    messages += client.read()
    [resp] = byName(messages, "OriginateResponse")
    assert resp.actionID == "o1" and resp.get("Response") == "Success"
    assert resp.get("Reason") == "4"
    assert byName(messages, "Newchannel")
    pbx.reactor.advance(10)
    assert byName(client.read(), "Hangup")


def test_originate_sync_failure(env):
    pbx, module, tech, client = env
    client.send(Action="Originate", Channel="Test/busy", Exten="100", Context="default",
                ActionID="o2", Timeout="5000")
    pbx.reactor.advance(6)
    [m] = responses(client.read())
    assert m.get("Response") == "Error" and m.actionID == "o2"
    assert m.get("Message") == "Originate failed"


def test_originate_needs_channel_and_target(env):
    pbx, module, tech, client = env
    [m] = call(client, Action="Originate", Exten="100")
    assert m.get("Message") == "No Channel specified"
    [m] = call(client, Action="Originate", Channel="Test/a")
    assert m.get("Response") == "Error"


def test_redirect_and_extra_channel(env):
    pbx, module, tech, client = env
    a = liveCall(pbx, tech)
    b = liveCall(pbx, tech)
    client.read()
    [m] = call(client, Action="Redirect", Channel=a.name, ExtraChannel=b.name,
               Context="default", Exten="400", Priority="1", ActionID="rd")
    assert m.get("Message") == "Dual Redirect successful" and m.actionID == "rd"
    pbx.reactor.advance(0.5)
    assert (a.exten, b.exten) == ("400", "400")
    [m] = call(client, Action="Redirect", Channel=a.name, Exten="100")
    assert m.get("Message") == "Redirect successful"


def test_getvar_setvar(env):
    pbx, module, tech, client = env
    a = liveCall(pbx, tech)
    client.read()
    [m] = responses(call(client, Action="Setvar", Channel=a.name, Variable="X", Value="42"))
    assert m.get("Message") == "Variable Set"
    client.read()
    [m] = call(client, Action="Getvar", Channel=a.name, Variable="X", ActionID="g")
    assert (m.get("Variable"), m.get("Value"), m.actionID) == ("X", "42", "g")
    [m] = call(client, Action="Setvar", Variable="GLOBALX", Value="g1")
    assert pbx.globals["GLOBALX"] == "g1"
    [m] = call(client, Action="Getvar", Variable="GLOBALX")
    assert m.get("Value") == "g1"
    client.read()
    [m] = responses(call(client, Action="Setvar", Variable="DEVICE_STATE(Custom:lamp)",
                         Value="INUSE"))
    assert m.get("Response") == "Success"
    client.read()
    [m] = call(client, Action="Getvar", Variable="DEVICE_STATE(Custom:lamp)")
    assert m.get("Value") == "INUSE"
    [m] = call(client, Action="Getvar", Variable="NOFUNC(x)")
    assert m.get("Response") == "Error"


def test_play_dtmf_and_send_text(env):
    pbx, module, tech, client = env
    a = liveCall(pbx, tech)
    client.read()
    client.send(Action="PlayDTMF", Channel=a.name, Digit="5", ActionID="d")
    pbx.reactor.advance(1)
    [m] = responses(client.read())
    assert m.get("Message") == "DTMF successfully queued"
    client.read()
    [m] = call(client, Action="SendText", Channel=a.name, Message="hello")
    assert m.get("Response") == "Success"
    [m] = call(client, Action="PlayDTMF", Channel="nope", Digit="1")
    assert m.get("Message") == "No such channel"


def test_command_classic(env):
    pbx, module, tech, client = env
    from pbxcore.console import clicommands

    clicommands.register(pbx.registrar("core"))
    client.send(Action="Command", Command="core show channels", ActionID="cmd")
    raw = client.raw()
    assert raw.startswith(b"Response: Follows\r\nPrivilege: Command\r\nActionID: cmd\r\n")
    assert b"\n0 active channels\n" in raw
    assert raw.endswith(b"--END COMMAND--\r\n\r\n")
    client.send(Action="Command", Command="no such thing")
    assert b"No such command" in client.raw()


def test_command_output_form(tmp_path):
    conf = open(tmp_path / "x", "w")
    conf.close()
    from .managerfakes import CONF

    pbx, module = makeManager(tmp_path, CONF.replace("authlimit = 3",
                                                     "authlimit = 3\ncommandformat = output"))
    from pbxcore.console import clicommands

    clicommands.register(pbx.registrar("core"))
    client = Client(module)
    client.login()
    [m] = call(client, Action="Command", Command="core show uptime seconds", ActionID="c")
    assert m.get("Response") == "Success" and m.actionID == "c"
    assert m.getall("Output")[0].startswith("System uptime: ")


def test_reload_and_module_actions(env):
    pbx, module, tech, client = env
    [m] = call(client, Action="Reload", Module="manager", ActionID="r")
    assert m.get("Message") == "Module Reloaded." and m.actionID == "r"
    [m] = call(client, Action="ModuleLoad", Module="app_echo", LoadType="unload")
    assert m.get("Message") == "Module unloaded."
    [m] = call(client, Action="ModuleLoad", Module="missing", LoadType="load")
    assert m.get("Response") == "Error" and "missing" in m.get("Message")
    [m] = call(client, Action="ModuleLoad", Module="x", LoadType="bogus")
    assert m.get("Message") == "Incorrect value for LoadType"
    [m] = call(client, Action="ModuleCheck", Module="manager.so")
    assert m.get("Response") == "Success"
    [m] = call(client, Action="ModuleCheck", Module="chan_nothing")
    assert m.get("Message") == "Module not loaded"
    assert ("unload", "app_echo") in pbx.loader.calls


def test_user_event(env):
    pbx, module, tech, client = env
    messages = call(client, Action="UserEvent", UserEvent="Ding", Header1="v1", ActionID="u")
    [ack] = [m for m in messages if m.get("Response")]
    assert ack.get("Message") == "Event Sent"
    [e] = byName(messages, "UserEvent")
    assert e.get("UserEvent") == "Ding" and e.get("Header1") == "v1"
    assert e.get("Privilege") == "user,all"


def test_db_actions(env):
    pbx, module, tech, client = env
    [m] = call(client, Action="DBPut", Family="fam", Key="k", Val="v")
    assert m.get("Message") == "Updated database successfully"
    messages = call(client, Action="DBGet", Family="fam", Key="k", ActionID="db")
    assert [m.actionID for m in messages] == ["db"] * 3
    assert byName(messages, "DBGetResponse")[0].get("Val") == "v"
    assert byName(messages, "DBGetComplete")[0].get("ListItems") == "1"
    [m] = call(client, Action="DBDel", Family="fam", Key="k")
    assert m.get("Message") == "Key deleted successfully"
    [m] = call(client, Action="DBGet", Family="fam", Key="k")
    assert m.get("Message") == "Database entry not found"


def test_extension_state_and_hints(env):
    pbx, module, tech, client = env
    pbx.devicestate.setCustomState("lamp", pbx.devicestate.customState("lamp").__class__.INUSE)
    client.read()
    [m] = call(client, Action="ExtensionState", Exten="300", Context="default", ActionID="x")
    assert (m.get("Hint"), m.get("Status"), m.get("StatusText")) == (
        "Custom:lamp", "1", "InUse")
    messages = call(client, Action="CoreShowHints", ActionID="h")
    [item] = byName(messages, "ExtensionStatus")
    assert item.actionID == "h" and item.get("Exten") == "300"
    assert byName(messages, "CoreShowHintsComplete")[0].get("ListItems") == "1"


def test_wait_event(env):
    pbx, module, tech, client = env
    client.send(Action="WaitEvent", Timeout="5", ActionID="w")
    assert client.read() == []
    pbx.emitEvent("UserEvent", [("UserEvent", "x")], "user")
    messages = client.read()
    assert [m.get("Event") or m.get("Response") for m in messages] == [
        "UserEvent", "Success", "WaitEventComplete"]
    client.send(Action="WaitEvent", Timeout="2")
    pbx.reactor.advance(2)
    assert client.read()[0].get("Message") == "Waiting for Event completed."


def test_event_filtering_by_class(env, tmp_path):
    pbx, module, tech, client = env
    callOnly = Client(module)
    callOnly.login("caller")
    callOnly.read()
    client.read()
    pbx.emitEvent("Reload", [("Module", "x")], "system")
    caller = liveCall(pbx, tech)
    admin = client.read()
    calls = callOnly.read()
    assert byName(admin, "Reload") and not byName(calls, "Reload")
    assert byName(calls, "Newchannel")[0].get("Channel") == caller.name
    assert all(m.get("Privilege", "").startswith("call,") for m in calls)


def test_eventfilter(env):
    pbx, module, tech, client = env
    filtered = Client(module)
    filtered.login("newonly")
    filtered.read()
    tech.inbound(pbx, resource="secret")
    visible = tech.inbound(pbx, resource="open")
    pbx.emitEvent("UserEvent", [("UserEvent", "x")], "user")
    events = filtered.read()
    assert [m.get("Event") for m in events] == ["Newchannel"]
    assert events[0].get("Channel") == visible.name


def test_timestampevents(tmp_path):
    from .managerfakes import CONF

    pbx, module = makeManager(tmp_path, CONF.replace("authlimit = 3",
                                                     "timestampevents = yes"))
    client = Client(module)
    client.login()
    pbx.emitEvent("UserEvent", [("UserEvent", "x")], "user")
    [e] = client.read()
    assert float(e.get("Timestamp")) > 0


def test_reload_swaps_users_and_keeps_old_on_error(tmp_path):
    pbx, module = makeManager(tmp_path)
    from .managerfakes import CONF

    (tmp_path / "manager.conf").write_text(CONF.replace("secret = pw\ndeny", "secret = new\ndeny"))
    module.reload(pbx)
    client = Client(module)
    client.login("admin", "new")
    (tmp_path / "manager.conf").write_text("[general]\nport = nope\n")
    from pbxcore.config import ConfigError

    with pytest.raises(ConfigError) as info:
        module.reload(pbx)
    assert "manager.conf:2" in str(info.value)
    assert module.factory.settings.user("admin").secret == "new"


def test_disabled_declines(tmp_path):
    from pbxcore.errors import ModuleDeclined
    from pbxcore.manager.module import ManagerModule
    from pbxcore.testing import FakePBX

    (tmp_path / "manager.conf").write_text("[general]\nenabled = no\n")
    pbx = FakePBX(configDir=str(tmp_path))
    with pytest.raises(ModuleDeclined):
        pbx.loadModule(ManagerModule(), "manager")


def test_channel_state_values(env):
    pbx, module, tech, client = env
    caller = liveCall(pbx, tech)
    assert caller.state == ChannelState.UP
