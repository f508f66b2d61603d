"""DB(), DEVICE_STATE(), EXTENSION_STATE(), HINT() and CDR() on fakes."""

import pytest

from pbxcore.store.astdb import AstDB
from pbxcore.store.cdr import CDREngine
from pbxcore.devicestate.engine import DeviceStateEngine
from pbxcore.errors import ReadOnlyFunction
from plugins.func_cdr import CDRFunction, FuncCDRModule
from plugins.func_db import (
    DBDeleteFunction,
    DBExistsFunction,
    DBFunction,
    DBKeysFunction,
    FuncDBModule,
)
from plugins.func_devstate import (
    DeviceStateFunction,
    ExtensionStateFunction,
    FuncDevstateModule,
    HintFunction,
)
from tests.shell.store.fakes import HintDialplan, RecordingRegistrar, StorePBX


class FakeChannel:
    def __init__(self, name="Test/a-00000001", context="default", uniqueid="u1"):
        self.name = name
        self.uniqueid = uniqueid
        self.context = context
        self.variables = {}

    def setVariable(self, name, value):
        self.variables[name] = value

    def getVariable(self, name):
        return self.variables.get(name)


@pytest.fixture
def pbx():
    pbx = StorePBX(astdb=AstDB(None),
                   dialplan=HintDialplan({("default", "1001"): "Custom:1001&Custom:x,Alice",
                                          ("other", "7"): "Custom:seven"}))
    pbx.devicestate = DeviceStateEngine(pbx)
    return pbx


def test_db(pbx):
    chan = FakeChannel()
    db, exists, delete, keys = (DBFunction(pbx), DBExistsFunction(pbx),
                                DBDeleteFunction(pbx), DBKeysFunction(pbx))
    assert db.read(chan, "cid/1001") == ""
    db.write(chan, "cid/1001", "Alice")
    db.write(chan, "cid/sub/1002", "Bob")
    assert db.read(chan, "cid/1001") == "Alice"
    assert pbx.astdb.get("cid", "sub/1002") == "Bob"
    assert exists.read(chan, "cid/1001") == "1"
    assert chan.variables["DB_RESULT"] == "Alice"
    assert exists.read(chan, "cid/none") == "0"
    assert keys.read(chan, "cid") == "1001,sub"
    assert delete.read(chan, "cid/1001") == "Alice"
    assert db.read(chan, "cid/1001") == ""
    assert db.read(chan, "missingslash") == ""
    with pytest.raises(ReadOnlyFunction):
        delete.write(chan, "cid/1001", "x")


def test_devstateFunctions(pbx):
    chan = FakeChannel()
    devstate, extstate, hint = DeviceStateFunction(pbx), ExtensionStateFunction(pbx), HintFunction(pbx)
    assert devstate.read(chan, "Custom:1001") == "UNKNOWN"
    assert extstate.read(chan, "1001") == "NOT_INUSE"
    devstate.write(chan, "Custom:1001", "inuse")
    devstate.write(chan, "Custom:x", "RINGING")
    assert devstate.read(chan, "Custom:1001") == "INUSE"
    assert extstate.read(chan, "1001@default") == "RINGINUSE"
    # EXTENSION_STATE defaults to the 'default' context, HINT to the channel's.
    assert extstate.read(FakeChannel(context="other"), "1001") == "RINGINUSE"
    assert hint.read(FakeChannel(context="other"), "7") == "Custom:seven"
    assert pbx.astdb.get("CustomDevstate", "1001") == "INUSE"
    # Only Custom: devices can be set.
    devstate.write(chan, "SIP/1001", "BUSY")
    assert pbx.astdb.get("CustomDevstate", "SIP/1001") is None
    assert extstate.read(chan, "nohint") == "UNKNOWN"
    assert hint.read(chan, "1001") == "Custom:1001&Custom:x"
    assert hint.read(chan, "1001@default,n") == "Alice"
    assert hint.read(chan, "7@other") == "Custom:seven"
    assert hint.read(chan, "7") == ""


def test_modulesRegister(pbx):
    registrar = RecordingRegistrar()
    for module in (FuncDBModule(), FuncDevstateModule(), FuncCDRModule()):
        module.load(pbx, registrar)
    names = {obj.name for kind, obj in registrar.registered}
    assert names == {"DB", "DB_EXISTS", "DB_DELETE", "DB_KEYS", "DEVICE_STATE",
                     "EXTENSION_STATE", "HINT", "CDR"}
    # They satisfy the registry's interface check.
    for kind, obj in registrar.registered:
        pbx.registry(kind).add(obj)


def test_cdrFunction(tmp_path):
    pbx = StorePBX(configDir=str(tmp_path), dataDir=str(tmp_path))
    engine = CDREngine(pbx, str(tmp_path / "cdr.sqlite3"))
    pbx.cdr = engine
    engine.builder.feed(_event("Newchannel", Channel="Test/a-00000001", Uniqueid="u1",
                               CallerIDNum="100", Exten="s", Context="default"))
    chan = FakeChannel()
    cdr = CDRFunction(pbx)
    assert cdr.read(chan, "src") == "100"
    assert cdr.read(chan, "disposition") == ""
    cdr.write(chan, "userfield", "vip")
    cdr.write(chan, "amaflags", "billing")
    cdr.write(chan, "src", "nope")
    record = engine.recordFor(chan)
    assert (record.userfield, record.amaflags, record.src) == ("vip", "BILLING", "100")
    assert cdr.read(chan, "userfield") == "vip"
    chan.variables["myvar"] = "x"
    assert cdr.read(chan, "myvar") == "x"
    assert cdr.read(FakeChannel("Test/none-1", uniqueid="u9"), "src") == ""


def _event(name, **fields):
    from pbxcore.events import Event, normalizeFields

    return Event(name, normalizeFields(fields), "call", 1.0)
