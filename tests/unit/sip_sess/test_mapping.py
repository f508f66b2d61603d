"""RFC 3398 mappings, INFO DTMF bodies, dial strings and caller identity."""

import pytest

from channels.sip.wire.parser import parseMessage
from channels.sip.driver.session import causeForStatus, parseDTMFInfo, remoteIdentity, statusForCause
from channels.sip.driver.technology import parseDialString


@pytest.mark.parametrize("status, cause", [
    (486, 17), (600, 17), (480, 18), (408, 102), (404, 1), (503, 34), (603, 21), (488, 65),
    (487, 16), (499, 41), (599, 38), (699, 31),
])
def test_causeForStatus(status, cause):
    assert causeForStatus(status) == cause


@pytest.mark.parametrize("cause, status", [
    (17, 486), (1, 404), (19, 480), (34, 503), (21, 403), (58, 488), (16, 480), (None, 480),
])
def test_statusForCause(cause, status):
    assert statusForCause(cause)[0] == status


@pytest.mark.parametrize("ctype, body, digit, duration", [
    ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", "5", 160),
    ("application/dtmf-relay", b"Signal= 10\nDuration= 250", "*", 250),
    ("application/dtmf-relay", b"Signal=11", "#", 100),
    ("application/dtmf-relay", b"Signal=x", None, 100),
    ("application/dtmf", b"7", "7", 100),
    ("application/dtmf", b"", None, 100),
])
def test_parseDTMFInfo(ctype, body, digit, duration):
    assert parseDTMFInfo(ctype, body) == (digit, duration)


@pytest.mark.parametrize("dest, parsed", [
    ("bob", ("bob", None)), ("bob/100", ("bob", "100")), ("100@bob", ("bob", "100")),
])
def test_parseDialString(dest, parsed):
    assert parseDialString(dest) == parsed


BASE = (
    "INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
    "From: \"From Name\" <sip:fromuser@example.com>;tag=1\r\nTo: <sip:100@pbx>\r\n"
    "Call-ID: c\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
)


@pytest.mark.parametrize("extra, identity", [
    ("", ("From Name", "fromuser")),
    ("Remote-Party-ID: \"RPID\" <sip:rpid@example.com>;party=calling\r\n", ("RPID", "rpid")),
    ("Remote-Party-ID: <sip:rpid@example.com>\r\nP-Asserted-Identity: \"PAI\" <sip:pai@example.com>\r\n",
     ("PAI", "pai")),
])
def test_remoteIdentity(extra, identity):
    assert remoteIdentity(parseMessage(BASE.format(extra=extra).encode())) == identity
