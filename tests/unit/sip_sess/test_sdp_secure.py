"""
SDP with the attributes of WebRTC and encrypted media: ice-ufrag, ice-pwd,
ice-lite, candidate, fingerprint, setup, crypto, rtcp-mux and rtcp-fb parse
into values and come back out unchanged. Pure.
"""

import pytest

from channels.sip.wire.sdp import (
    Candidate, Crypto, Fingerprint, RTCPFeedback, SDPError, iceCredentials, mediaOrSession,
    parseSDP,
)

# A browser's offer, trimmed to audio (the shape Chrome sends).
BROWSER_OFFER = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS stream\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 network-id 1\r\n"
    "a=candidate:435653019 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active generation 0\r\n"
    "a=candidate:3 1 udp 1686052607 203.0.113.5 50000 typ srflx raddr 192.168.0.196 rport 46243\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09:"
    "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream track\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3735928559 cname:abc\r\n"
)

# A desk phone's SDES offer (RFC 4568 section 10 shape).
SDES_OFFER = (
    "v=0\r\n"
    "o=- 1 1 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/SAVP 0 101\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4 UNENCRYPTED_SRTCP\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=sendrecv\r\n"
)


def test_browser_offer_round_trips_and_parses():
    description = parseSDP(BROWSER_OFFER)
    assert description.toBytes().decode() == BROWSER_OFFER
    media = description.media[0]
    assert media.proto == "UDP/TLS/RTP/SAVPF"
    assert iceCredentials(description, media) == ("EsAw", "bP+XJMM09aR8AiX1jdukzR6Y")
    assert media.hasAttribute("rtcp-mux")
    assert mediaOrSession(description, media, "setup") == "actpass"
    candidates = [Candidate.parse(v) for v in media.attributeValues("candidate")]
    assert [str(c) for c in candidates] == media.attributeValues("candidate")
    host = candidates[0]
    assert (host.foundation, host.component, host.transport, host.priority) == (
        "1467250027", 1, "udp", 2122260223)
    assert (host.address, host.port, host.type) == ("192.168.0.196", 46243, "host")
    assert host.extensions == (("generation", "0"), ("network-id", "1"))
    srflx = candidates[2]
    assert (srflx.type, srflx.relatedAddress, srflx.relatedPort) == ("srflx", "192.168.0.196", 46243)
    fingerprint = Fingerprint.parse(media.attribute("fingerprint"))
    assert fingerprint.algorithm == "sha-256" and len(fingerprint.digest) == 32
    assert str(fingerprint) == media.attribute("fingerprint")
    feedback = RTCPFeedback.parse(media.attribute("rtcp-fb"))
    assert feedback == RTCPFeedback("111", "transport-cc")
    assert str(feedback) == "111 transport-cc"


def test_session_level_ice_and_ice_lite():
    text = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "a=ice-lite\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
            "m=audio 4000 RTP/SAVPF 0\r\na=candidate:1 1 UDP 2130706431 127.0.0.1 4000 typ host\r\n"
            "a=rtcp-fb:* nack\r\na=rtcp-fb:0 ccm fir\r\n")
    description = parseSDP(text)
    assert description.toBytes().decode() == text
    assert description.attribute("ice-lite") == ""
    assert iceCredentials(description, description.media[0]) == ("abcd", "0123456789abcdefghijkl")
    assert [RTCPFeedback.parse(v) for v in description.media[0].attributeValues("rtcp-fb")] == [
        RTCPFeedback("*", "nack"), RTCPFeedback("0", "ccm", "fir")]
    assert Candidate.hostPriority(1) == 2130706431


def test_sdes_crypto_lines():
    description = parseSDP(SDES_OFFER)
    assert description.toBytes().decode() == SDES_OFFER
    values = description.media[0].attributeValues("crypto")
    first, second = (Crypto.parse(v) for v in values)
    assert (first.tag, first.suite, len(first.key)) == (1, "AES_CM_128_HMAC_SHA1_80", 30)
    assert (first.lifetime, first.mki) == ("2^20", "1:4")
    assert second.sessionParams == ("UNENCRYPTED_SRTCP",)
    assert [str(first), str(second)] == values
    assert str(Crypto(3, "AES_CM_128_HMAC_SHA1_80", bytes(range(30)))) == (
        "3 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd")


@pytest.mark.parametrize("parser, value", [
    (Candidate.parse, "1 1 udp 1 1.2.3.4 5 host"),
    (Candidate.parse, "1 x udp 1 1.2.3.4 5 typ host"),
    (Candidate.parse, "1 1 udp 1 1.2.3.4 5 typ host raddr"),
    (Fingerprint.parse, "sha-256 ZZ:11"),
    (Fingerprint.parse, "sha-256"),
    (Crypto.parse, "1 AES_CM_128_HMAC_SHA1_80 uri:http://example.com/key"),
    (Crypto.parse, "x AES_CM_128_HMAC_SHA1_80 inline:AAAA"),
    (Crypto.parse, "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!"),
    (RTCPFeedback.parse, "111"),
])
def test_bad_values_raise_sdp_error(parser, value):
    with pytest.raises(SDPError):
        parser(value)
