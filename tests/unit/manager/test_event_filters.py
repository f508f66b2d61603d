"""Asterisk's eventfilter syntaxes, legacy and advanced, and the Filter action's errors."""

import pytest

from pbxcore.config import ConfigError
from pbxcore.manager.config import EventFilter, FilterError, parseFilter, parseManagerConf
from pbxcore.manager.config import TextEvent


def event(name, **fields):
    text = f"Event: {name}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return TextEvent(text)


NEW_SIP = event("Newchannel", Channel="SIP/1001-1", Uniqueid="1")
NEW_LOCAL = event("Newchannel", Channel="Local/100@default-1;1", Uniqueid="2")
HANGUP = event("Hangup", Channel="SIP/1001-1", Cause="16")


@pytest.mark.parametrize("entries, passed", [
    ([("", "Event: Newchannel")], [NEW_SIP, NEW_LOCAL]),
    ([("", "!Channel: Local/")], [NEW_SIP, HANGUP]),
    ([("(name(Newchannel))", "")], [NEW_SIP, NEW_LOCAL]),
    ([("(action(exclude),name(Newchannel))", "")], [HANGUP]),
    ([("(name(Newchannel),header(Channel),method(starts_with))", "SIP/")], [NEW_SIP]),
    ([("(header(Channel),method(ends_with))", ";1")], [NEW_LOCAL]),
    ([("(header(Cause),method(exact))", "16")], [HANGUP]),
    ([("(header(Channel),method(contains))", "100@")], [NEW_LOCAL]),
    ([("(header(Channel),method(regex))", "^SIP/")], [NEW_SIP, HANGUP]),
    ([("(name(Newchannel))", ""), ("(action(exclude),header(Channel),method(startsWith))",
                                   "Local/")], [NEW_SIP]),
])
def test_filters(entries, passed):
    f = EventFilter.fromEntries(entries)
    assert [e for e in (NEW_SIP, NEW_LOCAL, HANGUP) if f.passes(e)] == passed


@pytest.mark.parametrize("criteria, expression, kind", [
    ("", "(", "compile"),
    ("(name(X),name(Y))", "", "format"),
    ("(colour(red))", "", "format"),
    ("(action(maybe))", "", "format"),
    ("(method(sideways))", "x", "format"),
    ("name(X)", "", "format"),
])
def test_bad_filters(criteria, expression, kind):
    with pytest.raises(FilterError) as e:
        parseFilter(criteria, expression)
    assert e.value.kind == kind


def test_manager_conf_filters_and_their_errors():
    settings = parseManagerConf(
        "[u]\nsecret = x\neventfilter(name(Hangup)) =\neventfilter = !Channel: Local/\n")
    f = settings.user("u").eventFilter
    assert f.passes(HANGUP) and not f.passes(NEW_SIP)
    with pytest.raises(ConfigError) as e:
        parseManagerConf("[u]\nsecret = x\n\neventfilter(nme(Hangup)) = x\n")
    assert e.value.line == 4
