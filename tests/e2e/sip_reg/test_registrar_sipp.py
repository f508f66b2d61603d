"""
The registrar of a real C{twistd pbx} process, driven by SIPp over UDP:
digest authentication, the answers RFC 3261 asks for, security log lines,
and bindings that survive a restart of the process on the same data.

The PBX runs the shipped C{etc/} (a copy with free ports, L{tests.sample});
only the ACL test needs a peer the sample does not have (see there).
"""

import re

import pytest

from tests.e2e.sip_reg.sipp import freeUDPPort, sipp, variant
from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir
from tests.sample import copySample

# The ACL test needs a phone whose permit excludes loopback: the sample's
# phones all permit 127.0.0.0/8, so this one configuration is the test's own.
ACL_SIP_CONF = """\
[general]
realm = txpbx
udpbindaddr = 127.0.0.1:0

[1002]
type = friend
host = dynamic
secret = pw1002
deny = 0.0.0.0/0
permit = 10.0.0.0/8
"""

MODULES = "[modules]\nautoload = no\nload => chan_sip\n"
SECRET = "change-me-1001"  # etc/sip.conf


def startPBX(etc):
    pbx = PBXProcess(etc).start()
    pbx.waitBooted()
    port = int(pbx.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)").group(1))
    return pbx, port


@pytest.fixture(scope="module")
def pbx():
    etc, _ = copySample()
    process, port = startPBX(etc)
    process.port = port
    process.etc = etc
    process.phonePort = freeUDPPort()  # one Contact for every run against this PBX
    yield process
    process.stop()
    cleanup(etc)


def ok(result):
    code, output = result
    assert code == 0, output
    return output


def test_register_then_binding_listed(pbx):
    output = ok(sipp("register_auth.xml", pbx.port, "1001", SECRET, localPort=pbx.phonePort))
    assert "Successful call" in output
    pbx.waitFor(r"Registered SIP '1001' at udp:127\.0\.0\.1:\d+")


def test_wrong_password_and_unknown_user_get_401_again(pbx):
    def again():
        return variant(401, ["Contact: <sip:[service]@[local_ip]:[local_port]>", "Expires: 300"],
                       [("WWW-Authenticate: Digest", None, False)])

    ok(sipp(again(), pbx.port, "1001", "wrong"))
    line = pbx.waitFor(r'SecurityEvent="InvalidPassword".*').group(0)
    assert 'AccountID="1001"' in line
    assert re.search(r'RemoteAddress="IPV4/UDP/127\.0\.0\.1/\d+"', line), line
    ok(sipp(again(), pbx.port, "nosuchuser", "whatever"))
    line = pbx.waitFor(r'SecurityEvent="InvalidAccountID".*AccountID="nosuchuser".*').group(0)
    assert re.search(r'RemoteAddress="IPV4/UDP/127\.0\.0\.1/\d+"', line), line


def test_unregister_with_expires_zero(pbx):
    ok(sipp("register_auth.xml", pbx.port, "1001", SECRET, localPort=pbx.phonePort))
    gone = variant(200, ["Contact: <sip:[service]@[local_ip]:[local_port]>", "Expires: 0"],
                   [("Contact:", None, True), ("GMT", "Date:", False)])
    ok(sipp(gone, pbx.port, "1001", SECRET, localPort=pbx.phonePort))


def test_star_without_expires_zero_is_400(pbx):
    bad = variant(400, ["Contact: *"])
    ok(sipp(bad, pbx.port, "1001", SECRET, localPort=pbx.phonePort))


def test_too_brief_is_423_with_min_expires(pbx):
    brief = variant(423, ["Contact: <sip:[service]@[local_ip]:[local_port]>", "Expires: 5"],
                    [("^ *60", "Min-Expires:", False)])
    ok(sipp(brief, pbx.port, "1001", SECRET, localPort=pbx.phonePort))


def test_source_outside_permit_is_refused_and_logged():
    etc = makeConfigDir({"sip.conf": ACL_SIP_CONF, "modules.conf": MODULES})
    pbx, port = startPBX(etc)
    try:
        refused = variant(403, ["Contact: <sip:[service]@[local_ip]:[local_port]>", "Expires: 300"])
        ok(sipp(refused, port, "1002", "pw1002", localPort=freeUDPPort()))
        line = pbx.waitFor(r'SecurityEvent="FailedACL".*AccountID="1002".*').group(0)
        assert re.search(r'RemoteAddress="IPV4/UDP/127\.0\.0\.1/\d+"', line), line
    finally:
        pbx.stop()
        cleanup(etc)


def test_binding_survives_restart():
    etc, _ = copySample()
    try:
        first, port = startPBX(etc)
        phonePort = freeUDPPort()
        try:
            ok(sipp("register_auth.xml", port, "1001", SECRET, localPort=phonePort))
            first.waitFor(r"Registered SIP '1001'")
        finally:
            assert first.stop() == 0, first.output
        second, port = startPBX(etc)
        try:
            second.waitFor(r"SIP registrar: 1 bindings restored")
            # A REGISTER without Contact is a query: the 200 lists the stored binding.
            query = variant(200, ["Expires: 300"],
                            [(r"<sip:1001@127\.0\.0\.1:[0-9]+>;expires=[0-9]+", "Contact:", False)])
            ok(sipp(query, port, "1001", SECRET, localPort=phonePort))
        finally:
            assert second.stop() == 0, second.output
    finally:
        cleanup(etc)


def test_sighup_reload_keeps_bindings():
    import os
    import signal

    etc, _ = copySample()
    try:
        pbx, port = startPBX(etc)
        phonePort = freeUDPPort()
        try:
            ok(sipp("register_auth.xml", port, "1001", SECRET, localPort=phonePort))
            with open(os.path.join(etc, "sip.conf")) as f:
                shipped = f.read()
            with open(os.path.join(etc, "sip.conf"), "w") as f:
                f.write(shipped.replace(f"secret = {SECRET}", "secret = newpw"))
            pbx.process.send_signal(signal.SIGHUP)
            pbx.waitFor(r"sip\.conf reloaded")
            query = variant(200, ["Expires: 300"],
                            [(r"<sip:1001@127\.0\.0\.1:[0-9]+>;expires=[0-9]+", "Contact:", False)])
            ok(sipp(query, port, "1001", "newpw", localPort=phonePort))
            # A bad file is refused with file:line and the running configuration stays.
            with open(os.path.join(etc, "sip.conf"), "w") as f:
                f.write(shipped + "\n[badpeer]\ntype = friend\ndtmfmode = smoke\n")
            pbx.process.send_signal(signal.SIGHUP)
            pbx.waitFor(r"old configuration kept: .*sip\.conf:\d+: dtmfmode")
            ok(sipp("register_auth.xml", port, "1001", "newpw", localPort=phonePort))
        finally:
            assert pbx.stop() == 0, pbx.output
    finally:
        cleanup(etc)
