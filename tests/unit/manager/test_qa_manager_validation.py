"""A bad value in manager.conf stops twistd pbx before it starts (file:line)."""

import shutil

import pytest

from pbxcore.config import ConfigError
from pbxcore.settings import validateConfigDir

GOOD = "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n[admin]\nsecret = s\n"


def configDir(tmp_path, manager):
    (tmp_path / "modules.conf").write_text("[modules]\nautoload = yes\n")
    (tmp_path / "manager.conf").write_text(manager)
    return str(tmp_path)


def test_good_manager_conf_passes(tmp_path):
    validateConfigDir(configDir(tmp_path, GOOD))


@pytest.mark.parametrize("bad, line", [
    (GOOD.replace("port = 5038", "port = abc"), 3),
    (GOOD + "permit = notanip/1\n", 8),
])
def test_bad_manager_value_names_file_and_line(tmp_path, bad, line):
    with pytest.raises(ConfigError) as caught:
        validateConfigDir(configDir(tmp_path, bad))
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{tmp_path}/manager.conf:{line}: ")
