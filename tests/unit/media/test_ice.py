"""The ICE-lite agent answers checks as RFC 8445 wants and latches media. Pure."""

import os

from pbxcore.media.ice import IceLiteAgent, randomIceString
from pbxcore.media.stun import (
    BINDING, ERROR, ERROR_CODE, ICE_CONTROLLING, PRIORITY, REQUEST, SUCCESS, USE_CANDIDATE,
    USERNAME, STUNMessage, parseSTUN,
)


def check(agent, remoteUfrag="rem1", password=None, nominate=False, username=None):
    attributes = [(USERNAME, (username or f"{agent.localUfrag}:{remoteUfrag}").encode()),
                  (PRIORITY, b"\x6e\x00\x01\xff"), (ICE_CONTROLLING, os.urandom(8))]
    if nominate:
        attributes.append((USE_CANDIDATE, b""))
    key = (password or agent.localPwd).encode()
    return STUNMessage(BINDING, REQUEST, os.urandom(12), tuple(attributes)).toBytes(key, True)


def test_answers_a_check_and_latches_the_nominated_pair():
    agent = IceLiteAgent()
    agent.setRemote("rem1", "remotepassword0123456789")
    first = agent.receive(check(agent), ("192.0.2.7", 5000))
    assert first.valid and not first.nominated
    response = parseSTUN(first.response)
    assert (response.method, response.cls) == (BINDING, SUCCESS)
    assert response.xorMappedAddress == ("192.0.2.7", 5000)
    assert response.checkIntegrity(agent.localPwd.encode()) and response.checkFingerprint()
    assert agent.selected == ("192.0.2.7", 5000)
    nominated = agent.receive(check(agent, nominate=True), ("192.0.2.8", 6000))
    assert nominated.nominated and agent.selected == ("192.0.2.8", 6000) and agent.nominated
    # A later check without USE-CANDIDATE does not move the latch.
    agent.receive(check(agent), ("192.0.2.9", 7000))
    assert agent.selected == ("192.0.2.8", 6000)
    assert agent.checks == 3


def test_wrong_password_gets_401_and_no_latch():
    agent = IceLiteAgent()
    result = agent.receive(check(agent, password="not-the-password-at-all"), ("192.0.2.7", 5000))
    response = parseSTUN(result.response)
    assert response.cls == ERROR and response.get(ERROR_CODE)[2:4] == bytes([4, 1])
    assert response.checkFingerprint()
    assert agent.selected is None and agent.refused == 1


def test_wrong_username_gets_400():
    agent = IceLiteAgent()
    agent.setRemote("rem1", "x" * 22)
    for username in ("nobody:rem1", f"{agent.localUfrag}:other", ""):
        response = parseSTUN(agent.receive(check(agent, username=username or ":"), ("::1", 1)).response)
        assert response.get(ERROR_CODE)[2:4] == bytes([4, 0])
    assert agent.selected is None


def test_garbage_and_responses_need_no_answer():
    agent = IceLiteAgent()
    assert agent.receive(b"\x00\x01\x00", ("::1", 1)).response is None
    success = STUNMessage(BINDING, SUCCESS, os.urandom(12)).toBytes()
    assert agent.receive(success, ("::1", 1)).response is None


def test_ice_restart_clears_the_latch():
    agent = IceLiteAgent()
    agent.setRemote("rem1", "x" * 22)
    agent.receive(check(agent, nominate=True), ("192.0.2.7", 5000))
    agent.setRemote("rem2", "y" * 22)
    assert agent.selected is None


def test_credentials_are_ice_chars():
    agent = IceLiteAgent()
    assert len(agent.localUfrag) >= 4 and len(agent.localPwd) >= 22
    assert set(randomIceString(64)) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
