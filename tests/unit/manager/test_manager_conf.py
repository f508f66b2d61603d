"""manager.conf parsing: settings, users, ACLs, classes, eventfilters."""

import pytest

from pbxcore.config import ConfigError
from pbxcore.manager.config import (
    ACL,
    ALL_CLASSES,
    EventFilter,
    formatClasses,
    parseClasses,
    parseManagerConf,
    parseNetwork,
)

SAMPLE = """\
[general]
enabled = yes
port = 6038
bindaddr = 127.0.0.1
tlsenable = no
tlsbindaddr = 127.0.0.1:6039
authtimeout = 5
authlimit = 3
displayconnects = no
timestampevents = yes
commandformat = output

[admin]
secret = s3cret
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call,log
write = all
writetimeout = 500
eventfilter = Event: Newchannel
eventfilter = !Channel: Local/

[Monitor](!)
read = call

[watcher](Monitor)
secret = w
"""


def test_general():
    s = parseManagerConf(SAMPLE)
    assert s.enabled and s.port == 6038 and s.bindAddr == "127.0.0.1"
    assert (s.tlsBindAddr, s.tlsPort) == ("127.0.0.1", 6039)
    assert s.authTimeout == 5 and s.authLimit == 3
    assert not s.displayConnects and s.timestampEvents
    assert s.commandFormat == "output"


def test_defaults():
    s = parseManagerConf("[general]\nenabled=yes\n")
    assert s.port == 5038 and s.bindAddr == "0.0.0.0"
    assert s.authTimeout == 30 and s.authLimit == 50
    assert s.commandFormat == "classic" and not s.timestampEvents
    assert parseManagerConf("").enabled is False


def test_users_case_insensitive_and_templates():
    s = parseManagerConf(SAMPLE)
    admin = s.user("ADMIN")
    assert admin.username == "admin" and admin.secret == "s3cret"
    assert admin.readClasses == {"system", "call", "log"}
    assert admin.writeClasses == ALL_CLASSES
    assert admin.writeTimeout == 0.5
    watcher = s.user("watcher")
    assert watcher.readClasses == {"call"} and watcher.secret == "w"
    assert s.user("monitor") is None
    assert s.user(None) is None


def test_acl_last_match_wins():
    s = parseManagerConf(SAMPLE)
    acl = s.user("admin").acl
    assert acl.allows("127.0.0.1")
    assert not acl.allows("127.0.0.2")
    assert not acl.allows("10.0.0.1")
    assert acl.allows("::ffff:127.0.0.1")
    assert ACL().allows("192.0.2.1")


def test_acl_permit_then_deny():
    s = parseManagerConf("[u]\npermit=10.0.0.0/8\ndeny=10.1.0.0/16\n")
    acl = s.user("u").acl
    assert acl.allows("10.2.3.4") and not acl.allows("10.1.2.3")
    assert acl.allows("192.0.2.1")  # no rule matches: allowed


def test_network_forms():
    assert str(parseNetwork("192.168.1.5/255.255.255.0")) == "192.168.1.0/24"
    assert str(parseNetwork("192.168.1.5/24")) == "192.168.1.0/24"
    assert str(parseNetwork("192.168.1.5")) == "192.168.1.5/32"
    assert str(parseNetwork("0.0.0.0/0.0.0.0")) == "0.0.0.0/0"
    with pytest.raises(ValueError):
        parseNetwork("10.0.0.0/255.0.255.0")


def test_classes():
    assert parseClasses("all") == ALL_CLASSES
    assert parseClasses("system, call,bogus") == {"system", "call"}
    assert parseClasses("") == frozenset()
    assert formatClasses({"call", "system"}) == "system,call"


def test_event_filter_semantics():
    text = "Event: Newchannel\r\nChannel: SIP/a-1\r\n"
    local = "Event: Newchannel\r\nChannel: Local/a-1;1\r\n"
    hangup = "Event: Hangup\r\nChannel: SIP/a-1\r\n"
    only = EventFilter.fromStrings(["Event: Newchannel"])
    assert only.passes(text) and not only.passes(hangup)
    deny = EventFilter.fromStrings(["!Channel: Local/"])
    assert deny.passes(text) and deny.passes(hangup) and not deny.passes(local)
    both = EventFilter.fromStrings(["Event: Newchannel", "!Channel: Local/"])
    assert both.passes(text) and not both.passes(local) and not both.passes(hangup)
    assert not EventFilter() and EventFilter().passes(text)


@pytest.mark.parametrize("text, line", [
    ("[general]\nport = abc\n", 2),
    ("[general]\n\nenabled = maybe\n", 3),
    ("[general]\nbindaddr = not-an-ip\n", 2),
    ("[u]\nsecret=x\npermit = 10.0.0.0/33\n", 3),
    ("[u]\neventfilter = !Event: (\n", 2),
    ("[general]\ncommandformat = fancy\n", 2),
    ("[u]\nwritetimeout = 10\n", 2),
])
def test_errors_carry_file_and_line(text, line):
    with pytest.raises(ConfigError) as info:
        parseManagerConf(text, "manager.conf")
    assert info.value.filename == "manager.conf"
    assert info.value.line == line
    assert str(info.value).startswith(f"manager.conf:{line}: ")
