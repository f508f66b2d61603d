"""
Call queues with real baresip phones on the shipped etc/ (ports rewritten
only). 1001 is busy on a call to the echo test (100); a caller (a Local
channel the manager originates into 600, with Echo on its other half) waits
in the support queue (ringall, ringinuse = no): only the free agent, 1002,
rings; it answers and hears its own tone come back through the queue. The
same with the sales queue (leastrecent), whose members the manager adds
with QueueAdd. panoramisk (a manager client nobody on this project wrote)
receives the queue events with Asterisk's fields, and queue_log has
Asterisk's lines.

Needs baresip-core (installed by .ci/run) and panoramisk (the test extra).
"""

import asyncio
import os

from tests.ami import PATIENCE
from tests.e2e.office.support import heard, run

CHANNEL_FIELDS = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
                  "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
                  "Exten", "Priority", "Uniqueid", "Linkedid")
MEMBER_FIELDS = ("Queue", "MemberName", "Interface", "StateInterface", "Membership", "Penalty",
                 "CallsTaken", "LastCall", "LastPause", "LoginTime", "InCall", "Status",
                 "Paused", "PausedReason", "Ringinuse", "Wrapuptime")


async def single(office, **fields):
    """One action's one response (panoramisk waits for more after 'Added interface to queue')."""
    return await asyncio.wait_for(office.manager.send_action(fields, as_list=False), PATIENCE)


def queueLog(office):
    path = os.path.join(os.path.dirname(office.etc), "var", "log", "asterisk", "queue_log")
    with open(path) as f:
        return [line.rstrip("\n").split("|") for line in f]


async def busyAlice(office):
    """1001 calls the echo test: its device is in use."""
    alice = office.phones["1001"]
    await alice.dial("100")
    await office.waitFor(lambda: office.event("DeviceStateChange", Device="SIP/1001",
                                              State="INUSE"), "1001 in use")


async def queueCall(office, exten, queue):
    """A caller in C{queue}: answered by 1002, never offered to the busy 1001."""
    bob = office.phones["1002"]
    result = await office.action(Action="Originate", Channel=f"Local/{exten}@default",
                                 Application="Echo", Async="true", CallerID="Caller <5551234>")
    result = result[0] if isinstance(result, list) else result
    assert result.get("Response") == "Success", result
    await office.waitFor(lambda: office.event("AgentConnect", Queue=queue), "AgentConnect")
    joined = office.event("QueueCallerJoin", Queue=queue)[0]
    for name in CHANNEL_FIELDS:
        assert name in joined, (name, joined)
    assert joined["Position"] == "1" and joined["Count"] == "1"
    assert joined["Channel"].startswith(f"Local/{exten}@default-")
    called = office.event("AgentCalled", Queue=queue)
    assert [e["Interface"] for e in called] == ["SIP/1002"], called
    assert called[0]["DestChannel"].startswith("SIP/1002-")
    connect = office.event("AgentConnect", Queue=queue)[0]
    assert connect["Interface"] == "SIP/1002" and connect["DestChannel"].startswith("SIP/1002-")
    assert connect["Channel"] == joined["Channel"]
    assert int(connect["HoldTime"]) >= 0 and "RingTime" in connect
    await office.waitFor(lambda: office.event("QueueCallerLeave", Queue=queue), "caller left")
    leave = office.event("QueueCallerLeave", Queue=queue)[0]
    assert leave["Count"] == "0" and leave["Position"] == "1"
    recordings = len(bob.recordings())
    await asyncio.sleep(3)  # three seconds of talk for the recording
    await bob.command("hangup")
    await office.waitFor(lambda: office.event("AgentComplete", Queue=queue), "AgentComplete")
    complete = office.event("AgentComplete", Queue=queue)[0]
    assert complete["Reason"] == "agent", complete
    assert int(complete["TalkTime"]) >= 2, complete
    assert complete["MemberName"] == connect["MemberName"]
    await office.waitFor(lambda: len(bob.recordings()) > recordings, "1002's call over")
    name, samples = bob.recordings()[-1]
    windows, hits = heard(samples, 700, (1000,))
    assert hits >= 1, f"1002 never heard its tone back through the queue in {name} ({windows} s)"
    lines = queueLog(office)
    events = [(line[2], line[4]) for line in lines]
    assert ("NONE", "QUEUESTART") in events
    for event in ("ENTERQUEUE", "CONNECT", "COMPLETEAGENT"):
        assert (queue, event) in events, (event, lines)
    connectLine = next(line for line in lines if line[4] == "CONNECT")
    assert connectLine[1] == joined["Uniqueid"] and connectLine[3] == connect["MemberName"]
    assert connectLine[6] == connect["DestUniqueid"]


