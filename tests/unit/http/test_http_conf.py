"""http.conf parsing (pure): Asterisk's keys, defaults, and file:line errors."""

import os

import pytest

from pbxcore.config import ConfigError, parseText
from pbxcore.http.config import HTTPSettings, fromConfig
from pbxcore.http.uri import HTTPURI

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def parse(text, configDir=None):
    return fromConfig(parseText(text, "http.conf"), configDir)


def test_defaults_are_asterisks():
    s = parse("[general]\n")
    assert s == HTTPSettings()
    assert (s.enabled, s.bindPort, s.tlsBindPort, s.sessionLimit) == (False, 8088, 8089, 100)


def test_sample_enables_loopback_8088():
    from pbxcore.http.config import loadHTTPConf

    s = loadHTTPConf(os.path.join(ROOT, "etc"))
    assert (s.enabled, s.bindAddr, s.bindPort, s.tlsEnable) == (True, "127.0.0.1", 8088, False)


def test_every_key():
    s = parse("[general]\nenabled = yes\nbindaddr = ::1\nbindport = 0\nprefix = /asterisk/\n"
              "sessionlimit = 5\nsession_inactivity = 2500\nservername = PBX\n"
              "tlsbindaddr = [::1]:9443\n[post_mappings]\nuploads = /tmp\n")
    assert (s.bindAddr, s.bindPort, s.prefix, s.sessionLimit) == ("::1", 0, "asterisk", 5)
    assert (s.sessionInactivity, s.serverName) == (2.5, "PBX")
    assert (s.tlsBindAddr, s.tlsBindPort) == ("::1", 9443)
    assert parse("[general]\ntlsbindaddr = 127.0.0.1\n").tlsBindPort == 8089


@pytest.mark.parametrize("text, line, words", [
    ("[general]\nenabled = yes\nbindport = http\n", 3, "bindport must be a whole number"),
    ("[general]\nbindport = 70000\n", 2, "bindport must be a whole number"),
    ("[general]\nbindaddr = localhost\n", 2, "bindaddr must be an IP address"),
    ("[general]\nenabled = perhaps\n", 2, "enabled must be yes or no"),
    ("[general]\nsessionlimit = 0\n", 2, "sessionlimit"),
    ("[general]\nbindprot = 80\n", 2, "unknown http.conf option 'bindprot'"),
    ("[general]\ntlsbindaddr = 1.2.3.4:x\n", 2, "bad port"),
    ("[general]\nenabled = yes\ntlsenable = yes\n", 3, "tlsenable = yes needs tlscertfile"),
    ("[general]\nenabled = yes\ntlsenable = yes\ntlscertfile = /nonexistent.pem\n", 4,
     "does not exist"),
])
def test_errors_name_file_and_line(text, line, words):
    with pytest.raises(ConfigError) as e:
        parse(text)
    assert str(e.value).startswith(f"http.conf:{line}: "), str(e.value)
    assert words in str(e.value)


def test_relative_certificate_paths_are_taken_from_the_config_folder(tmp_path):
    (tmp_path / "pbx.pem").write_text("x")
    s = parse("[general]\nenabled = yes\ntlsenable = yes\ntlscertfile = pbx.pem\n",
              str(tmp_path))
    assert s.tlsCertFile == str(tmp_path / "pbx.pem")


def test_uri_paths_are_normalised():
    assert HTTPURI("/ari/", object()).path == "ari"
    assert HTTPURI("static//phone", object()).segments == ("static", "phone")
    for bad in ("", "/", "a/../b"):
        with pytest.raises(ValueError):
            HTTPURI(bad, object())
