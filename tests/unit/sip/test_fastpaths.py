"""
The compiled fast paths never accept what the general parsers refuse, and
the everyday header split gives what the general one gives.
"""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.sip.wire.grammar import (
    RE_CHECK_ADDRESS,
    RE_CHECK_CSEQ,
    RE_CHECK_URI,
    RE_CHECK_VIA,
    parseCSeq,
    parseNameAddr,
    parseVia,
)
from channels.sip.wire.message import SIPParseError
from channels.sip.wire.parser import _headerLines, _parseHead, parseMessage
from channels.sip.wire.uri import parseURI

ALPHABET = "aZ09.-_:;=@<>\" /\\~!*+%sipSIP2UDP"
PIECES = st.sampled_from([
    "sip:", "sips:", "alice@", "example.com", "192.0.2.1", ":5060", ":65535", ":65536",
    ":99999", ";tag=1a", ";lr", ";branch=z9hG4bKx", "<", ">", '"Bob" ', "Bob ", "SIP/2.0/UDP ",
    "SIP/2.0/TCP ", " ", ";rport", ";received=[::1]", "-", "_", "1 ", "INVITE", "\\", '"',
])
TEXT = st.one_of(
    st.text(ALPHABET, max_size=40),
    st.lists(PIECES, max_size=8).map("".join),
)


def accepts(pattern, parse):
    compiled = re.compile(pattern)

    @settings(max_examples=400, deadline=None)
    @given(TEXT)
    def check(text):
        if compiled.fullmatch(text) is not None:
            parse(text)  # must not raise

    return check


test_viaCheck = accepts(RE_CHECK_VIA, parseVia)
test_addressCheck = accepts(RE_CHECK_ADDRESS, parseNameAddr)
test_uriCheck = accepts(RE_CHECK_URI, parseURI)
test_cseqCheck = accepts(RE_CHECK_CSEQ, parseCSeq)


def test_fivedigitPortsTakeTheFastPath():
    via = parseVia("SIP/2.0/UDP 127.0.0.1:25999;branch=z9hG4bK1")
    assert (via.host, via.port) == ("127.0.0.1", 25999)
    assert parseURI("sip:a@b:65535").port == 65535
    for bad in ("sip:a@b:65536", "sip:a@b:123456"):
        try:
            parseURI(bad)
        except SIPParseError:
            pass
        else:
            raise AssertionError(bad)


NAMES = st.sampled_from(["Via", "v", "From", "f", "To", "Call-ID", "i", "CSeq", "X-Custom", "subject",
                         "Bad Name", ""])
VALUES = st.text(" \tab:;,=<>@", max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NAMES, st.sampled_from([":", ": ", " : ", ":  ", ":\t"]), VALUES), max_size=6))
def test_everydaySplitAgreesWithTheGeneralOne(lines):
    text = "\r\n".join(["OPTIONS sip:a@b SIP/2.0"] + [n + sep + v for n, sep, v in lines])
    keys, items, error = _headerLines(text.split("\r\n")[1:])
    try:
        message = _parseHead(text.encode())
    except SIPParseError:
        assert error is not None
        return
    assert error is None
    assert message.headers.lineKeys == keys
    assert message.headers.lines == items


def test_namesKeptAsSpeltCompactExpanded():
    data = (b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\n"
            b"t: <sip:b@b>\r\ni: c1\r\nCSeq: 1 OPTIONS\r\nreason: x\r\nl: 0\r\n\r\n")
    message = parseMessage(data)
    assert [name for name, _ in message.headers.items()] == [
        "Via", "From", "To", "Call-ID", "CSeq", "reason", "Content-Length"]
    assert message.toBytes().count(b"reason: x\r\n") == 1