async def ringall(office):
    await busyAlice(office)
    status = await office.action(Action="QueueStatus", Queue="support")
    status = status if isinstance(status, list) else [status]
    members = {m["Location"]: m for m in status if m.get("Event") == "QueueMember"}
    assert set(members) == {"SIP/1001", "SIP/1002"}, status
    assert members["SIP/1001"]["Status"] == "2" and members["SIP/1002"]["Status"] == "1"
    assert members["SIP/1002"]["Name"] == "Bob"
    assert members["SIP/1002"]["Membership"] == "static"
    params = [m for m in status if m.get("Event") == "QueueParams"][0]
    assert params["Strategy"] == "ringall" and params["Calls"] == "0"
    await queueCall(office, "600", "support")
    output = await office.command("queue show support")
    shown = str(output.content) + str(output)
    assert "support has 0 calls (max unlimited) in 'ringall' strategy" in shown, shown
    assert "Bob (SIP/1002) (ringinuse disabled) (Not in use) has taken 1 calls" in shown, shown
    summary = await office.action(Action="QueueSummary", Queue="support")
    summary = summary if isinstance(summary, list) else [summary]
    row = [m for m in summary if m.get("Event") == "QueueSummary"][0]
    assert row["Queue"] == "support" and row["Callers"] == "0"


def test_ringallConnectsTheFreeAgent():
    run(ringall, "1001", "1002")


async def leastrecent(office):
    for interface in ("SIP/1001", "SIP/1002"):
        result = await single(office, Action="QueueAdd", Queue="sales", Interface=interface)
        assert result.get("Response") == "Success", result
    await office.waitFor(lambda: len(office.event("QueueMemberAdded", Queue="sales")) == 2,
                         "QueueMemberAdded")
    added = office.event("QueueMemberAdded", Queue="sales")
    for name in MEMBER_FIELDS:
        assert name in added[0], (name, added[0])
    assert added[0]["Membership"] == "dynamic" and added[0]["Interface"] == "SIP/1001"
    again = await single(office, Action="QueueAdd", Queue="sales", Interface="SIP/1001")
    assert again.get("Response") == "Error", again
    nowhere = await single(office, Action="QueueAdd", Queue="nosuch", Interface="SIP/1001")
    assert nowhere.get("Response") == "Error", nowhere
    await busyAlice(office)
    await office.waitFor(lambda: office.event("QueueMemberStatus", Queue="sales",
                                              Interface="SIP/1001", Status="2"),
                         "QueueMemberStatus of the busy 1001")
    await queueCall(office, "601", "sales")
    paused = await single(office, Action="QueuePause", Queue="sales", Interface="SIP/1002",
                                 Paused="true", Reason="lunch")
    assert paused.get("Response") == "Success", paused
    await office.waitFor(lambda: office.event("QueueMemberPause", Interface="SIP/1002",
                                              Paused="1", PausedReason="lunch"), "paused")
    removed = await single(office, Action="QueueRemove", Queue="sales", Interface="SIP/1001")
    assert removed.get("Response") == "Success", removed
    await office.waitFor(lambda: office.event("QueueMemberRemoved", Interface="SIP/1001"),
                         "QueueMemberRemoved")
    events = [(line[2], line[3], line[4]) for line in queueLog(office)]
    assert ("sales", "SIP/1002", "PAUSE") in events and ("sales", "SIP/1001", "REMOVEMEMBER") \
        in events, events


def test_leastrecentConnectsTheFreeAgent():
    run(leastrecent, "1001", "1002")
