"""
The pure decisions of the bundled SIP supplements: session timer
negotiation and deadlines (RFC 4028), Diversion and History-Info parsing.
"""

from plugins.res_sip_diversion import Redirecting, parseDiversion, parseHistoryInfo
from plugins.res_sip_session_timers import (
    SessionExpires,
    TimerSettings,
    answerInvite,
    deadline,
    parseSessionExpires,
    settingsFrom,
)


def test_parseSessionExpires():
    assert parseSessionExpires("1800;refresher=uac") == SessionExpires(1800, "uac")
    assert parseSessionExpires(" 90 ") == SessionExpires(90, None)
    assert parseSessionExpires("soon") is None
    assert parseSessionExpires("0") is None
    assert parseSessionExpires(None) is None


def test_answerInvite():
    accept = TimerSettings()
    assert answerInvite(accept, SessionExpires(30), None, True) == ("reject", 90)
    assert answerInvite(accept, None, None, True) == ("none", None)
    assert answerInvite(accept, SessionExpires(600, "uac"), None, True) == \
        ("use", SessionExpires(600, "uac"))
    # A caller without timer support cannot be the refresher.
    assert answerInvite(accept, SessionExpires(600, "uac"), None, False) == \
        ("use", SessionExpires(600, "uas"))
    originate = TimerSettings(mode="originate", expires=1800)
    assert answerInvite(originate, None, 2000, False) == ("use", SessionExpires(2000, "uas"))
    assert answerInvite(TimerSettings(mode="refuse"), SessionExpires(30), None, True) == \
        ("none", None)


def test_deadlines():
    assert deadline(100.0, 1800, True) == 1000.0
    assert deadline(100.0, 1800, False) == 100.0 + 1800 - 32
    assert deadline(0.0, 90, False) == 60.0


def test_settingsFromPeerThenGeneral():
    peer = {"session-expires": ["600"]}
    general = {"session-expires": ["1200"], "session-timers": ["originate"],
               "session-minse": ["120"]}
    assert settingsFrom([peer, general]) == TimerSettings("originate", 600, 120, "uas")
    assert settingsFrom([None, {"session-timers": ["bogus"]}]).mode == "accept"


def test_parseDiversion():
    info = parseDiversion(['"Desk" <sip:2000@example.com>;reason=user-busy;counter=2',
                           "<sip:1000@example.com>;reason=unconditional"])
    assert info == Redirecting(fromNumber="2000", fromName="Desk", reason="user-busy", count=2)
    assert parseDiversion(["<sip:2000@h>;reason=whatever"]).reason == "unknown"
    assert parseDiversion([]) is None


def test_parseHistoryInfo():
    info = parseHistoryInfo(["<sip:alice@h>;index=1,<sip:2001@h?Reason=SIP%3Bcause%3D486>;index=1.1"])
    assert info == Redirecting(fromNumber="alice", toNumber="2001", reason="user-busy", count=1)
    info = parseHistoryInfo(["<sip:a@h>;index=1", "<sip:b@h;cause=302>;index=1.1",
                             "<sip:c@h;cause=408>;index=1.1.1"])
    assert (info.fromNumber, info.toNumber, info.reason, info.count) == ("b", "c", "no-answer", 2)
    assert parseHistoryInfo(["<sip:a@h>;index=1"]) is None
