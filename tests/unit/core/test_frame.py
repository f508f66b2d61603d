"""Frames, states and causes (pure)."""

from pbxcore.frame import (
    ChannelState,
    Control,
    FrameKind,
    HangupCause,
    causeFromName,
    causeText,
    dtmfFrame,
    voiceFrame,
)


def test_causeNumbersAndAliases():
    assert HangupCause.NORMAL_CLEARING == 16
    assert HangupCause.BUSY is HangupCause.USER_BUSY
    assert HangupCause.UNREGISTERED is HangupCause.SUBSCRIBER_ABSENT
    assert HangupCause.CONGESTION == 34
    assert HangupCause.INTERWORKING == 127


def test_causeFromName():
    assert causeFromName("USER_BUSY") is HangupCause.USER_BUSY
    assert causeFromName("busy") is HangupCause.USER_BUSY
    assert causeFromName("21") is HangupCause.CALL_REJECTED
    assert causeFromName("AST_CAUSE_NO_ANSWER") is HangupCause.NO_ANSWER
    assert causeFromName("nonsense") is None
    assert causeFromName("4") is None
    assert causeFromName("") is None


def test_causeText():
    assert causeText(16) == "Normal Clearing"
    assert causeText(17) == "User busy"
    assert causeText(4) == "Unknown"
    assert HangupCause.ANSWERED_ELSEWHERE.text == "Answered elsewhere"


def test_states():
    assert [s.description for s in ChannelState] == [
        "Down", "Rsrvd", "OffHook", "Dialing", "Ring", "Ringing", "Up", "Busy",
        "Dialing Offhook", "Pre-ring"]
    assert ChannelState.UP == 6


def test_controls():
    assert (Control.HANGUP, Control.RINGING, Control.ANSWER, Control.BUSY) == (1, 3, 4, 5)
    assert (Control.CONGESTION, Control.PROGRESS, Control.HOLD, Control.SRCCHANGE) == (8, 14, 16, 26)


def test_voiceFrameDurations():
    f = voiceFrame("ulaw", b"\xff" * 160)
    assert (f.samples, f.durationMs, f.kind) == (160, 20, FrameKind.VOICE)
    f = voiceFrame("slin", b"\x00" * 320)
    assert (f.samples, f.durationMs) == (160, 20)
    d = dtmfFrame("5", durationMs=80)
    assert (d.kind, d.subclass, d.durationMs) == (FrameKind.DTMF_END, "5", 80)
