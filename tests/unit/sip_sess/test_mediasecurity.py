"""
What a peer's encryption and WebRTC settings make of an offer or an answer
(channels.sip.driver.mediasecurity). Pure.
"""

import dataclasses

from channels.sip.driver.mediasecurity import (
    SecurityPlan, cannotEncrypt, answerPlan, applyAnswer, localAttributes, offerPlan,
)
from channels.sip.driver.peers import Peer
from channels.sip.wire.sdp import Crypto, parseSDP

FP = "sha-256 " + ":".join(["AB"] * 32)


def offer(proto, extra="", session=""):
    return parseSDP("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    + session + f"m=audio 4000 {proto} 0\r\n" + extra)


def peer(**kw):
    return dataclasses.replace(Peer("p"), **kw)


WEBRTC = dict(avpf=True, icesupport=True, encryption=True, dtlsenable=True, rtcpMux=True)


def test_plain_offer_to_a_plain_peer_and_to_an_encryption_peer():
    description = offer("RTP/AVP")
    assert answerPlan(peer(), "udp", description, description.media[0]).kind == "none"
    assert answerPlan(peer(encryption=True), "udp", description, description.media[0]) is None


def test_browser_offer_gets_dtls_ice_and_rtcp_mux():
    description = offer("UDP/TLS/RTP/SAVPF",
                        f"a=fingerprint:{FP}\r\na=setup:actpass\r\na=ice-ufrag:abcd\r\n"
                        "a=ice-pwd:0123456789012345678901\r\na=rtcp-mux\r\na=mid:0\r\n",
                        "a=group:BUNDLE 0\r\n")
    plan = answerPlan(peer(**WEBRTC), "ws", description, description.media[0])
    assert (plan.kind, plan.role, plan.setup) == ("dtls", "server", "passive")
    assert plan.remoteFingerprint == bytes([0xAB] * 32)
    assert plan.ice and plan.remoteIce == ("abcd", "0123456789012345678901")
    assert plan.rtcpMux and plan.bundle and plan.mid == "0"

    class Agent:
        localUfrag, localPwd = "loca", "l" * 22
    lines = localAttributes(plan, "127.0.0.1", 10000, 10001, fingerprint="sha-256 00", ice=Agent())
    names = [k for k, _ in lines]
    assert names == ["mid", "group", "ice-lite", "ice-ufrag", "ice-pwd", "candidate",
                     "fingerprint", "setup", "rtcp-mux"]
    assert dict(lines)["candidate"] == "1 1 UDP 2130706431 127.0.0.1 10000 typ host"


def test_dtls_offer_refused_without_dtlsenable_and_setup_roles():
    description = offer("UDP/TLS/RTP/SAVPF", f"a=fingerprint:{FP}\r\na=setup:passive\r\n")
    assert answerPlan(peer(), "udp", description, description.media[0]) is None
    plan = answerPlan(peer(dtlsenable=True), "udp", description, description.media[0])
    assert (plan.role, plan.setup) == ("client", "active")
    plan = answerPlan(peer(dtlsenable=True, dtlsverify="no"), "udp", description, description.media[0])
    assert plan.remoteFingerprint is None


def test_sdes_only_over_tls():
    key = bytes(range(30))
    description = offer("RTP/SAVP", f"a=crypto:{Crypto(1, 'F8_128_HMAC_SHA1_80', key)}\r\n"
                                    f"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"
                                    f"{str(Crypto(2, 'X', key)).split('inline:')[1]}\r\n")
    assert answerPlan(peer(encryption=True), "udp", description, description.media[0]) is None
    plan = answerPlan(peer(encryption=True), "tls", description, description.media[0])
    assert (plan.kind, plan.tag, plan.suite, plan.remoteKey) == ("sdes", 2, "AES_CM_128_HMAC_SHA1_32", key)


def test_offers_and_answers_to_them():
    plan = offerPlan(peer(**WEBRTC), "ws")
    assert (plan.kind, plan.proto, plan.setup, plan.ice) == ("dtls", "UDP/TLS/RTP/SAVPF", "actpass", True)
    assert (plan.mid, plan.bundle) == ("0", True)     # browsers want a BUNDLE group
    answer = offer("UDP/TLS/RTP/SAVPF", f"a=fingerprint:{FP}\r\na=setup:active\r\na=rtcp-mux\r\n"
                                        "a=ice-ufrag:zz\r\na=ice-pwd:yyyyyyyyyyyyyyyyyyyyyy\r\n")
    assert applyAnswer(plan, peer(**WEBRTC), answer, answer.media[0])
    assert plan.role == "server" and plan.rtcpMux and plan.remoteIce == ("zz", "y" * 22)
    assert offerPlan(peer(encryption=True), "udp").kind == "none"
    sdes = offerPlan(peer(encryption=True), "tls")
    assert (sdes.kind, sdes.proto) == ("sdes", "RTP/SAVP")
    sdes.offeredKeys = {1: ("AES_CM_128_HMAC_SHA1_80", bytes(30))}
    their = bytes(range(30))
    plain = offer("RTP/AVP")
    assert not applyAnswer(sdes, None, plain, plain.media[0])
    good = offer("RTP/SAVP", f"a=crypto:{Crypto(1, 'AES_CM_128_HMAC_SHA1_80', their)}\r\n")
    assert applyAnswer(sdes, None, good, good.media[0]) and sdes.remoteKey == their
    assert SecurityPlan().secure is False


def test_sip_conf_keys_and_the_webrtc_shorthand():
    import pytest

    from channels.sip.driver.peers import parseSIPConf
    from pbxcore.config import ConfigError, parseText

    config = parseSIPConf(parseText(
        "[general]\n[web]\ntype=friend\nhost=dynamic\ntransport=ws,wss\nwebrtc=yes\n"
        "[desk]\ntype=friend\nhost=dynamic\ntransport=tls\nencryption=yes\n"
        "dtlscertfile=/etc/c.pem\ndtlsprivatekey=/etc/k.pem\ndtlssetup=active\n"
        "dtlsverify=no\n", "sip.conf"))
    web, desk = config.peer("web"), config.peer("desk")
    assert web.transports == ["ws", "wss"]
    assert (web.avpf, web.icesupport, web.encryption, web.dtlsenable, web.rtcpMux) == (True,) * 5
    assert (web.dtlssetup, web.dtlsverify) == ("actpass", "fingerprint")
    assert (desk.encryption, desk.dtlsenable, desk.dtlssetup, desk.dtlsverify) == (
        True, False, "active", "no")
    assert (desk.dtlscertfile, desk.dtlsprivatekey) == ("/etc/c.pem", "/etc/k.pem")
    assert not config.warnings
    with pytest.raises(ConfigError, match=r"sip.conf:4: dtlssetup"):
        parseSIPConf(parseText("[general]\n[x]\ntype=friend\ndtlssetup=sideways\n", "sip.conf"))


def test_who_cannot_be_called_encrypted():
    assert cannotEncrypt(peer(encryption=True), "udp")
    assert not cannotEncrypt(peer(encryption=True), "tls")
    assert not cannotEncrypt(peer(encryption=True, dtlsenable=True), "udp")
    assert not cannotEncrypt(peer(), "udp")
