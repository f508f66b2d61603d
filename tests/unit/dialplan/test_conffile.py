"""extensions.conf read as Asterisk's config.c reads it (pbxcore.dialplan.conffile)."""

import glob
import os

import pytest

from pbxcore.config import ConfigError, parseFile, parseText
from pbxcore.dialplan.conffile import MAX_LINE_BYTES, readConfig, readConfigText

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


def entries(config):
    return [(s.name, [(e.key, e.value, e.line, e.arrow) for e in s.entries])
            for s in config.sections]


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "etc", "*.conf"))))
def test_agreesWithTheStrictReaderOnTheShippedFiles(path):
    config, warnings = readConfig(path, os.path.dirname(path))
    assert warnings == []
    assert entries(config) == entries(parseFile(path))


def test_agreesOnTemplatesAppendsAndComments():
    text = ("[t](!)\nk = 1\n[a](t)\nk => 2 ; c\nk += 3\n;-- x\ny = 1 --;\n"
            "[a](+)\nz = a\\;b\n")
    config, warnings = readConfigText(text, "<string>")
    assert warnings == []
    assert entries(config) == entries(parseText(text))
    assert list(config.templates) == ["t"]


def test_tooLongLineSkippedAsAsteriskDoes():
    long = "exten => 1,1,NoOp(" + "x" * MAX_LINE_BYTES + ")"
    config, warnings = readConfigText(f"[a]\n{long}\nexten => 2,1,NoOp()\n")
    assert [e.value for e in config.sections[0].entries] == ["2,1,NoOp()"]
    assert warnings == [("extensions.conf", 2,
                         "line 2 too long, skipping. It begins with: exten => 1,1,NoOp(xxxxxxxxxxxxxx...")]


def test_lineJustUnderTheLimitIsKept():
    value = "x" * (MAX_LINE_BYTES - 5)
    config, warnings = readConfigText(f"[a]\nk = {value}\n")
    assert warnings == [] and config.sections[0].get("k") == value


def test_templateDefinedTwiceInheritsTheFirst():
    config, warnings = readConfigText("[t](!)\nk = 1\n[t](!)\nk = 2\n[a](t)\n")
    assert config.sections[0].getall("k") == ["1"]
    assert warnings == [("extensions.conf", 3, "[t] is defined again; templates inherit "
                         "from the first, at extensions.conf:1")]


def test_categoryFilterIgnoredWithAWarning():
    config, warnings = readConfigText("[a]\nk = 1\n[a](+type=x)\nk = 2\n")
    assert config.sections[0].getall("k") == ["1", "2"]
    assert "category filter 'type=x' ignored" in warnings[0][2]


def test_escapedFirstCharacterIsAKey():
    config, warnings = readConfigText("[a]\n\\[x] = 1\n")
    assert warnings == [] and config.sections[0].get("[x]") == "1"


def test_directivesAsteriskIgnores():
    config, warnings = readConfigText("[a]\n#exec /bin/true\n#tryexec x\n#include\n#\n")
    assert [w[1:] for w in warnings] == [
        (2, "cannot perform #exec: execincludes is not supported: ignored"),
        (3, "unknown directive '#tryexec': ignored"),
        (4, "directive '#include' needs an argument (filename): ignored"),
        (5, "unknown directive '#': ignored"),
    ]


def test_missingTopLevelFile(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        readConfig(str(tmp_path / "extensions.conf"))


def test_includeOfADirectoryIsRefused(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "extensions.conf").write_text("[a]\n#include sub\n")
    with pytest.raises(ConfigError) as info:
        readConfig(str(tmp_path / "extensions.conf"))
    assert info.value.line == 2 and "'sub' is not a regular file" in info.value.message
