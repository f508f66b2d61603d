"""pbx_config: loading extensions.conf, [globals], atomic reload, console commands."""

import textwrap

import pytest
from zope.interface.verify import verifyObject

from pbxcore.config import ConfigError
from pbxcore.errors import CLIUsageError
from pbxcore.interfaces import ICLICommand, IModule
from pbxcore.testing import FakePBX
from plugins import func_strings
from plugins.pbx_config import PBXConfigModule

GOOD = """
[general]
clearglobalvars = {clear}

[globals]
A = 1
B = ${{A}}2
C = ${{LEN(${{B}})}}

[default]
exten => 100,1,NoOp(first)
 same => n,Hangup()
exten => _2XX,1,NoOp(pattern)
include => other

[other]
exten => 300,1,NoOp(other)
"""


def write(tmp_path, text):
    (tmp_path / "extensions.conf").write_text(textwrap.dedent(text))


@pytest.fixture
def loaded(tmp_path):
    write(tmp_path, GOOD.format(clear="no"))
    pbx = FakePBX(configDir=str(tmp_path))
    pbx.loadModule(func_strings.FuncStringsModule(), "func_strings")
    module = PBXConfigModule()
    verifyObject(IModule, module)
    pbx.loadModule(module, "pbx_config")
    return pbx, module


def command(pbx, name):
    cmd = pbx.registry("clicommand").get(name)
    verifyObject(ICLICommand, cmd)
    return cmd


def test_load(loaded):
    pbx, _ = loaded
    assert pbx.dialplan.find("default", "100", 2).app == "Hangup"
    assert pbx.dialplan.find("default", "300", 1).data == "other"
    assert pbx.globals == {"A": "1", "B": "12", "C": "2"}


def test_missingFileGivesAnEmptyDialplan(tmp_path):
    pbx = FakePBX(configDir=str(tmp_path))
    pbx.loadModule(PBXConfigModule(), "pbx_config")
    assert pbx.dialplan.contextNames() == []
    assert pbx.dialplan.find("default", "s", 1) is None


def test_badFileAtLoad(tmp_path):
    # A file Asterisk's config reader gives up on: pbx_config declines.
    write(tmp_path, "[default]\nexten => 100,1,NoOp()\n[broken\n")
    pbx = FakePBX(configDir=str(tmp_path))
    with pytest.raises(ConfigError) as info:
        pbx.loadModule(PBXConfigModule(), "pbx_config")
    assert info.value.line == 3
    assert info.value.filename.endswith("extensions.conf")
    assert "no closing ']'" in info.value.message


def test_lineAsteriskWarnsAboutLoadsWithTheWarning(tmp_path):
    # Before issue 20 an unknown label refused the file; Asterisk warns and goes on.
    write(tmp_path, "[default]\nexten => 100,x,NoOp()\nexten => 100,1,NoOp(ok)\n")
    pbx = FakePBX(configDir=str(tmp_path))
    pbx.loadModule(PBXConfigModule(), "pbx_config")
    assert pbx.dialplan.find("default", "100", 1).data == "ok"
    (where, line, message), = pbx.dialplan.warnings
    assert (where.endswith("extensions.conf"), line) == (True, 2)
    assert message == "invalid priority/label 'x': line ignored"


def test_reloadSwapsAtomically(loaded, tmp_path):
    pbx, module = loaded
    old = pbx.dialplan
    write(tmp_path, "[default]\nexten => 100,1,NoOp(new)\n")
    module.reload(pbx)
    assert pbx.dialplan is not old
    assert pbx.dialplan.find("default", "100", 1).data == "new"
    # The old object is untouched: a lookup in progress sees a whole dialplan.
    assert old.find("default", "100", 1).data == "first"


def test_reloadErrorKeepsTheOldDialplan(loaded, tmp_path):
    pbx, module = loaded
    old = pbx.dialplan
    globalsBefore = dict(pbx.globals)
    write(tmp_path, "[globals]\nA = 9\n[default]\nexten => 100,1,NoOp()\n#include nowhere.conf\n")
    with pytest.raises(ConfigError) as info:
        module.reload(pbx)
    assert str(info.value).endswith("extensions.conf:5: the file 'nowhere.conf' was listed "
                                    "as a #include but it does not exist")
    assert pbx.dialplan is old
    assert pbx.globals == globalsBefore


