"""
What a peer's media encryption and WebRTC settings make of an SDP stream:
SDES-SRTP (RFC 4568), DTLS-SRTP (RFC 5763/5764), ICE (lite) and rtcp-mux.

Pure: a peer, the signalling transport and an m= section go in; a
L{SecurityPlan} (or None: refuse the stream, which makes a 488 when no
stream is left) and the a= lines to add come out. The media shell
(L{pbxcore.media.securertp}) does what the plan says.

Rules (Asterisk's chan_sip settings): C{encryption=yes} refuses a stream
that is not SRTP; SDES keys travel in clear in the SDP, so SDES is taken
only when the signalling is TLS or WSS; DTLS-SRTP needs C{dtlsenable=yes};
ICE is answered when C{icesupport=yes} and the offer has credentials;
rtcp-mux when C{rtcp_mux=yes} (or webrtc=yes) and offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from channels.sip.wire.sdp import (
    DTLS_PROFILES, SECURE_PROFILES, Candidate, Crypto, Fingerprint, SDPError, SessionDescription,
    Media, iceCredentials, mediaOrSession,
)

__all__ = ["SecurityPlan", "answerPlan", "offerPlan", "applyAnswer", "offerProto", "cannotEncrypt",
           "localAttributes", "SECURE_TRANSPORTS", "PLAIN_PROFILES", "SDES_SUITES"]

PLAIN_PROFILES = ("RTP/AVP", "RTP/AVPF")
SECURE_TRANSPORTS = ("tls", "wss")
SDES_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
_CLIENT, _SERVER = "client", "server"


@dataclass
class SecurityPlan:
    """How one stream is protected and connected."""

    kind: str = "none"                       # "none", "sdes" or "dtls"
    proto: str = "RTP/AVP"
    ice: bool = False
    rtcpMux: bool = False
    remoteIce: tuple[str, str] | None = None
    # SDES: the suite and tag agreed, the far end's key; offered: ours per tag.
    suite: str | None = None
    tag: int | None = None
    remoteKey: bytes | None = None
    offeredKeys: dict = field(default_factory=dict)
    # DTLS: our role ("client" = a=setup:active), our a=setup, the far end's fingerprint.
    role: str | None = None
    setup: str | None = None
    remoteFingerprint: bytes | None = None
    mid: str | None = None
    bundle: bool = False

    @property
    def secure(self) -> bool:
        return self.kind != "none"


def _setting(peer, name, default=False):
    return getattr(peer, name, default) if peer is not None else default


def _fingerprint(description, media, peer) -> bytes | None:
    text = mediaOrSession(description, media, "fingerprint")
    if text is None:
        return None
    value = Fingerprint.parse(text)
    if value.algorithm != "sha-256":
        raise SDPError(f"fingerprint hash {value.algorithm} is not sha-256")
    return None if _setting(peer, "dtlsverify", "fingerprint") == "no" else value.digest


def _answerDTLS(plan, description, media, peer) -> SecurityPlan | None:
    if not _setting(peer, "dtlsenable"):
        return None
    try:
        plan.remoteFingerprint = _fingerprint(description, media, peer)
    except SDPError:
        return None
    remote = (mediaOrSession(description, media, "setup") or "active").strip().lower()
    if remote == "active":
        plan.role, plan.setup = _SERVER, "passive"
    elif remote == "passive":
        plan.role, plan.setup = _CLIENT, "active"
    elif remote == "actpass":
        mine = _setting(peer, "dtlssetup", "actpass")
        plan.setup = "active" if mine == "active" else "passive"
        plan.role = _CLIENT if plan.setup == "active" else _SERVER
    else:
        return None
    plan.kind = "dtls"
    return plan


def _answerSDES(plan, media, transport) -> SecurityPlan | None:
    if transport not in SECURE_TRANSPORTS:
        return None
    for value in media.attributeValues("crypto"):
        try:
            crypto = Crypto.parse(value)
        except SDPError:
            continue
        if crypto.suite in SDES_SUITES and len(crypto.key) == 30 and not crypto.sessionParams:
            plan.kind, plan.suite, plan.tag, plan.remoteKey = "sdes", crypto.suite, crypto.tag, crypto.key
            return plan
    return None


def answerPlan(peer, transport: str, description: SessionDescription, media: Media) -> SecurityPlan | None:
    """How to answer C{media} of an offer; None refuses the stream."""
    proto = media.proto
    plan = SecurityPlan(proto=proto, mid=media.attribute("mid"))
    group = (description.attribute("group") or "").split()
    plan.bundle = bool(group) and group[0] == "BUNDLE" and plan.mid in group[1:]
    if _setting(peer, "icesupport"):
        plan.remoteIce = iceCredentials(description, media)
        plan.ice = plan.remoteIce is not None
    plan.rtcpMux = media.hasAttribute("rtcp-mux") and _setting(peer, "rtcpMux")
    if proto in PLAIN_PROFILES:
        return None if _setting(peer, "encryption") else plan
    if proto not in SECURE_PROFILES:
        return None
    hasFingerprint = mediaOrSession(description, media, "fingerprint") is not None
    if proto in DTLS_PROFILES or (hasFingerprint and not media.hasAttribute("crypto")):
        return _answerDTLS(plan, description, media, peer)
    return _answerSDES(plan, media, transport)


def offerProto(kind: str, avpf: bool) -> str:
    base = {"dtls": "UDP/TLS/RTP/SAVP", "sdes": "RTP/SAVP"}.get(kind, "RTP/AVP")
    return base + "F" if avpf else base


def offerPlan(peer, transport: str) -> SecurityPlan:
    """What we offer a peer: DTLS when dtlsenable, SDES when encryption (over TLS), else RTP."""
    kind = "none"
    if _setting(peer, "dtlsenable"):
        kind = "dtls"
    elif _setting(peer, "encryption") and transport in SECURE_TRANSPORTS:
        kind = "sdes"
    plan = SecurityPlan(kind=kind, proto=offerProto(kind, _setting(peer, "avpf")),
                        ice=_setting(peer, "icesupport"), rtcpMux=_setting(peer, "rtcpMux"))
    if kind == "dtls":
        plan.setup = _setting(peer, "dtlssetup", "actpass") or "actpass"
    if _setting(peer, "avpf") and plan.ice:
        # Browsers (max-bundle) want the one stream in a BUNDLE group (RFC 9143).
        plan.mid, plan.bundle = "0", True
    return plan


def cannotEncrypt(peer, transport: str) -> bool:
    """A peer with encryption=yes that we could only call in clear (SDES over UDP/TCP)."""
    return bool(_setting(peer, "encryption")) and not offerPlan(peer, transport).secure


def applyAnswer(plan: SecurityPlan, peer, description: SessionDescription, media: Media) -> bool:
    """Take the far end's answer to our offer into C{plan}; False: it cannot be used."""
    if plan.ice:
        plan.remoteIce = iceCredentials(description, media)
        plan.ice = plan.remoteIce is not None
    plan.rtcpMux = plan.rtcpMux and media.hasAttribute("rtcp-mux")
    if plan.kind == "none":
        return media.proto in PLAIN_PROFILES
    if media.proto not in SECURE_PROFILES:
        return False
    if plan.kind == "sdes":
        for value in media.attributeValues("crypto"):
            try:
                crypto = Crypto.parse(value)
            except SDPError:
                continue
            offered = plan.offeredKeys.get(crypto.tag)
            if offered is not None and offered[0] == crypto.suite and len(crypto.key) == 30:
                plan.suite, plan.tag, plan.remoteKey = crypto.suite, crypto.tag, crypto.key
                return True
        return False
    try:
        plan.remoteFingerprint = _fingerprint(description, media, peer)
    except SDPError:
        return False
    remote = (mediaOrSession(description, media, "setup") or "").strip().lower()
    if remote == "active":
        plan.role = _SERVER
    elif remote == "passive":
        plan.role = _CLIENT
    elif plan.setup in ("active", "passive"):
        plan.role = _CLIENT if plan.setup == "active" else _SERVER
    else:
        # An answer must not say actpass (RFC 5763 section 5); the offerer is then passive.
        plan.role = _SERVER
    return True


