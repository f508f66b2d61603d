"""Console dispatch, completion, the core commands and the control protocol on a FakePBX."""

import pytest
from twisted.internet.testing import StringTransport

from pbxcore.console import clicommands
from pbxcore.console.cli import ControlProtocol, socketPath
from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.testing import TestTechnology as ScriptedTechnology

from .managerfakes import Client, makeManager


def run(pbx, line):
    results = []
    clicommands.runCommand(pbx, line).addBoth(results.append)
    assert len(results) == 1, "the command did not finish"
    return results[0]


class Loaded:
    def __init__(self, name):
        self.descriptor = type("D", (), {"name": name, "description": f"The {name} module",
                                         "supportLevel": "core"})()
        self.useCount = 0
        self.status = "Running"


class Loader:
    def __init__(self):
        self.modules = {"manager": Loaded("manager"), "app_echo": Loaded("app_echo")}


@pytest.fixture
def pbx(tmp_path):
    pbx, module = makeManager(tmp_path)
    clicommands.register(pbx.registrar("core"))
    pbx.dialplan = parseDialplan(parseText("[default]\nexten => 100,1,Answer()\n"
                                           " same => n,Wait(30)\n", "extensions.conf"))
    pbx.loader = Loader()
    pbx.module = module
    return pbx


def test_unknown_command(pbx):
    assert run(pbx, "frobnicate now").startswith("No such command 'frobnicate now'")
    assert run(pbx, "   ") == ""


def test_usage_error(pbx):
    assert run(pbx, "core show channels bogus") == (
        "Usage: core show channels [concise|verbose|count]\n")


def test_longest_prefix_and_case(pbx):
    assert run(pbx, "CORE SHOW VERSION").startswith("txpbx ")
    assert "System uptime: 0" in run(pbx, "core show uptime seconds")


def test_core_show_channels_forms(pbx):
    tech = ScriptedTechnology.install(pbx)
    caller = tech.inbound(pbx, exten="100", callerNumber="555")
    pbx.runDialplan(caller)
    pbx.reactor.advance(0.1)
    table = run(pbx, "core show channels")
    header, row = table.splitlines()[:2]
    assert header.split() == ["Channel", "Location", "State", "Application(Data)"]
    assert row.startswith(caller.name[:20]) and "100@default:2" in row and "Up" in row
    assert "1 active channel\n1 active call\n" in table
    concise = run(pbx, "core show channels concise").strip().split("!")
    assert concise[0] == caller.name and concise[1:4] == ["default", "100", "2"]
    assert concise[-1] == caller.uniqueid
    verbose = run(pbx, "core show channels verbose").splitlines()
    assert verbose[0].split()[:4] == ["Channel", "Context", "Extension", "Prio"]
    detail = run(pbx, f"core show channel {caller.name}")
    assert f"UniqueID: {caller.uniqueid}" in detail
    assert run(pbx, "core show channel Nope/1") == "Nope/1 is not a known channel\n"


def test_applications_and_help(pbx):
    apps = run(pbx, "core show applications")
    assert "Answer: Answer a channel if ringing" in apps
    assert apps.rstrip().endswith("Applications Registered =-")
    assert "[Synopsis]" in run(pbx, "core show application wait")
    # Asterisk's layout (help1 in main/cli.c): the command left-aligned in 30 columns.
    assert f"{'core show channels':<30} -- Display information on channels\n" in run(pbx, "help")
    assert run(pbx, "help core show channels").startswith("Usage: core show channels")
    assert "custom functions installed" in run(pbx, "core show functions")
    assert "PBX Core settings" in run(pbx, "core show settings")


def test_module_show(pbx):
    out = run(pbx, "module show like echo")
    assert out.splitlines()[0].split()[:2] == ["Module", "Description"]
    assert "app_echo" in out and "manager" not in out.split("\n", 1)[1]
    assert out.endswith("1 modules loaded\n")


def test_database_commands(pbx):
    assert run(pbx, "database put fam key value") == "Updated database successfully\n"
    assert run(pbx, "database get fam key") == "Value: value\n"
    assert "/fam/key" in run(pbx, "database show")
    assert run(pbx, "database del fam key") == "Database entry removed.\n"


def test_manager_show(pbx):
    client = Client(pbx.module)
    client.login()
    connected = run(pbx, "manager show connected")
    assert "admin" in connected and connected.endswith("1 users connected.\n")
    assert "3 manager users configured." in run(pbx, "manager show users")
    assert "write perm:" in run(pbx, "manager show user admin")
    assert "Originate" in run(pbx, "manager show commands")


def test_completions(pbx):
    assert clicommands.completions(pbx, "co") == ["core"]
    assert "show" in clicommands.completions(pbx, "core ")
    assert clicommands.completions(pbx, "core show chan") == ["channel", "channels"]
    assert clicommands.completions(pbx, "zzz ") == []


def test_control_protocol_answers_in_order(pbx):
    protocol = ControlProtocol(pbx)
    transport = StringTransport()
    protocol.makeConnection(transport)
    for request in (b"x core show version", b"c core show ver", b"x nothing here"):
        protocol.dataReceived(b"%d:%s," % (len(request), request))
    data = transport.value()
    first, rest = data.split(b":", 1)
    assert rest[:int(first)].startswith(b"txpbx ")
    assert b"7:version," in data
    assert b"No such command 'nothing here'" in data


def test_socket_path():
    assert socketPath("/var/run/pbx") == "/var/run/pbx/pbx.ctl"
