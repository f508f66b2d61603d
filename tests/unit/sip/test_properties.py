"""
Property tests of the SIP codec: it never fails with anything but
SIPParseError, what it accepts it can use, and what it writes it reads back.
"""

import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from channels.sip.wire import grammar as sipgrammar
from channels.sip.wire import uri as sipuri
from channels.sip.wire.headers import Headers
from channels.sip.wire.grammar import NameAddr, Via, parseCSeq, parseNameAddr, parseVia
from channels.sip.wire.message import Request, Response
from channels.sip.wire.parser import SIPParseError, StreamParser, parseMessage
from channels.sip.wire.uri import URI, parseURI

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "conformance")

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _corpus():
    out = []
    for d in ("rfc4475", "rfc5118"):
        for name in sorted(os.listdir(os.path.join(DATA, d))):
            with open(os.path.join(DATA, d, name), "rb") as f:
                out.append(f.read())
    return out


CORPUS = _corpus()

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

tokens = st.text(TOKEN_CHARS, min_size=1, max_size=12)
methods = st.one_of(
    st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "REFER"]),
    tokens,
)
labels = st.text(ALNUM, min_size=1, max_size=8)
hostnames = st.lists(labels, min_size=1, max_size=3).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.ip_addresses(v=6).map(lambda a: f"[{a}]")
hosts = st.one_of(hostnames, ipv4, ipv6)
ports = st.one_of(st.none(), st.integers(1, 65535))
userChars = ALNUM + "-_.!~*'()&=+$,;?/"
escapes = st.sampled_from(["%20", "%41", "%00", "%40", "%3A"])
users = st.lists(st.one_of(st.text(userChars, min_size=1, max_size=6), escapes), min_size=1, max_size=4).map("".join)
paramValues = st.text(ALNUM + "-_.!~*'", min_size=1, max_size=8)
uriParams = st.lists(st.tuples(tokens.filter(lambda t: "%" not in t), st.one_of(st.none(), paramValues)), max_size=3).map(tuple)
uriHeaders = st.lists(st.tuples(st.text(ALNUM, min_size=1, max_size=6), st.text(ALNUM + "%", max_size=8)), max_size=2).map(tuple)


@st.composite
def sipURIs(draw, withHeaders=True):
    return URI(
        scheme=draw(st.sampled_from(["sip", "sips"])),
        user=draw(st.one_of(st.none(), users)),
        password=None,
        host=draw(hosts),
        port=draw(ports),
        params=draw(uriParams),
        headers=draw(uriHeaders) if withHeaders else (),
    )


displayNames = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1, max_size=12),
)
headerParams = st.lists(
    st.tuples(tokens, st.one_of(st.none(), tokens, st.just('"quoted; value, here"'))), max_size=3
).map(tuple)


@st.composite
def nameAddrs(draw):
    return NameAddr(draw(displayNames), draw(sipURIs()), draw(headerParams))


@st.composite
def vias(draw):
    return Via(
        "SIP/2.0",
        draw(st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS"])),
        draw(hosts),
        draw(ports),
        (("branch", "z9hG4bK" + draw(tokens)),) + draw(headerParams),
    )


headerValues = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_categories=("Cs",)),
    max_size=30,
).map(lambda v: v.strip(" \t"))
_SPECIAL = {
    "via", "from", "to", "call-id", "cseq", "max-forwards", "contact",
    "content-length", "expires", "route", "record-route",
}
extraNames = tokens.filter(lambda n: len(n) > 1 and n.lower() not in _SPECIAL)
bodies = st.binary(max_size=64)


@st.composite
def commonHeaders(draw, method):
    pairs = [("Via", str(v)) for v in draw(st.lists(vias(), min_size=1, max_size=3))]
    pairs.append(("From", str(draw(nameAddrs()))))
    pairs.append(("To", str(draw(nameAddrs()))))
    pairs.append(("Call-ID", draw(tokens) + "@" + draw(hostnames)))
    pairs.append(("CSeq", f"{draw(st.integers(0, 2**32 - 1))} {method}"))
    pairs.append(("Max-Forwards", str(draw(st.integers(0, 255)))))
    pairs.extend(draw(st.lists(st.tuples(extraNames, headerValues), max_size=4)))
    order = draw(st.permutations(range(len(pairs))))
    return Headers([pairs[i] for i in order])


@st.composite
def requests(draw):
    method = draw(methods)
    headers = draw(commonHeaders(method))
    if draw(st.booleans()):
        headers.add("Contact", str(draw(nameAddrs())))
    return Request(method, draw(sipURIs(withHeaders=False)), headers, draw(bodies))


