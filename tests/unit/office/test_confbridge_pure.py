"""Conference mixing, talker detection, tick deadlines and confbridge.conf (pure)."""

import numpy
import pytest

from pbxcore.config import ConfigError, parseText
from plugins.app_confbridge_config import parseConfBridge
from plugins.app_confbridge_mix import SAMPLES, TalkDetector, mixRoom, tickDeadline


def frame(value):
    return numpy.full(SAMPLES, value, dtype=numpy.int16)


def test_eachHearsEveryoneButThemselves():
    heard = mixRoom({"a": frame(100), "b": frame(20), "c": frame(3)})
    assert int(heard["a"][0]) == 23 and int(heard["b"][0]) == 103 and int(heard["c"][0]) == 120
    assert all(len(v) == SAMPLES for v in heard.values())


def test_silentAndClipped():
    heard = mixRoom({"a": None, "b": frame(30000), "c": frame(30000)})
    assert int(heard["a"][0]) == 32767
    assert int(heard["b"][0]) == 30000
    assert mixRoom({}) == {}


def test_talkDetector():
    detector = TalkDetector(threshold=100, talkingAfter=40, silenceAfter=60)
    assert detector.feed(frame(1000)) is None
    assert detector.feed(frame(1000)) is True
    assert detector.feed(frame(0)) is None and detector.feed(None) is None
    assert detector.feed(frame(0)) is False


def test_ticksDoNotDrift():
    assert tickDeadline(10.0, 50) == pytest.approx(11.0)
    assert tickDeadline(10.0, 50000) == pytest.approx(1010.0)


def test_profiles():
    config = parseConfBridge(parseText(
        "[boss]\ntype = user\nadmin = yes\nmarked = yes\npin = 42\n"
        "[room]\ntype = bridge\nmax_members = 5\n[m]\ntype = menu\n*1 = toggle_mute\n"))
    assert config.users["boss"].admin and config.users["boss"].pin == "42"
    assert config.bridges["room"].max_members == 5
    assert config.menus["m"].keys == {"*1": "toggle_mute"}
    assert "default_user" in config.users


@pytest.mark.parametrize("text, message", [
    ("[x]\ntype = other\n", "confbridge.conf:1: [x]: type must be bridge, user or menu"),
    ("[x]\ntype = bridge\nmax_members = many\n",
     "confbridge.conf:3: max_members: 'many' is not a number"),
    ("[x]\ntype = menu\n*1 = dance\n", "confbridge.conf:3: menu x: unknown action 'dance'"),
])
def test_badConfig(text, message):
    with pytest.raises(ConfigError) as e:
        parseConfBridge(parseText(text, "confbridge.conf"))
    assert str(e.value) == message
