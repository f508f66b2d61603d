"""
Opus (RFC 7587) in SDP: offered as opus/48000/2 with a=fmtp, answered with
the offer's payload type and fmtp kept, sent when first on both sides (relayed
natively, never decoded), never offered to a leg that would need transcoding;
the sample count of a packet from its TOC byte (RFC 6716). Pure: no reactor.
"""

import pytest

from channels.sip.driver.sessionmedia import MediaStream
from channels.sip.driver.technology import offerableCodecs
from channels.sip.wire.sdp import (
    assignPayloadTypes,
    buildAudioMedia,
    codecFmtp,
    negotiateCodecs,
    offeredCodecs,
    parseSDP,
    SessionDescription,
)
from pbxcore.media.opus import opusSamples
from plugins.res_sdp_rtp import AudioSDPHandler
from tests.unit.sip_sess.test_audio_streams import FakeEngine, FakeSession

# What a browser (and baresip) offers: opus on a dynamic type with its fmtp.
BROWSER = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 5000 RTP/AVP 111 0 8 101\r\n"
    b"a=rtpmap:111 opus/48000/2\r\n"
    b"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
)


def test_offerCarriesOpusRtpmapAndFmtp():
    codecs = assignPayloadTypes(["opus", "ulaw"])
    assert codecs == [(96, "opus"), (0, "ulaw")]
    media = buildAudioMedia(4000, codecs, 101, fmtp=codecFmtp(None, codecs))
    text = SessionDescription(connection="127.0.0.1", media=(media,)).toBytes()
    assert ("rtpmap", "96 opus/48000/2") in media.attributes
    assert ("fmtp", "96 useinbandfec=1") in media.attributes
    # No fmtp is made up for codecs that have none.
    assert not [v for k, v in media.attributes if k == "fmtp" and v.startswith("0 ")]
    assert b"a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n" in text


def test_offeredOpusIsRecognisedAndNegotiatedInOurOrder():
    audio = parseSDP(BROWSER).media[0]
    assert [(pt, codec) for pt, codec, _ in offeredCodecs(audio)][:1] == [(111, "opus")]
    assert offeredCodecs(audio)[0][2].channels == 2
    assert negotiateCodecs(audio, ["opus", "ulaw"]) == [(111, "opus"), (0, "ulaw")]
    assert negotiateCodecs(audio, ["ulaw", "alaw"]) == [(0, "ulaw"), (8, "alaw")]


def test_answerKeepsTheOffersPayloadTypeAndFmtp():
    session = FakeSession()
    session.codecs = ["opus", "ulaw"]
    handler = AudioSDPHandler(reactor=object(), engine=FakeEngine(), certificate=object())
    offer = parseSDP(BROWSER)
    stream = MediaStream(0, "audio")
    session.streams.append(stream)
    answer = handler.negotiateIncomingStream(session, stream, offer, offer.media[0])
    assert answer.formats == ("111", "0", "101")
    assert ("rtpmap", "111 opus/48000/2") in answer.attributes
    assert ("fmtp", "111 minptime=10;useinbandfec=1") in answer.attributes
    # Round trip: what goes on the wire parses back to the same codecs.
    again = parseSDP(SessionDescription(connection="127.0.0.1", media=(answer,)).toBytes())
    assert negotiateCodecs(again.media[0], ["opus"]) == [(111, "opus")]


def test_peerWithoutOpusAnswersWithoutIt():
    session = FakeSession()          # allow = ulaw, alaw
    handler = AudioSDPHandler(reactor=object(), engine=FakeEngine(), certificate=object())
    offer = parseSDP(BROWSER)
    stream = MediaStream(0, "audio")
    session.streams.append(stream)
    answer = handler.negotiateIncomingStream(session, stream, offer, offer.media[0])
    assert answer.formats == ("0", "8", "101")
    assert not [v for k, v in answer.attributes if "opus" in (v or "")]


class RecordingEndpoint:
    localPort = 40000
    dtmfPayload = None
    sending = True

    def start(self, host):
        pass

    def setPayloads(self, payloads, send=None, dtmf=None, ptime=None):
        self.payloads, self.send = payloads, send

    def setHold(self, held):
        pass

    def setRemote(self, address):
        self.remote = address


class RecordingEngine(FakeEngine):
    def createSession(self, **kw):
        return RecordingEndpoint()


@pytest.mark.parametrize("preference, sent", [
    (["opus", "ulaw"], (111, "opus")),     # opus first: sent as it comes (relayed natively)
    (["ulaw", "opus"], (0, "ulaw")),       # opus not first: G.711 goes out
])
def test_opusIsSentOnlyWhenFirst(preference, sent):
    session = FakeSession()
    session.codecs = preference
    offer = parseSDP(BROWSER)
    session.remoteSDP = offer
    handler = AudioSDPHandler(reactor=object(), engine=RecordingEngine(), certificate=object())
    stream = MediaStream(0, "audio")
    session.streams.append(stream)
    answer = handler.negotiateIncomingStream(session, stream, offer, offer.media[0])
    handler.applyNegotiatedStream(session, stream, answer, offer.media[0])
    endpoint = stream.state["rtp"]
    assert endpoint.send == sent
    assert endpoint.payloads[111] == "opus"


@pytest.mark.parametrize("calling, offered", [
    (("opus", "ulaw"), ["opus", "ulaw", "alaw"]),   # the caller has opus first: offered
    (("ulaw", "opus"), ["ulaw", "alaw"]),           # it would need transcoding: not offered
    (None, ["ulaw", "alaw"]),                       # no calling leg (Originate): not offered
    (("g722",), ["ulaw", "alaw"]),
])
def test_opusOfferedOnlyToLegsThatRelayIt(calling, offered):
    assert offerableCodecs(["opus", "ulaw", "alaw"], calling) == offered


@pytest.mark.parametrize("payload, samples", [
    (bytes([0xF8, 0xFF]), 960),         # config 31 (CELT FB 20 ms), one frame
    (bytes([0x78, 0x00]), 960),         # config 15 (hybrid FB 20 ms)
    (bytes([0x08]), 960),               # config 1 (SILK NB 20 ms)
    (bytes([0x18]), 2880),              # config 3 (SILK NB 60 ms)
    (bytes([0x81]), 240),               # config 16 (CELT NB 2.5 ms), two frames (c=1)
    (bytes([0xFB, 0x03]), 2880),        # c=3: three 20 ms frames
    (bytes([0xFB]), 0),                 # c=3 without its frame count: truncated
    (b"", 0),
])
def test_opusSamplesFromTOC(payload, samples):
    assert opusSamples(payload) == samples