@st.composite
def responses(draw):
    status = draw(st.integers(100, 699))
    reason = draw(st.one_of(st.none(), headerValues))
    headers = draw(commonHeaders(draw(methods)))
    return Response(status, reason, headers, draw(bodies))


def _mustOnlyRaiseParseError(data: bytes):
    try:
        msg = parseMessage(data)
    except SIPParseError:
        return None
    # Whatever is accepted can be used: the validated views do not raise.
    msg.vias, msg.cseq, msg.fromAddr, msg.toAddr, msg.callId
    msg.maxForwards, msg.contentLength
    if msg.isRequest:
        msg.requestURI, msg.contacts
    parseMessage(msg.toBytes())
    return msg


def _stream(data: bytes, cut: int):
    parser = StreamParser()
    try:
        parser.feed(data[:cut])
        parser.feed(data[cut:])
    except SIPParseError:
        pass


@SETTINGS
@given(st.binary(max_size=400))
@example(b"\r\n\r\n")
@example(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n")
@example(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP [::1\r\n\r\n")
def test_arbitraryBytes(data):
    _mustOnlyRaiseParseError(data)
    _stream(data, len(data) // 2)


@SETTINGS
@given(st.sampled_from(CORPUS), st.data())
def test_mutations(original, data):
    buf = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        if not buf:
            break
        pos = data.draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[pos] = data.draw(st.integers(0, 255))
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = data.draw(
                st.sampled_from([b"\r\n", b" ", b";", b",", b"<", b'"', b":", b"%", b"\x00", b"@", b"["])
            )
        else:
            del buf[pos]
    mutated = bytes(buf)
    _mustOnlyRaiseParseError(mutated)
    _stream(mutated, data.draw(st.integers(0, len(mutated))))


@SETTINGS
@given(requests())
def test_requestRoundTrip(request):
    wire = request.toBytes()
    parsed = parseMessage(wire)
    assert parsed == request
    assert parsed.body == request.body
    assert parsed.toBytes() == wire
    assert parsed.vias == request.vias
    assert parsed.fromAddr == request.fromAddr


@SETTINGS
@given(responses())
def test_responseRoundTrip(response):
    wire = response.toBytes()
    parsed = parseMessage(wire)
    assert parsed == response
    assert parsed.toBytes() == wire


@settings(SETTINGS, max_examples=80)
@given(st.lists(st.one_of(requests(), responses()), min_size=1, max_size=3), st.data())
def test_streamFraming(messages, data):
    wire = b"".join(m.toBytes() for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=5)))
    parser = StreamParser()
    got = []
    start = 0
    for cut in cuts + [len(wire)]:
        got.extend(parser.feed(wire[start:cut]))
        start = cut
    assert got == messages


@SETTINGS
@given(sipURIs())
def test_uriRoundTrip(uri):
    text = str(uri)
    assert parseURI(text) == uri
    assert sipuri._parseURIGeneral(text) == uri
    assert sipuri.urisEquivalent(uri, parseURI(text))


@SETTINGS
@given(nameAddrs())
def test_nameAddrRoundTrip(addr):
    text = str(addr)
    assert parseNameAddr(text) == addr
    assert sipgrammar._parseNameAddrGeneral(text) == addr


@SETTINGS
@given(vias())
def test_viaRoundTrip(via):
    text = str(via)
    assert parseVia(text) == via
    assert sipgrammar._parseViaGeneral(text) == via


@SETTINGS
@given(st.text(max_size=60))
def test_fastPathsAgree(text):
    """Where a fast path accepts, the general parser gives the same answer."""
    for fast, general in (
        (parseURI, sipuri._parseURIGeneral),
        (parseVia, sipgrammar._parseViaGeneral),
        (parseNameAddr, sipgrammar._parseNameAddrGeneral),
        (parseCSeq, sipgrammar._parseCSeqGeneral),
    ):
        try:
            expected = general(text)
        except SIPParseError:
            expected = SIPParseError
        try:
            got = fast(text)
        except SIPParseError:
            got = SIPParseError
        assert got == expected, (fast.__name__, text)


@SETTINGS
@given(st.from_regex(r"sips?:[a-z0-9.!~*'()&=+$/-]{1,8}@[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?(:[0-9]{1,4})?(;[a-z]{1,5}(=[a-z0-9:]{1,5})?){0,3}", fullmatch=True))
def test_fastURIAgree(text):
    assert parseURI(text) == sipuri._parseURIGeneral(text)
