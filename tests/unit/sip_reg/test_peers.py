"""sip.conf peers, users, registrar settings and register lines (pure)."""

import pytest

from channels.sip.driver.peers import parseRegisterLine, parseSIPConf, peerFromRow
from pbxcore.config import ConfigError, Entry, parseText


def conf(text):
    return parseSIPConf(parseText(text, "sip.conf"))


def error(text):
    with pytest.raises(ConfigError) as caught:
        conf(text)
    return str(caught.value)


SAMPLE = """\
[general]
context = public
realm = example.net
disallow = all
allow = ulaw,alaw
nat = force_rport
qualifyfreq = 30
minexpiry = 30
maxexpiry = 600
defaultexpiry = 90
maxcontacts = 3
alwaysauthreject = no
deny = 0.0.0.0/0
permit = 10.0.0.0/8
register => tls://7000@example.org:pw:authid@sip.example.org:5071/7000~120

[phones](!)
type = friend
host = dynamic
context = internal
disallow = all
allow = g722
allow = ulaw
qualify = yes
dtmfmode = info

[1001](phones)
secret = s1
callerid = "Alice A" <1001>
call-limit = 2
nat = force_rport,comedia
insecure = port,invite
transport = tcp,udp
deny = 0.0.0.0/0.0.0.0
permit = 192.168.1.0/255.255.255.0
mailbox = 1001@default
subscribecontext = hints
defaultuser = alice
md5secret = 0123456789abcdef0123456789abcdef

[trunk]
type = peer
host = 203.0.113.9:5070
qualify = 250
fromuser = 7000
fromdomain = example.org
"""


def test_sample():
    c = conf(SAMPLE)
    s = c.settings
    assert (s.context, s.realm, s.minexpiry, s.maxexpiry, s.defaultexpiry) == ("public", "example.net", 30, 600, 90)
    assert (s.qualifyfreq, s.maxcontacts, s.alwaysauthreject) == (30, 3, False)
    assert s.acl.allows("10.1.2.3") and not s.acl.allows("192.0.2.1")
    p = c.peer("1001")
    assert (p.type, p.host, p.context, p.secret, p.defaultuser) == ("friend", "dynamic", "internal", "s1", "alice")
    assert p.callerid == ("Alice A", "1001")
    assert p.allow == ["g722", "ulaw"]
    assert p.callLimit == 2 and p.qualify == 2000 and p.qualifyfreq == 30
    assert p.nat == {"force_rport", "comedia"} and p.insecure == {"port", "invite"}
    assert p.transports == ["tcp", "udp"] and p.dtmfmode == "info"
    assert p.acl.allows("192.168.1.20") and not p.acl.allows("192.168.2.1")
    assert (p.mailbox, p.subscribecontext) == ("1001@default", "hints")
    t = c.peer("TRUNK")
    assert (t.type, t.host, t.port, t.qualify, t.fromuser, t.fromdomain) == ("peer", "203.0.113.9", 5070, 250, "7000", "example.org")
    assert t.context == "public" and t.allow == ["ulaw", "alaw"]
    assert "phones" not in c.peers
    [r] = c.registrations
    assert (r.transport, r.user, r.domain, r.secret, r.authuser, r.host, r.port, r.contact, r.expiry) == \
        ("tls", "7000", "example.org", "pw", "authid", "sip.example.org", 5071, "7000", 120)
    assert c.warnings == []


@pytest.mark.parametrize("line, message", [
    ("type = phone", "sip.conf:2: type: expected friend, peer or user"),
    ("qualify = sometimes", "sip.conf:2: qualify"),
    ("nat = always", "sip.conf:2: nat: unknown option 'always'"),
    ("transport = sctp", "sip.conf:2: transport: unknown transport 'sctp'"),
    ("dtmfmode = tones", "sip.conf:2: dtmfmode"),
    ("allow = nosuchcodec", "sip.conf:2: allow: unknown codec 'nosuchcodec'"),
    ("permit = 10.0.0.0/255.0.255.0", "sip.conf:2: permit: netmask"),
    ("call-limit = -1", "sip.conf:2: call-limit"),
    ("md5secret = xyz", "sip.conf:2: md5secret"),
])
def test_bad_values_name_file_and_line(line, message):
    text = "[1001]\n" + line + "\n" + ("type = friend\n" if not line.startswith("type") else "")
    assert error(text).startswith(message)


