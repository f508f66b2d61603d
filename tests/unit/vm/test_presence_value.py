"""The pure rules of custom presence values (Asterisk's state,subtype,message,options)."""

import base64

import pytest

from pbxcore.devicestate.aggregation import (
    PRESENCE_STATES,
    PresenceState,
    isPresenceProvider,
    parsePresenceValue,
)


@pytest.mark.parametrize("state", PRESENCE_STATES)
def test_everyStateParses(state):
    assert parsePresenceValue(state) == PresenceState(state, "", "")
    assert parsePresenceValue(state.upper()).state == state


def test_subtypeAndMessage():
    assert parsePresenceValue("away,lunch,Back at two") == \
        PresenceState("away", "lunch", "Back at two")
    assert parsePresenceValue("dnd,,In a meeting") == PresenceState("dnd", "", "In a meeting")


def test_base64Option():
    sub, msg = (base64.b64encode(t.encode()).decode() for t in ("temporary", "Out, to lunch"))
    assert parsePresenceValue(f"xa,{sub},{msg},e") == PresenceState("xa", "temporary",
                                                                    "Out, to lunch")


@pytest.mark.parametrize("value", ["", "busy", "invalid", "away,a,b,x", "away,!!,??,e"])
def test_refused(value):
    with pytest.raises(ValueError):
        parsePresenceValue(value)


def test_providers():
    assert isPresenceProvider("CustomPresence:1001")
    assert isPresenceProvider("custompresence:bob")
    assert not isPresenceProvider("CustomPresence:")
    assert not isPresenceProvider("Custom:1001")
    assert not isPresenceProvider("")
