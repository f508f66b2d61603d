"""PlayMF writes MF tone pairs to a channel at real time."""

import pytest

from pbxcore.media import g711
from pbxcore.testing import TestTechnology as ScriptedTechnology
from tests.shell.vm.support import goertzel

from .managerfakes import Client, makeManager


@pytest.fixture
def env(tmp_path):
    pbx, module = makeManager(tmp_path)
    tech = ScriptedTechnology.install(pbx)
    client = Client(module)
    client.login()
    client.read()
    return pbx, tech, client


def ask(client, **fields):
    client.send(ActionID="m", **fields)
    return [m for m in client.read() if m.actionID == "m"]


def test_play_mf(env):
    pbx, tech, client = env
    channel = tech.inbound(pbx)
    [queued] = ask(client, Action="PlayMF", Channel=channel.name, Digit="1", Duration="100")
    assert queued.get("Message") == "MF successfully queued"
    for _ in range(20):
        pbx.reactor.advance(0.02)
    frames = channel.driver.written
    assert len(frames) == 5 + 2  # 100 ms of tone, 50 ms of gap (20 ms frames, at least one)
    tone = g711.decode(frames[0].subclass, b"".join(f.data for f in frames[:5]))
    assert goertzel(tone, 700) > 0.2 and goertzel(tone, 900) > 0.2
    assert goertzel(tone, 1300) < 0.01
    for fields, message in (({"Channel": channel.name}, "No digit specified"),
                            ({"Digit": "1"}, "Channel not specified"),
                            ({"Channel": "Test/none", "Digit": "1"}, "Channel not found"),
                            ({"Channel": channel.name, "Digit": "1", "Duration": "x"},
                             "Could not convert Duration parameter")):
        [error] = ask(client, Action="PlayMF", **fields)
        assert (error.get("Response"), error.get("Message")) == ("Error", message)
