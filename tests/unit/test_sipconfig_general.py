"""sip.conf [general]: transport settings, defaults and file:line errors."""

import pytest

from channels.sip.driver.config import BindAddress, SIPGeneral, parseGeneral, parseHostPort, unknownGeneralKeys
from pbxcore.config import ConfigError, parseText


def general(text):
    return parseGeneral(parseText("[general]\n" + text, "sip.conf"))


def test_defaults():
    g = parseGeneral(parseText("", "sip.conf"))
    assert g == SIPGeneral()
    assert g.udpBind == BindAddress("0.0.0.0", 5060)
    assert g.listenerSpecs() == ["udp:5060:interface=0.0.0.0"]
    assert g.userAgent == "txpbx"
    assert (g.t1min, g.timerT1, g.timerB) == (100, 500, 32000)


def test_bind_forms():
    assert general("udpbindaddr = 127.0.0.1:5070\n").udpBind == BindAddress("127.0.0.1", 5070)
    assert general("udpbindaddr = 127.0.0.1\n").udpBind == BindAddress("127.0.0.1", 5060)
    assert general("udpbindaddr = [::1]:5062\n").udpBind == BindAddress("::1", 5062)
    assert general("udpbindaddr = [::1]\n").udpBind == BindAddress("::1", 5060)
    assert general("bindaddr = 127.0.0.1\nbindport = 5080\n").udpBind == BindAddress("127.0.0.1", 5080)
    assert general("bindport = 5080\n").udpBind == BindAddress("0.0.0.0", 5080)
    g = general("tcpenable = yes\ntcpbindaddr = 127.0.0.1:0\n")
    assert g.tcpEnable and g.tcpBind == BindAddress("127.0.0.1", 0)
    assert general("tlsenable=yes\ntlscertfile=/x.pem\n").tlsBind.port == 5061


def test_listener_specs():
    g = general("udpbindaddr=[::1]:0\ntcpenable=yes\ntcpbindaddr=127.0.0.1\n"
                "tlsenable=yes\ntlsbindaddr=127.0.0.1:5061\ntlscertfile=/c.pem\ntlsprivatekey=/k.pem\n")
    assert g.listenerSpecs() == [
        "udp:0:interface=\\:\\:1",
        "tcp:5060:interface=127.0.0.1",
        "tls:5061:interface=127.0.0.1:certKey=/c.pem:privateKey=/k.pem",
    ]


def test_relative_paths_follow_the_file(tmp_path):
    path = tmp_path / "sip.conf"
    g = parseGeneral(parseText("[general]\ntlscertfile = cert.pem\n", str(path)))
    assert g.tlsCertFile == str(tmp_path / "cert.pem")


def test_timers_and_useragent():
    g = general("t1min = 50\ntimert1 = 200\ntimerb = 4000\nuseragent = PBX one\n")
    assert (g.t1min, g.timerT1, g.timerB, g.userAgent) == (50, 200, 4000, "PBX one")
    assert general("timert1 = 1000\n").timerB == 64000


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("udpbindaddr = example.com\n", 2, "not an IP"),
        ("udpbindaddr = 127.0.0.1:99999\n", 2, "out of range"),
        ("\ntcpbindaddr = [::1\n", 3, "unterminated"),
        ("tcpenable = maybe\n", 2, "yes or no"),
        ("timert1 = fast\n", 2, "milliseconds"),
        ("t1min = 200\ntimert1 = 100\n", 3, "below t1min"),
        ("timerb = 10\n", 2, "below timert1"),
        ("bindport = x\n", 2, "bad port"),
        ("tlsenable = yes\n", 2, "tlscertfile"),
    ],
)
def test_bad_values_name_file_and_line(text, line, words):
    with pytest.raises(ConfigError) as e:
        general(text)
    assert str(e.value).startswith(f"sip.conf:{line}: ")
    assert words in str(e.value)


def test_unknown_keys_are_not_errors():
    g = general("allowguest = no\ncontext = guest\n")
    assert unknownGeneralKeys(g) == ["sip.conf:2: allowguest", "sip.conf:3: context"]


def test_parse_host_port():
    assert parseHostPort("10.0.0.1:1", 5) == ("10.0.0.1", 1)
    assert parseHostPort("::1", 5) == ("::1", 5)
    with pytest.raises(ValueError):
        parseHostPort("[::1]x", 5)
