"""The manager wire format: parsing and formatting, no reactor."""

import pytest
from hypothesis import given, strategies as st

from pbxcore.manager.framing import (
    GREETING,
    Message,
    MessageParser,
    MessageTooLarge,
    formatCommandLines,
    formatCommandOutput,
    formatEvent,
    formatMessage,
    formatResponse,
)


def test_greeting_is_one_line_without_blank_line():
    assert GREETING.startswith(b"Asterisk Call Manager/5.0.")
    assert GREETING.endswith(b"\r\n") and not GREETING.endswith(b"\r\n\r\n")


def test_one_message():
    [m] = MessageParser().feed(b"Action: Ping\r\nActionID: 7\r\n\r\n")
    assert m.action == "Ping"
    assert m.actionID == "7"


def test_keys_case_insensitive_and_values_kept():
    [m] = MessageParser().feed(b"aCTION: login\r\nusername: Admin\r\nSECRET: s3 cr:et\r\n\r\n")
    assert m.action == "login"
    assert m.get("Username") == "Admin"
    assert m.get("secret") == "s3 cr:et"
    assert "Secret" in m and "Missing" not in m


def test_duplicates_kept_in_order():
    [m] = MessageParser().feed(
        b"Action: Originate\r\nVariable: a=1\r\nVariable: b=2,c=3\r\nvariable: d=\r\n\r\n")
    assert m.getall("Variable") == ["a=1", "b=2,c=3", "d="]
    assert m.variables() == [("a", "1"), ("b", "2"), ("c", "3"), ("d", "")]


def test_partial_reads_byte_by_byte():
    data = b"Action: Ping\r\nActionID: x\r\n\r\nAction: Logoff\r\n\r\n"
    parser = MessageParser()
    out = []
    for i in range(len(data)):
        out.extend(parser.feed(data[i:i + 1]))
    assert [m.action for m in out] == ["Ping", "Logoff"]
    assert out[0].actionID == "x"


def test_bare_lf_and_leading_blank_lines():
    out = MessageParser().feed(b"\r\n\n\nAction: Ping\nActionID: 1\n\n")
    assert len(out) == 1 and out[0].actionID == "1"


def test_lines_without_colon_ignored():
    [m] = MessageParser().feed(b"garbage line\r\nAction: Ping\r\n\r\n")
    assert m.fields == (("Action", "Ping"),)


def test_binary_garbage_does_not_raise():
    parser = MessageParser()
    out = parser.feed(b"\x00\xff\xfe: \x80\x81\r\n\xc3\x28\r\n\r\n")
    assert len(out) == 1
    assert out[0].action is None


def test_oversized_without_blank_line():
    parser = MessageParser(maxSize=1024)
    with pytest.raises(MessageTooLarge):
        parser.feed(b"Action: Ping\r\n" + b"X-Pad: " + b"a" * 2000)


def test_oversized_in_many_lines():
    parser = MessageParser(maxSize=1024)
    with pytest.raises(MessageTooLarge):
        for _ in range(200):
            parser.feed(b"Variable: aaaaaaaaaa=bbbbbbbbbb\r\n")


def test_too_many_headers():
    parser = MessageParser(maxHeaders=10)
    with pytest.raises(MessageTooLarge):
        parser.feed(b"".join(b"K%d: v\r\n" % i for i in range(11)))


def test_size_resets_after_each_message():
    parser = MessageParser(maxSize=100)
    for _ in range(50):
        assert len(parser.feed(b"Action: Ping\r\nActionID: 12345\r\n\r\n")) == 1


def test_format_response_actionid_second():
    data = formatResponse("Success", "abc", [("Message", "Authentication accepted")])
    assert data == (b"Response: Success\r\nActionID: abc\r\n"
                    b"Message: Authentication accepted\r\n\r\n")


def test_format_event_order_and_crlf_in_values():
    data = formatEvent("Newchannel", [("Channel", "Local/100@default-1;1"),
                                      ("Bad", "a\r\nb")],
                       actionID="9", privilege="call,all")
    assert data.split(b"\r\n")[:3] == [b"Event: Newchannel", b"ActionID: 9",
                                       b"Privilege: call,all"]
    assert b"Bad: a b\r\n" in data
    assert data.endswith(b"\r\n\r\n")


def test_classic_command_output():
    data = formatCommandOutput("line 1\nline 2\n", "5")
    assert data == (b"Response: Follows\r\nPrivilege: Command\r\nActionID: 5\r\n"
                    b"line 1\nline 2\n--END COMMAND--\r\n\r\n")


def test_output_lines_command_output():
    data = formatCommandLines("a\nb\n", None)
    assert data == (b"Response: Success\r\nMessage: Command output follows\r\n"
                    b"Output: a\r\nOutput: b\r\n\r\n")


keys = st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x7a,
                                      blacklist_characters="[\\]^`"), min_size=1, max_size=10)
values = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(
    lambda v: v.strip())


@given(st.lists(st.tuples(keys, values), min_size=1, max_size=20), st.integers(1, 17))
def test_roundtrip_any_chunking(fields, chunk):
    data = formatMessage(fields) * 2
    parser = MessageParser()
    out = []
    for i in range(0, len(data), chunk):
        out.extend(parser.feed(data[i:i + chunk]))
    assert [m.fields for m in out] == [tuple(fields)] * 2
    assert isinstance(out[0], Message)


def test_system_name_follows_privilege_and_timestamp_as_asterisk_writes_it():
    from pbxcore.events import Event
    from pbxcore.manager.events import OutgoingEvent

    outgoing = OutgoingEvent.fromEvent(
        Event("Newchannel", (("Channel", "SIP/1001-00000001"),), "call", 12.5), "node1")
    assert outgoing.data(True) == (b"Event: Newchannel\r\nPrivilege: call,all\r\n"
                                   b"Timestamp: 12.500000\r\nSystemName: node1\r\n"
                                   b"Channel: SIP/1001-00000001\r\n\r\n")
    assert b"SystemName: node1\r\nChannel:" in outgoing.data(False)
    unnamed = OutgoingEvent.fromEvent(Event("Newchannel", (), "call", 12.5))
    assert b"SystemName" not in unnamed.data(True)