def test_unknown_keys_warned_with_line():
    c = conf("[general]\nfrobnicate = 1\n[1001]\ntype=friend\nwibble = 2\ndirectmedia = no\n")
    assert c.warnings == [
        "sip.conf:2: unknown key 'frobnicate' in [general] ignored",
        "sip.conf:5: unknown key 'wibble' in [1001] ignored",
    ]
    assert c.peer("1001").extra == {"directmedia": ["no"]}


def test_section_without_type_and_duplicates():
    assert error("[1001]\nhost=dynamic\n") == "sip.conf:1: [1001] has no type= (friend, peer or user)"
    assert "already defined at sip.conf:1" in error("[a]\ntype=peer\n[A]\ntype=peer\n")


def test_general_errors():
    assert error("[general]\nminexpiry = 600\nmaxexpiry = 60\n").startswith("sip.conf:2: minexpiry (600) is above maxexpiry")
    assert error("[general]\nregister => nohost\n").startswith("sip.conf:2: register:")
    assert error("[general]\nauthalgorithms = sha-1\n").startswith("sip.conf:2: authalgorithms")
    assert conf("[general]\nauthalgorithms = md5, SHA-256\n").settings.authAlgorithms == ("MD5", "SHA-256")


def test_register_forms():
    def reg(text):
        return parseRegisterLine(Entry("register", text, "sip.conf", 7, True))

    r = reg("1234:secret@sip.example.com/1234")
    assert (r.user, r.secret, r.host, r.port, r.contact, r.transport) == ("1234", "secret", "sip.example.com", None, "1234", "udp")
    r = reg("trunk?2345:pw@10.0.0.1:5062")
    assert (r.peer, r.user, r.port, r.contact, r.key) == ("trunk", "2345", 5062, "s", "10.0.0.1:5062/2345")
    with pytest.raises(ConfigError, match="sip.conf:7: register: bad port"):
        reg("u:p@host:99999")


def test_realtime_row():
    c = conf("[general]\ncontext = rt\nallow = g722\n")
    p = peerFromRow({"name": "2001", "secret": "x", "host": "dynamic", "permit": "10.0.0.0/8", "deny": "0.0.0.0/0",
                     "call-limit": "3", "ipaddr": "10.0.0.7", "allow": ""}, c.defaults)
    assert p.realtime and p.type == "friend" and p.context == "rt" and p.callLimit == 3
    assert "g722" in p.allow
    assert p.acl.rules  # both lines kept


def test_acl_last_match_wins():
    c = conf("[a]\ntype=friend\npermit = 10.0.0.0/8\ndeny = 10.1.0.0/16\n")
    acl = c.peer("a").acl
    assert acl.allows("10.2.0.1") and not acl.allows("10.1.2.3") and acl.allows("192.0.2.1")
    assert acl.allows("::ffff:10.2.0.1")


def test_authalgorithms_default_general_and_per_peer():
    # Asterisk offers MD5 alone unless authalgorithms asks for more.
    plain = conf("[general]\n[p]\ntype=friend\nsecret=x\n")
    assert plain.settings.authAlgorithms == ("MD5",) and plain.peer("p").authAlgorithms == ("MD5",)
    general = conf("[general]\nauthalgorithms = sha-256,md5\n[p]\ntype=friend\nsecret=x\n[q]\ntype=friend\nsecret=y\nauthalgorithms=md5\n")
    assert general.peer("p").authAlgorithms == ("SHA-256", "MD5")
    assert general.peer("q").authAlgorithms == ("MD5",)
    assert error("[p]\ntype=friend\nauthalgorithms = sha-512\n").startswith("sip.conf:3: authalgorithms")