def localAttributes(plan: SecurityPlan, host: str, port: int, rtcpPort: int | None,
                    fingerprint: str | None = None, ice=None, sdesKey: bytes | None = None,
                    offer: bool = False) -> list[tuple[str, str | None]]:
    """
    Our a= lines for the plan: ICE credentials and host candidates (and
    a=ice-lite, which the session hoists to the session level), DTLS
    fingerprint and setup, SDES crypto (all suites when offering), rtcp-mux.
    """
    out: list[tuple[str, str | None]] = []
    if plan.mid is not None:
        out.append(("mid", plan.mid))
        if plan.bundle:
            out.append(("group", f"BUNDLE {plan.mid}"))
    if plan.ice and ice is not None:
        out.append(("ice-lite", None))
        out.append(("ice-ufrag", ice.localUfrag))
        out.append(("ice-pwd", ice.localPwd))
        out.append(("candidate", str(Candidate("1", 1, "UDP", Candidate.hostPriority(1), host,
                                               port, "host"))))
        if not plan.rtcpMux and rtcpPort:
            out.append(("candidate", str(Candidate("1", 2, "UDP", Candidate.hostPriority(2),
                                                   host, rtcpPort, "host"))))
    if plan.kind == "dtls":
        out.append(("fingerprint", fingerprint))
        out.append(("setup", plan.setup or "actpass"))
    elif plan.kind == "sdes":
        if offer:
            for tag, (suite, key) in sorted(plan.offeredKeys.items()):
                out.append(("crypto", str(Crypto(tag, suite, key))))
        else:
            out.append(("crypto", str(Crypto(plan.tag, plan.suite, sdesKey))))
    if plan.rtcpMux:
        out.append(("rtcp-mux", None))
    return out
