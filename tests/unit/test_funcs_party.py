"""func_callerid (CALLERID, CONNECTEDLINE), func_channel (CHANNEL), func_hangupcause."""

import pytest
from zope.interface.verify import verifyObject

from pbxcore.channel import Channel
from pbxcore.frame import ChannelState, HangupCause
from pbxcore.interfaces import IApplication, IDialplanFunction
from pbxcore.testing import FakePBX
from plugins import func_callerid, func_channel, func_hangupcause


@pytest.fixture
def pbx():
    return FakePBX()


@pytest.fixture
def channel(pbx):
    c = Channel(pbx, "SIP/alice-00000001", state=ChannelState.RING, context="office",
                exten="100", priority=3, accountcode="acct", uniqueid="1700000000.1")
    c.caller.name, c.caller.number = "Alice", "1001"
    return c


def test_callerIdRead(channel):
    f = func_callerid.CallerIDFunction()
    verifyObject(IDialplanFunction, f)
    assert f.read(channel, "all") == '"Alice" <1001>'
    assert f.read(channel, "name") == "Alice"
    assert f.read(channel, "num") == "1001"
    assert f.read(channel, "number") == "1001"
    assert f.read(channel, "NUM") == "1001"
    assert f.read(channel, "pres") == "allowed_not_screened"
    assert f.read(channel, "bogus") == ""
    assert f.read(None, "num") == ""


def test_callerIdWrite(pbx, channel):
    f = func_callerid.CallerIDFunction()
    f.write(channel, "name", "Bob")
    assert channel.caller.name == "Bob"
    f.write(channel, "num", "2002")
    assert (channel.caller.name, channel.caller.number) == ("Bob", "2002")
    f.write(channel, "all", '"Carol Smith" <3003>')
    assert (channel.caller.name, channel.caller.number) == ("Carol Smith", "3003")
    f.write(channel, "all", "4004")
    assert (channel.caller.name, channel.caller.number) == ("", "4004")
    f.write(channel, "ani", "5005")
    assert f.read(channel, "ani") == "5005"
    f.write(channel, "dnid", "6006")
    assert f.read(channel, "dnid") == "6006"
    assert len(pbx.eventsNamed("NewCallerid")) == 4
    with pytest.raises(ValueError):
        f.write(channel, "bogus", "x")


def test_callerIdAllFormatting():
    assert func_callerid.formatAll("A", "1") == '"A" <1>'
    assert func_callerid.formatAll("", "1") == "1"
    assert func_callerid.formatAll("A", "") == "A"
    assert func_callerid.formatAll("", "") == ""
    assert func_callerid.parseAll("Bob <22>") == ("Bob", "22")
    assert func_callerid.parseAll('"" <22>') == ("", "22")
    assert func_callerid.parseAll("(555) 123-4567") == ("", "5551234567")
    assert func_callerid.parseAll("Just A Name") == ("Just A Name", "")


def test_connectedLine(channel):
    f = func_callerid.ConnectedLineFunction()
    verifyObject(IDialplanFunction, f)
    assert f.read(channel, "all") == ""
    f.write(channel, "all", '"Desk" <200>')
    assert f.read(channel, "name") == "Desk"
    assert f.read(channel, "num") == "200"
    assert channel.caller.number == "1001"


@pytest.mark.parametrize("item,expected", [
    ("name", "SIP/alice-00000001"),
    ("state", "Ring"),
    ("channeltype", "SIP"),
    ("language", "en"),
    ("accountcode", "acct"),
    ("uniqueid", "1700000000.1"),
    ("linkedid", "1700000000.1"),
    ("context", "office"),
    ("exten", "100"),
    ("priority", "3"),
    ("hangupsource", ""),
    ("amaflags", "DOCUMENTATION"),
    ("peer", ""),
    ("callid", ""),
    ("nonsense", ""),
])
def test_channelRead(channel, item, expected):
    assert func_channel.ChannelFunction().read(channel, item) == expected


def test_channelWrite(channel):
    f = func_channel.ChannelFunction()
    verifyObject(IDialplanFunction, f)
    f.write(channel, "language", "fr")
    assert channel.language == "fr"
    f.write(channel, "accountcode", "x1")
    assert f.read(channel, "accountcode") == "x1"
    f.write(channel, "hangupsource", "SIP/bob-1")
    assert f.read(channel, "hangupsource") == "SIP/bob-1"
    f.write(channel, "amaflags", "billing")
    assert f.read(channel, "amaflags") == "BILLING"
    f.write(channel, "musicclass", "jazz")
    assert f.read(channel, "musicclass") == "jazz"
    with pytest.raises(ValueError):
        f.write(channel, "amaflags", "sometimes")
    with pytest.raises(ValueError):
        f.write(channel, "uniqueid", "x")


def test_channelAsksTheDriver(channel):
    class Driver:
        callid = "abc@host"

        def funcChannelRead(self, channel, item):
            return "rtp-info" if item == "rtpqos" else None

        def funcChannelWrite(self, channel, item, value):
            self.written = (item, value)

    channel.driver = Driver()
    f = func_channel.ChannelFunction()
    assert f.read(channel, "rtpqos") == "rtp-info"
    assert f.read(channel, "callid") == "abc@host"
    f.write(channel, "secure_bridge_media", "1")
    assert channel.driver.written == ("secure_bridge_media", "1")


def test_hangupCause(channel):
    f = func_hangupcause.HangupCauseFunction()
    keys = func_hangupcause.HangupCauseKeysFunction()
    verifyObject(IDialplanFunction, f)
    verifyObject(IDialplanFunction, keys)
    assert keys.read(channel, "") == ""
    func_hangupcause.recordHangupCause(channel, "SIP/bob-00000002", HangupCause.USER_BUSY,
                                       "SIP 486 Busy Here")
    func_hangupcause.recordHangupCause(channel, "SIP/carol-00000003", 19, "SIP 480 Timeout")
    assert keys.read(channel, "") == "SIP/carol-00000003,SIP/bob-00000002"
    assert f.read(channel, "SIP/bob-00000002,tech") == "SIP 486 Busy Here"
    assert f.read(channel, "SIP/bob-00000002,ast") == "17"
    assert f.read(channel, "SIP/nobody,ast") == ""
    with pytest.raises(ValueError):
        f.read(channel, "SIP/bob-00000002,weird")
    with pytest.raises(ValueError):
        f.read(channel, "SIP/bob-00000002")
    app = func_hangupcause.HangupCauseClearApplication()
    verifyObject(IApplication, app)
    app.execute(channel, "")
    assert keys.read(channel, "") == ""


def test_modulesLoad(pbx):
    pbx.loadModule(func_callerid.FuncCallerIDModule())
    pbx.loadModule(func_channel.FuncChannelModule())
    pbx.loadModule(func_hangupcause.FuncHangupCauseModule())
    functions = pbx.registry("function")
    for name in ("CALLERID", "CONNECTEDLINE", "CHANNEL", "HANGUPCAUSE", "HANGUPCAUSE_KEYS"):
        assert name in functions
    assert "HangupCauseClear" in pbx.registry("application")
