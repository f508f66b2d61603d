"""The brute-force guard (pure): counts, blocks, back-off, exemptions, bounds."""

import ipaddress

import pytest

from pbxcore.guard import AuthGuard, GuardSettings, parseGuardKey


def guard(**kw):
    return AuthGuard(GuardSettings(**{"failures": 3, "window": 60.0, "blockTime": 10.0,
                                      "maxBlockTime": 25.0, **kw}))


def test_blockAfterNFailuresInTheWindow():
    g = guard()
    assert g.failed("192.0.2.1", "1001", 0.0) is None
    assert g.failed("192.0.2.1", "1001", 1.0) is None
    assert not g.isBlocked("192.0.2.1", 1.5)
    block = g.failed("192.0.2.1", "1002", 2.0)
    assert block is not None and block.until == 12.0 and block.accounts == ("1001", "1002")
    assert g.isBlocked("192.0.2.1", 11.9)
    assert not g.isBlocked("192.0.2.2", 5.0)
    assert not g.isBlocked("192.0.2.1", 12.0)


def test_failuresOutsideTheWindowDoNotCount():
    g = guard()
    g.failed("h", None, 0.0)
    g.failed("h", None, 1.0)
    assert g.failed("h", None, 100.0) is None


def test_backOffDoublesUpToTheMaximum():
    g = guard()
    durations = []
    now = 0.0
    for _ in range(3):
        for _ in range(3):
            block = g.failed("h", "a", now)
        durations.append(block.until - block.since)
        now = block.until + 1
    assert durations == [10.0, 20.0, 25.0]


def test_failuresWhileBlockedDoNotExtendIt():
    g = guard()
    for t in range(3):
        g.failed("h", None, float(t))
    assert g.failed("h", None, 3.0) is None
    assert g.blocks(3.0)[0].until == 12.0


def test_exemptNeverBlocked():
    g = guard(exempt=(ipaddress.ip_network("10.0.0.0/8"),))
    for t in range(10):
        assert g.failed("10.1.2.3", None, float(t)) is None
    assert not g.isBlocked("10.1.2.3", 5.0)


def test_successClearsTheCountUnblockLifts():
    g = guard()
    g.failed("h", None, 0.0)
    g.failed("h", None, 1.0)
    g.succeeded("h", "a", 2.0)
    assert g.failed("h", None, 3.0) is None
    g.failed("h", None, 4.0)
    assert g.failed("h", None, 5.0) is not None
    assert g.unblock("h") == 1
    assert not g.isBlocked("h", 6.0)
    assert g.unblock(None) == 0


def test_offWithZeroFailures():
    g = guard(failures=0)
    for t in range(20):
        assert g.failed("h", None, float(t)) is None


def test_tablesAreBounded():
    g = AuthGuard(GuardSettings(failures=3), maxEntries=100)
    for i in range(1000):
        g.failed(f"198.51.100.{i % 250}-{i}", f"acct{i}", float(i) / 100)
    assert len(g) <= 100
    assert len(g._accounts) <= 101


def test_accountFailuresAcrossSources():
    g = guard()
    for i in range(5):
        g.failed(f"h{i}", "1001", float(i))
    assert g.accountFailures("1001", 5.0) == 5
    assert g.accountFailures("1001", 100.0) == 0


def test_parseKeys():
    values = {}
    parseGuardKey(values, "authfailures", "5")
    parseGuardKey(values, "authblocktime", "2.5")
    parseGuardKey(values, "authpermit", "192.0.2.0/24")
    settings = GuardSettings(**values)
    assert settings.failures == 5 and settings.blockTime == 2.5 and settings.exempts("192.0.2.9")
    for key, value in (("authfailures", "x"), ("authfailures", "1.5"), ("authblocktime", "-1"),
                       ("authpermit", "nonsense"), ("authblockmax", "nan")):
        with pytest.raises(ValueError):
            parseGuardKey({}, key, value)
