"""SDP parsing, writing and the RFC 3264 helpers (pure)."""

import pytest

from channels.sip.wire.sdp import (
    SDPError,
    answerDirection,
    assignPayloadTypes,
    buildAudioMedia,
    directionOf,
    negotiateCodecs,
    parseSDP,
    refuseMedia,
    telephoneEventPayload,
)

OFFER = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"t=0 0\r\n"
    b"m=audio 49170 RTP/AVP 8 0 9 101\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"m=video 51372 RTP/AVP 31\r\n"
    b"c=IN IP4 192.0.2.11\r\n"
)


def test_parse():
    sdp = parseSDP(OFFER)
    assert sdp.origin.username == "alice"
    assert [m.mediaType for m in sdp.media] == ["audio", "video"]
    audio, video = sdp.media
    assert audio.formats == ("8", "0", "9", "101")
    assert sdp.connectionFor(audio) == "192.0.2.10"
    assert sdp.connectionFor(video) == "192.0.2.11"
    assert audio.fmtp(101) == "0-15"
    assert telephoneEventPayload(audio) == 101


def test_roundTrip():
    sdp = parseSDP(OFFER)
    assert parseSDP(sdp.toBytes()) == sdp


def test_lfLineEndings():
    assert parseSDP(OFFER.replace(b"\r\n", b"\n")) == parseSDP(OFFER)


@pytest.mark.parametrize("data, reason", [
    (b"", "v=0"),
    (b"o=x 1 1 IN IP4 1.2.3.4\r\n", "v=0"),
    (b"v=0\r\ns=-\r\n", "o="),
    (b"v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "connection"),
    (b"v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n", "port"),
    (b"v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n", "range"),
    (b"v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN XX 1.2.3.4\r\n", "connection"),
    (b"v=0\r\no=x\r\n", "origin"),
    (b"v=0\r\ngarbage\r\n", "type=value"),
    (b"v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP\r\n", "formats"),
    (b"\xff\xfe", "UTF-8"),
])
def test_badDescriptions(data, reason):
    with pytest.raises(SDPError) as e:
        parseSDP(data)
    assert reason in str(e.value)


def test_negotiationFollowsOurPreference():
    audio = parseSDP(OFFER).media[0]
    assert negotiateCodecs(audio, ["ulaw", "alaw"]) == [(0, "ulaw"), (8, "alaw")]
    assert negotiateCodecs(audio, ["alaw", "ulaw"]) == [(8, "alaw"), (0, "ulaw")]
    assert negotiateCodecs(audio, ["g722"]) == [(9, "g722")]
    assert negotiateCodecs(audio, ["gsm"]) == []


def test_dynamicPayloadNames():
    sdp = parseSDP(OFFER.replace(b"m=audio 49170 RTP/AVP 8 0 9 101", b"m=audio 49170 RTP/AVP 97")
                   .replace(b"a=rtpmap:8 PCMA/8000", b"a=rtpmap:97 PCMU/8000"))
    assert negotiateCodecs(sdp.media[0], ["ulaw"]) == [(97, "ulaw")]


@pytest.mark.parametrize("offered, local, answer", [
    ("sendrecv", "sendrecv", "sendrecv"),
    ("sendonly", "sendrecv", "recvonly"),
    ("recvonly", "sendrecv", "sendonly"),
    ("inactive", "sendrecv", "inactive"),
    ("sendrecv", "sendonly", "sendonly"),
    ("sendonly", "sendonly", "inactive"),
])
def test_answerDirection(offered, local, answer):
    assert answerDirection(offered, local) == answer


def test_directionFallsBackToSessionLevel():
    sdp = parseSDP(OFFER.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n"))
    assert directionOf(sdp, sdp.media[0]) == "sendonly"
    assert directionOf(sdp, sdp.media[0].withDirection("inactive")) == "inactive"


def test_buildAndRefuse():
    media = buildAudioMedia(4000, [(0, "ulaw"), (8, "alaw")], 101, "recvonly")
    assert media.formats == ("0", "8", "101")
    assert media.direction == "recvonly"
    assert "0 PCMU/8000" in media.attributeValues("rtpmap")
    refused = refuseMedia(parseSDP(OFFER).media[1])
    assert refused.port == 0 and refused.formats == ("31",)


def test_assignPayloadTypes():
    assert assignPayloadTypes(["alaw", "speex", "ulaw", "nonsense"]) == [(8, "alaw"), (96, "speex"), (0, "ulaw")]
