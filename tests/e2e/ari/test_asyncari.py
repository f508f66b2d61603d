"""
ARI with a real client, asyncari (PyPI), against C{twistd -n pbx} on the
shipped etc/: a SIPp phone calls the Stasis extension, the application
answers it, plays a sound, originates a second channel into itself,
bridges the two, sees the caller's RFC 4733 DTMF, and hangs both up.
"""

import os

import anyio
import asyncari

from tests import sipp
from tests.e2e.ari.support import APP, DTMF_PCAP, PASSWORD, SCENARIOS, USER, pbx  # noqa: F401
from tests.e2e.http.support import PATIENCE


class Events:
    """Every event the application receives, and a way to wait for one."""

    def __init__(self):
        self.seen = []
        self.changed = anyio.Event()

    def add(self, message):
        self.seen.append(message)
        changed, self.changed = self.changed, anyio.Event()
        changed.set()

    async def wait(self, predicate, start=0):
        """The first event from index C{start} on for which C{predicate} holds."""
        index = start
        while True:
            while index < len(self.seen):
                message = self.seen[index]
                index += 1
                if predicate(message):
                    return message
            await self.changed.wait()


def channelOf(message):
    return message._get("channel", {}).get("id")


def test_asyncari_drives_a_sipp_call(pbx):  # noqa: F811
    assert os.path.exists(DTMF_PCAP), "sip-tester's RFC 2833 pcap is missing"
    callers = []

    def call():
        # Only once the application is registered: Stasis(demo) fails otherwise.
        callers.append(sipp.spawn(sipp.sippArgs(
            os.path.join(SCENARIOS, "ari_caller.xml"), pbx.sipPort, service="300",
            timeout=PATIENCE)))

    try:
        anyio.run(_application, pbx.base, call)
        sipp.finished(callers[0], "caller", timeout=PATIENCE)
    finally:
        for caller in callers:
            if caller.poll() is None:
                caller.kill()
                caller.wait()


async def _application(base, call):
    events = Events()
    with anyio.fail_after(PATIENCE):  # a liveness bound, not a timing assertion
        async with asyncari.connect(base, APP, USER, PASSWORD) as client:
            async def collect():
                async for message in client:
                    events.add(message)

            client.taskgroup.start_soon(collect)
            call()
            try:
                await _scenario(client, events)
            except BaseException:
                print("events seen:", [(m.type, channelOf(m)) for m in events.seen])
                raise


async def _scenario(client, events):
    start = await events.wait(lambda m: m.type == "StasisStart")
    caller = start.channel
    assert caller.json["name"].startswith("SIP/1001-"), caller.json
    assert start._get("args") == ["1001"]
    await caller.answer()
    await events.wait(lambda m: m.type == "ChannelStateChange" and channelOf(m) == caller.id
                      and m._get("channel")["state"] == "Up")

    playback = await caller.play(media="sound:beep")
    finished = await events.wait(lambda m: m.type == "PlaybackFinished"
                                 and m._get("playback")["id"] == playback.id)
    assert finished._get("playback")["state"] == "done"
    assert finished._get("playback")["target_uri"] == f"channel:{caller.id}"

    second = await client.channels.originate(endpoint="Local/100@default", app=APP,
                                             appArgs="second")
    other = await events.wait(lambda m: m.type == "StasisStart" and channelOf(m) == second.id)
    assert other._get("args") == ["second"]

    bridge = await client.bridges.create(type="mixing")
    await bridge.addChannel(channel=[caller.id, second.id])
    entered = set()
    mark = 0
    while entered != {caller.id, second.id}:
        message = await events.wait(lambda m: m.type == "ChannelEnteredBridge", mark)
        mark = events.seen.index(message) + 1
        entered.add(channelOf(message))
    digit = await events.wait(lambda m: m.type == "ChannelDtmfReceived"
                              and channelOf(m) == caller.id, mark)
    assert digit._get("digit") in "123456789"

    await caller.hangup()
    await second.hangup()
    ended = set()
    while ended != {caller.id, second.id}:
        message = await events.wait(lambda m: m.type == "StasisEnd", mark)
        mark = events.seen.index(message) + 1
        ended.add(channelOf(message))
    await bridge.destroy()
    await events.wait(lambda m: m.type == "BridgeDestroyed"
                      and m._get("bridge")["id"] == bridge.id, mark)
    kinds = {m.type for m in events.seen}
    assert {"ChannelDestroyed", "ChannelLeftBridge", "PlaybackStarted"} <= kinds, kinds
