"""
app_queue's pure parts: the ring strategies, queues.conf and queue_log lines.
"""

import pytest

from pbxcore.config import ConfigError, parseText
from plugins.app_queue_config import parseEmpty, parseMember, parseQueues
from plugins.app_queue_log import logLine, parseLine
from plugins.app_queue_strategy import (
    INUSE,
    NOT_INUSE,
    UNAVAILABLE,
    Member,
    canRing,
    choose,
    isEmpty,
    nextRRPosition,
)


def members(*specs):
    return [Member(f"SIP/{name}", **extra) for name, extra in specs]


def names(chosen):
    return [m.interface for m in chosen]


def test_ringallRingsEveryFreeMemberOfTheLowestPenalty():
    team = members(("a", {}), ("b", {"penalty": 1}), ("c", {}), ("d", {"status": INUSE}))
    assert names(choose("ringall", team, 100, ringinuse=False)) == ["SIP/a", "SIP/c"]
    # The in-use member rings when ringinuse allows it.
    assert names(choose("ringall", team, 100, ringinuse=True)) == ["SIP/a", "SIP/c", "SIP/d"]
    # Once those had their turn, the higher penalty rings.
    assert names(choose("ringall", team, 100, False, tried={"SIP/a", "SIP/c"})) == ["SIP/b"]


def test_leastrecentPicksTheMemberIdleLongest():
    team = members(("a", {"lastcall": 90}), ("b", {"lastcall": 50}), ("c", {"lastcall": 70}))
    assert names(choose("leastrecent", team, 100)) == ["SIP/b"]
    team.append(Member("SIP/new"))  # never called: first
    assert names(choose("leastrecent", team, 100)) == ["SIP/new"]


def test_leastrecentSkipsTheBusyMember():
    team = members(("a", {"status": INUSE}), ("b", {"lastcall": 99, "status": NOT_INUSE}))
    assert names(choose("leastrecent", team, 100, ringinuse=False)) == ["SIP/b"]


def test_fewestcalls():
    team = members(("a", {"calls": 5}), ("b", {"calls": 2}), ("c", {"calls": 3}))
    assert names(choose("fewestcalls", team, 0)) == ["SIP/b"]


def test_linearAlwaysStartsAtTheTop():
    team = members(("a", {}), ("b", {}), ("c", {}))
    assert names(choose("linear", team, 0)) == ["SIP/a"]
    assert names(choose("linear", team, 0, tried={"SIP/a"})) == ["SIP/b"]


def test_rrmemoryGoesOnAfterTheLastAnswer():
    team = members(("a", {}), ("b", {}), ("c", {}))
    rrpos = nextRRPosition(team, team[1])
    assert rrpos == 2
    assert names(choose("rrmemory", team, 0, rrpos=rrpos)) == ["SIP/c"]
    rrpos = nextRRPosition(team, team[2])
    assert rrpos == 0
    assert names(choose("rrmemory", team, 0, rrpos=rrpos)) == ["SIP/a"]


def test_randomAndWrandomUseTheGivenRandomSource():
    team = members(("a", {}), ("b", {}), ("c", {}))
    picks = iter([700, 10, 500])
    assert names(choose("random", team, 0, rand=lambda n: next(picks))) == ["SIP/b"]
    weights = members(("a", {"penalty": 2}), ("b", {}))
    seen = []

    def rand(n):
        seen.append(n)
        return n - 1

    assert names(choose("wrandom", weights, 0, rand=rand)) == ["SIP/b"]
    assert seen == [3000, 1000]


def test_pausedResting_andUnavailableMembersDoNotRing():
    team = members(("a", {"paused": True}), ("b", {"wrapupUntil": 200}),
                   ("c", {"status": UNAVAILABLE}), ("d", {}))
    assert names(choose("ringall", team, 100)) == ["SIP/d"]
    assert canRing(team[1], True, 250)
    assert choose("ringall", team[:3], 100) == []


def test_joinemptyConditions():
    assert isEmpty([], frozenset(), 0) == "nomembers"
    team = members(("a", {"paused": True}), ("b", {"status": UNAVAILABLE}))
    assert isEmpty(team, frozenset(), 0) is None
    assert isEmpty(team, parseEmpty("strict"), 0) == "unavailable"
    assert isEmpty(team, parseEmpty("no"), 0) is None  # b is unavailable, not paused
    assert isEmpty(team, parseEmpty("paused,unavailable"), 0) == "unavailable"
    assert parseEmpty("yes") == frozenset()
    assert parseEmpty("yes", joinempty=False) == frozenset(("penalty", "invalid", "paused"))
    with pytest.raises(ValueError):
        parseEmpty("sometimes")


def test_queuesConf():
    general, queues = parseQueues(parseText(
        "[general]\npersistentmembers = no\n[q]\nstrategy = rrmemory\ntimeout = 20\n"
        "ringinuse = no\nmember => SIP/1001,2,Alice\nmember => Local/5@x,0,,SIP/5\n",
        "queues.conf"))
    assert general == {"persistentmembers": "no"}
    queue = queues["q"]
    assert (queue.strategy, queue.timeout, queue.ringinuse) == ("rrmemory", 20.0, False)
    assert [(m.interface, m.penalty, m.name, m.stateinterface) for m in queue.members] == [
        ("SIP/1001", 2, "Alice", ""), ("Local/5@x", 0, "Local/5@x", "SIP/5")]
    assert parseMember("SIP/1,0,,,yes").ringinuse is True


@pytest.mark.parametrize("text, message", [
    ("[q]\nstrategy = everyone\n", "queues.conf:2: strategy"),
    ("[q]\ntimeout = soon\n", "queues.conf:2: timeout"),
    ("[q]\nmember => 1001\n", "queues.conf:2: member"),
    ("[q]\njoinempty = maybe\n", "queues.conf:2: joinempty"),
])
def test_queuesConfErrorsSayFileAndLine(text, message):
    with pytest.raises(ConfigError) as caught:
        parseQueues(parseText(text, "queues.conf"))
    assert str(caught.value).startswith(message), str(caught.value)


def test_queueLogLines():
    line = logLine(1700000000.7, "1700000000.12", "support", "Bob", "CONNECT", 5, "1700.3", 2)
    assert line == "1700000000|1700000000.12|support|Bob|CONNECT|5|1700.3|2\n"
    assert parseLine(logLine(1, None, None, None, "QUEUESTART")) == [
        "1", "NONE", "NONE", "NONE", "QUEUESTART"]
    assert logLine(1, "u", "q", "a", "PAUSE", "lunch|break").endswith("|PAUSE|lunch_break\n")
