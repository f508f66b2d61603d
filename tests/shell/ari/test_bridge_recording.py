"""The bridge recording's mix of two legs, on a fake clock."""

import os
from array import array
from types import SimpleNamespace

from twisted.internet.task import Clock

from pbxcore.frame import voiceFrame
from pbxcore.media import g711
from plugins.res_ari_media import BridgeRecording


def recording(tmp_path, finished):
    core = SimpleNamespace(reactor=Clock(), recordingFinished=finished.append,
                           pbx=SimpleNamespace(settings=SimpleNamespace(spoolDir=str(tmp_path))))
    return BridgeRecording(core, "mix", "sln", "bridge:b", 0, "none", "overwrite")


def slin(value, count=160):
    return array("h", [value] * count).tobytes()


def test_two_legs_are_summed_and_clipped(tmp_path):
    finished = []
    rec = recording(tmp_path, finished)
    rec.legFrame("a", voiceFrame("slin", slin(1000)))
    assert len(rec.audio) == 0  # waits for the other leg
    rec.legFrame("b", voiceFrame("slin", slin(-300)))
    rec.legFrame("a", voiceFrame("slin", slin(30000)))
    rec.legFrame("b", voiceFrame("slin", slin(30000)))
    rec.finish()
    samples = array("h", open(os.path.join(str(tmp_path), "recording", "mix.sln"), "rb").read())
    assert list(samples[:160]) == [700] * 160 and list(samples[160:]) == [32767] * 160
    assert finished == [rec] and rec.state == "done"


def test_a_silent_leg_does_not_hold_the_other_back(tmp_path):
    rec = recording(tmp_path, [])
    rec.legFrame("b", voiceFrame("slin", slin(0)))  # b spoke once, then went quiet
    del rec.legs["b"][:]
    for _ in range(3):
        rec.legFrame("a", voiceFrame("ulaw", g711.encode("ulaw", slin(2000))))
    assert len(rec.audio) >= 2 * 160 * 2  # mixed against silence, two frames behind at most
