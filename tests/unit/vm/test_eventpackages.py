"""The pure event-package bodies and subscription expiry rules."""

import xml.etree.ElementTree as ET

import pytest

from channels.sip.driver.eventpackages import (
    Remote,
    TooBrief,
    chooseExpiry,
    dialogInfo,
    dialogState,
    messageSummary,
    parseMessageSummary,
    pidf,
    presenceOf,
    subscriptionState,
)
from pbxcore.devicestate.aggregation import ExtensionState as E

DI = "{urn:ietf:params:xml:ns:dialog-info}"
PIDF = "{urn:ietf:params:xml:ns:pidf}"


@pytest.mark.parametrize("state,expected", [
    (E.NOT_INUSE, "terminated"), (E.INUSE, "confirmed"), (E.BUSY, "confirmed"),
    (E.RINGING, "early"), (E.INUSE_RINGING, "early"), (E.ONHOLD, "confirmed"),
    (E.UNAVAILABLE, "terminated"), (E.REMOVED, "terminated"),
])
def test_dialogState(state, expected):
    assert dialogState(int(state)) == expected


def test_dialogStateWithoutNotifyRinging():
    assert dialogState(int(E.RINGING), notifyRinging=False) == "terminated"
    assert dialogState(int(E.INUSE_RINGING), notifyRinging=False) == "confirmed"


def test_dialogInfoDocument():
    body = dialogInfo("sip:1001@pbx", 3, int(E.RINGING), "1001",
                      Remote("sip:2000@pbx", 'Bob "B" <x>'))
    root = ET.fromstring(body)
    assert root.tag == DI + "dialog-info"
    assert root.get("version") == "3"
    assert root.get("state") == "full"
    assert root.get("entity") == "sip:1001@pbx"
    dialog = root.find(DI + "dialog")
    assert dialog.get("id") == "1001"
    assert dialog.get("direction") == "recipient"
    assert dialog.findtext(DI + "state") == "early"
    identity = dialog.find(f"{DI}remote/{DI}identity")
    assert identity.text == "sip:2000@pbx"
    assert identity.get("display") == 'Bob "B" <x>'
    assert dialog.find(f"{DI}local/{DI}target").get("uri") == "sip:1001@pbx"


def test_dialogInfoTerminatedAndHold():
    root = ET.fromstring(dialogInfo("sip:1001@pbx", 0, int(E.NOT_INUSE), "1001",
                                    Remote("sip:2000@pbx")))
    dialog = root.find(DI + "dialog")
    assert dialog.findtext(DI + "state") == "terminated"
    assert dialog.get("direction") is None
    assert dialog.find(DI + "remote") is None
    held = ET.fromstring(dialogInfo("sip:1001@pbx", 1, int(E.ONHOLD), "1001"))
    param = held.find(f"{DI}dialog/{DI}local/{DI}target/{DI}param")
    assert (param.get("pname"), param.get("pvalue")) == ("+sip.rendering", "no")
    trying = ET.fromstring(dialogInfo("sip:1001@pbx", 1, int(E.INUSE), "1001", state="trying"))
    assert trying.findtext(f"{DI}dialog/{DI}state") == "trying"


@pytest.mark.parametrize("state,presence,message,expected", [
    (E.NOT_INUSE, "", "", ("open", "Ready")),
    (E.INUSE, "", "", ("open", "On the phone")),
    (E.RINGING, "", "", ("open", "Ringing")),
    (E.ONHOLD, "", "", ("open", "On hold")),
    (E.UNAVAILABLE, "", "", ("closed", "Unavailable")),
    (E.REMOVED, "", "", ("closed", "Unavailable")),
    (E.NOT_INUSE, "away", "", ("open", "Away")),
    (E.NOT_INUSE, "dnd", "In a meeting", ("closed", "In a meeting")),
    (E.NOT_INUSE, "unavailable", "", ("closed", "Unavailable")),
])
def test_presenceOf(state, presence, message, expected):
    assert presenceOf(int(state), presence, message) == expected


def test_pidfDocument():
    root = ET.fromstring(pidf("sip:1001@pbx", "1001", int(E.INUSE), message="a & b"))
    assert root.tag == PIDF + "presence"
    assert root.get("entity") == "sip:1001@pbx"
    tup = root.find(PIDF + "tuple")
    assert tup.get("id") == "1001"
    assert tup.findtext(f"{PIDF}status/{PIDF}basic") == "open"
    assert tup.findtext(PIDF + "note") == "a & b"
    assert tup.findtext(PIDF + "contact") == "sip:1001@pbx"


def test_messageSummary():
    body = messageSummary(1, 0, "sip:1001@pbx")
    assert body == (b"Messages-Waiting: yes\r\nMessage-Account: sip:1001@pbx\r\n"
                    b"Voice-Message: 1/0\r\n")
    assert messageSummary(0, 2) == b"Messages-Waiting: no\r\nVoice-Message: 0/2\r\n"
    assert parseMessageSummary(body) == {"waiting": True, "account": "sip:1001@pbx",
                                         "voice": (1, 0)}
    assert parseMessageSummary(messageSummary(0, 3, urgentOld=1))["voice"] == (0, 3)
    with pytest.raises(ValueError):
        parseMessageSummary(b"Voice-Message: 1/0\r\n")


def test_chooseExpiry():
    assert chooseExpiry(None, 60, 3600, 3600) == 3600
    assert chooseExpiry(None, 60, 1800, 3600) == 1800
    assert chooseExpiry(0, 60, 3600, 3600) == 0
    assert chooseExpiry(30, 60, 3600, 3600) == TooBrief(60)
    assert chooseExpiry(120, 60, 3600, 3600) == 120
    assert chooseExpiry(99999, 60, 3600, 3600) == 3600


def test_subscriptionState():
    assert subscriptionState(120) == "active;expires=120"
    assert subscriptionState(-3) == "active;expires=0"
    assert subscriptionState(0, True) == "terminated;reason=timeout"
    assert subscriptionState(0, True, "noresource") == "terminated;reason=noresource"