def test_globalsKeptUnlessClearglobalvars(loaded, tmp_path):
    pbx, module = loaded
    pbx.globals["RUNTIME"] = "x"
    write(tmp_path, "[globals]\nA = 5\n")
    module.reload(pbx)
    assert pbx.globals == {"A": "5", "B": "12", "C": "2", "RUNTIME": "x"}
    write(tmp_path, "[general]\nclearglobalvars = yes\n[globals]\nA = 6\n")
    module.reload(pbx)
    assert pbx.globals == {"A": "6"}


def test_globalsSeeCurrentValuesWhenKept(loaded, tmp_path):
    pbx, module = loaded
    write(tmp_path, "[globals]\nD = ${A}${B}\n")
    module.reload(pbx)
    assert pbx.globals["D"] == "112"


def test_dialplanShow(loaded):
    pbx, _ = loaded
    show = command(pbx, "dialplan show")
    text = show.execute(pbx, [])
    assert "[ Context 'default' created by 'pbx_config' ]" in text
    assert "[ Context 'other' created by 'pbx_config' ]" in text
    assert text.endswith("-= 3 extensions (4 priorities) in 2 contexts. =-\n")
    one = show.execute(pbx, ["other"])
    assert "'300' =>" in one and "'100'" not in one
    assert show.execute(pbx, ["nowhere"]) == "There is no existence of 'nowhere' context\n"
    exten = show.execute(pbx, ["250@default"])
    assert "'_2XX' =>" in exten and "'100'" not in exten
    assert "no existence of 999@default" in show.execute(pbx, ["999@default"])
    with pytest.raises(CLIUsageError):
        show.execute(pbx, ["a", "b"])


def test_dialplanReloadCommand(loaded, tmp_path):
    pbx, _ = loaded
    reload = command(pbx, "dialplan reload")
    write(tmp_path, "[default]\nexten => 1,1,NoOp(r)\n")
    assert reload.execute(pbx, []) == "Dialplan reloaded.\n"
    assert pbx.dialplan.find("default", "1", 1).data == "r"
    write(tmp_path, "[default]\nexten => 1,1,NoOp(r)\nexten => 1,1,NoOp(again)\n")
    assert reload.execute(pbx, []) == ("Dialplan reloaded with 1 warning (logged; "
                                       "'dialplan check' lists them).\n")
    write(tmp_path, "[default]\nexten => 1,1,NoOp(s)\n[default](nosuchtemplate)\n")
    text = reload.execute(pbx, [])
    assert text.startswith("Dialplan reload failed, the old dialplan stays: ")
    assert ("extensions.conf:3: inheritance requested, but category 'nosuchtemplate' "
            "does not exist") in text
    assert pbx.dialplan.find("default", "1", 1).data == "r"
    with pytest.raises(CLIUsageError):
        reload.execute(pbx, ["x"])


def test_unload(loaded):
    pbx, module = loaded
    module.unload(pbx)
    assert pbx.dialplan is None


def test_sampleConfigurationParses():
    import os

    from pbxcore.config import parseFile
    from pbxcore.dialplan.parser import parseDialplan

    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "etc", "extensions.conf")
    dp = parseDialplan(parseFile(path))
    assert dp.exists("default", "100")


def test_dialplanCheckCommand(loaded, tmp_path):
    pbx, _ = loaded
    check = command(pbx, "dialplan check")
    path = str(tmp_path / "extensions.conf")
    assert check.execute(pbx, []) == f"{path}: 2 contexts, 3 extensions, 0 warnings.\n"
    write(tmp_path, "[default]\nexten => 1,1,NoOp()\nexten => 1,1,NoOp(again)\nnope\n")
    lines = check.execute(pbx, []).splitlines()
    assert lines == [
        f"{path}:4: no '=' (equal sign) in this line: ignored",
        f"{path}:3: unable to register extension '1' priority 1 in [default], already in use "
        f"(at {path}:2): line ignored",
        f"{path}: 1 contexts, 1 extensions, 2 warnings.",
    ]
    # Checking does not load: the running dialplan is the one loaded before.
    assert pbx.dialplan.find("default", "1", 1) is None
    assert pbx.dialplan.find("default", "100", 1).data == "first"
    write(tmp_path, "[default\n")
    assert check.execute(pbx, []).startswith(f"{path}:1: parse error: no closing ']'\n")
    with pytest.raises(CLIUsageError):
        check.execute(pbx, ["x"])
