"""
res_sdp_rtp: the audio SDP handler of SIP sessions, registered in chan_sip's
C{sip.sdphandler} registry like any third-party handler would be.

It answers an audio offer with the codecs both sides have, in the peer's
preference order (ulaw, alaw, g722 and opus when offered; the last two are
relayed as they come, never decoded), plus telephone-event
(RFC 4733) when offered; refuses (port 0) what it cannot take, and every
audio stream after the first it took (one audio stream a call, as
Asterisk); answers hold
directions (sendonly -> recvonly, inactive -> inactive). Each stream owns a
real RTP socket on the signalling address: packets received are counted and
turned into voice and DTMF frames for the channel, voice frames from the
core go out as RTP to the address the far end gave (or, for symmetric RTP,
where its packets come from).
"""

from __future__ import annotations

import dataclasses


from twisted.logger import Logger
from zope.interface import implementer

from channels.sip.driver import mediasecurity
from channels.sip.interfaces import ISDPHandler
from channels.sip.wire.sdp import (
    answerDirection,
    assignPayloadTypes,
    buildAudioMedia,
    codecFmtp,
    codecForEncoding,
    directionOf,
    negotiateCodecs,
    offeredCodecs,
    refuseMedia,
    telephoneEventPayload,
)
from pbxcore.api import MetricCollector, Module
from pbxcore.frame import FrameKind
from pbxcore.media.dtls import DTLSCertificate, DTLSError
from pbxcore.media.rtpsession import RTPEngine
from pbxcore.media.securertp import SecureRTPSession
from pbxcore.media.srtp import newMasterKey
from pbxcore.metrics import rtpMetrics

RTP_PROTOS = ("RTP/AVP", "RTP/AVPF")
AUDIO_CODECS = ("ulaw", "alaw", "g722", "opus")
DTMF_PAYLOAD = 101
#: What an RTP session can packetise (and transcode between) itself.
SENDABLE_CODECS = ("ulaw", "alaw")
#: Relayed as they come (no transcoding here): sent when both sides put them first,
#: so a call between two such legs is relayed natively.
NATIVE_CODECS = ("g722", "opus")


def _encryptionFailed(session, reason):
    """DTLS failed: the call cannot be encrypted, so it ends (cause 58, bearer not available)."""
    _rtpTimedOut(session, 58)


def _transportOf(session):
    destination = getattr(session, "destination", None)
    return (getattr(destination, "transport", "") or "udp").lower()


def _rtpTimedOut(session, cause):
    """No RTP for rtptimeout seconds: BYE the far end and hang the channel up."""
    session.end(cause)
    owner = session.owner
    if owner is not None and hasattr(owner, "sessionTerminated"):
        owner.sessionTerminated(session, cause)


@implementer(ISDPHandler)
class AudioSDPHandler:
    """The audio handler: RTP/AVP with ulaw, alaw, g722, opus and telephone-event."""

    log = Logger()
    mediaType = "audio"
    name = "res_sdp_rtp"

    def __init__(self, reactor=None, engine=None, certificate=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.engine = engine if engine is not None else RTPEngine(reactor=reactor)
        # The DTLS certificate of peers without dtlscertfile: made at start.
        self.certificate = certificate or DTLSCertificate.generate()
        self._certificates = {}

    def certificateFor(self, peer):
        """The peer's dtlscertfile/dtlsprivatekey, or the one made at start."""
        path = getattr(peer, "dtlscertfile", "") if peer is not None else ""
        if not path:
            return self.certificate
        key = (path, getattr(peer, "dtlsprivatekey", "") or None)
        certificate = self._certificates.get(key)
        if certificate is None:
            try:
                certificate = self._certificates[key] = DTLSCertificate.load(*key)
            except (OSError, DTLSError) as e:
                self.log.error("DTLS certificate of {peer}: {error}; using the generated one",
                               peer=peer.name, error=str(e))
                certificate = self._certificates[key] = self.certificate
        return certificate

    def _endpoint(self, session, stream, secure=False):
        """The stream's L{RTPSession}, bound from the rtp.conf range on first use."""
        endpoint = stream.state.get("rtp")
        if endpoint is None:
            peer = getattr(session, "peer", None)
            nat = getattr(peer, "nat", ()) or ()
            kw = dict(onFrame=session.frameReceived,
                      onTimeout=lambda cause: _rtpTimedOut(session, cause),
                      symmetric="comedia" in nat,
                      rtptimeout=getattr(peer, "rtptimeout", None) or None,
                      rtpholdtimeout=getattr(peer, "rtpholdtimeout", None) or None)
            if secure:
                endpoint = SecureRTPSession(
                    self.engine, onFailure=lambda reason: _encryptionFailed(session, reason), **kw)
            else:
                endpoint = self.engine.createSession(**kw)
            host = session.manager.mediaAddress(session.destination)
            endpoint.start(host)
            stream.state["rtp"] = endpoint
            stream.state["port"] = endpoint.localPort
        return endpoint

    def _secureAttributes(self, session, endpoint, plan, offer=False):
        """Configure the media shell for C{plan}; the a= lines that announce it."""
        peer = getattr(session, "peer", None)
        endpoint.rtcpMux = plan.rtcpMux
        ice = endpoint.useICE() if plan.ice else None
        if ice is not None and plan.remoteIce is not None:
            ice.setRemote(*plan.remoteIce)
        certificate = self.certificateFor(peer)
        fingerprint = None
        sdesKey = None
        if plan.kind == "dtls":
            fingerprint = "sha-256 " + ":".join(f"{b:02X}" for b in certificate.fingerprint)
            if plan.role is not None:
                endpoint.useDTLS(certificate, plan.role, plan.remoteFingerprint)
        elif plan.kind == "sdes" and not offer:
            sdesKey = endpoint.sdesKey = getattr(endpoint, "sdesKey", None) or newMasterKey(plan.suite)
            endpoint.useSDES(plan.suite, sdesKey, plan.remoteKey)
        return mediasecurity.localAttributes(
            plan, endpoint.localAddress, endpoint.localPort, endpoint.localRtcpPort,
            fingerprint=fingerprint, ice=ice, sdesKey=sdesKey, offer=offer)

    def _codecs(self, session):
        return [c for c in session.codecs if c in AUDIO_CODECS]

    def negotiateIncomingStream(self, session, stream, offer, media):
        peer = getattr(session, "peer", None)
        if self._hasAudioStream(session, stream, offer):
            return refuseMedia(media)
        plan = mediasecurity.answerPlan(peer, _transportOf(session), offer, media)
        if plan is None or (not plan.secure and media.proto not in RTP_PROTOS):
            return refuseMedia(media)
        current = stream.state.get("rtp")
        if current is not None and isinstance(current, SecureRTPSession) != plan.secure:
            return refuseMedia(media)   # a re-offer may not switch encryption on or off
        codecs = negotiateCodecs(media, self._codecs(session))
        if not codecs:
            return refuseMedia(media)
        dtmf = telephoneEventPayload(media)
        endpoint = self._endpoint(session, stream, plan.secure or plan.ice)
        stream.state["codecs"] = codecs
        stream.state["plan"] = plan
        endpoint.dtmfPayload = dtmf
        direction = answerDirection(directionOf(offer, media))
        answer = buildAudioMedia(endpoint.localPort, codecs, dtmf, direction, proto=media.proto,
                                 fmtp=codecFmtp(media, codecs))
        if plan.secure or plan.ice or plan.rtcpMux:
            extra = self._secureAttributes(session, endpoint, plan)
            answer = dataclasses.replace(answer, attributes=tuple(extra) + answer.attributes)
        return answer

    def _hasAudioStream(self, session, stream, offer) -> bool:
        """
        True when another m-line of this offer already has its audio taken
        by this handler: one audio stream a call, as chan_sip takes (and
        pjsip's max_audio_streams = 1); later ones are refused with port 0
        (RFC 3264 section 6).
        """
        return any(other is not stream and other.handler is self and other.local is not None
                   and other.local.port != 0
                   for other in session.streams[:len(offer.media)])

    def createOutgoingStream(self, session, stream):
        codecs = assignPayloadTypes(self._codecs(session))
        if not codecs:
            return None
        peer = getattr(session, "peer", None)
        plan = stream.state.get("plan")
        if plan is None:
            plan = mediasecurity.offerPlan(peer, _transportOf(session))
            if plan.kind == "sdes":
                plan.offeredKeys = {tag: (suite, newMasterKey(suite))
                                    for tag, suite in enumerate(mediasecurity.SDES_SUITES, 1)}
            stream.state["plan"] = plan
        elif plan.kind == "dtls" and plan.role is not None:
            # A re-offer keeps the association: the roles stay as negotiated.
            plan.setup = "active" if plan.role == "client" else "passive"
        if getattr(peer, "encryption", False) and not plan.secure:
            self.log.info("SIP/{peer}: encryption=yes but no way to encrypt over {transport}",
                          peer=getattr(peer, "name", "?"), transport=_transportOf(session))
            return None
        endpoint = self._endpoint(session, stream, plan.secure or plan.ice)
        stream.state["offered"] = codecs
        endpoint.dtmfPayload = DTMF_PAYLOAD
        direction = "sendonly" if session.held else "sendrecv"
        media = buildAudioMedia(endpoint.localPort, codecs, DTMF_PAYLOAD, direction, proto=plan.proto,
                                fmtp=codecFmtp(None, codecs))
        if plan.secure or plan.ice or plan.rtcpMux:
            extra = self._secureAttributes(session, endpoint, plan, offer=True)
            media = dataclasses.replace(media, attributes=tuple(extra) + media.attributes)
        return media

    def _applySecurity(self, session, stream, endpoint, remote):
        """Our offer was answered: key SRTP and start ICE/DTLS as the answer says."""
        plan = stream.state.get("plan")
        if plan is None or not isinstance(endpoint, SecureRTPSession):
            return True
        description = session.remoteSDP
        peer = getattr(session, "peer", None)
        if not mediasecurity.applyAnswer(plan, peer, description, remote):
            return False
        endpoint.rtcpMux = plan.rtcpMux
        if plan.ice and endpoint.ice is not None:
            endpoint.ice.setRemote(*plan.remoteIce)
        elif endpoint.ice is not None and not plan.ice:
            endpoint.ice = None
        if plan.kind == "sdes" and endpoint.srtp is None:
            endpoint.useSDES(plan.suite, plan.offeredKeys[plan.tag][1], plan.remoteKey)
        elif plan.kind == "dtls" and (endpoint.dtls is None or endpoint.dtls.done is False):
            endpoint.useDTLS(self.certificateFor(peer), plan.role, plan.remoteFingerprint)
        return True

    def applyNegotiatedStream(self, session, stream, local, remote):
        if local.port == 0:
            # A stream this side refused (a second audio stream): no RTP for it.
            endpoint = stream.state.get("rtp")
            if endpoint is not None:
                endpoint.sending = False
            return
        endpoint = self._endpoint(session, stream)
        if remote.port == 0:
            endpoint.sending = False
            return
        description = session.remoteSDP
        address = description.connectionFor(remote) if description is not None else None
        if stream.state.get("offered") and not self._applySecurity(session, stream, endpoint, remote):
            self.log.info("answer to our encrypted offer cannot be used: ending the call")
            endpoint.sending = False
            _encryptionFailed(session, "unusable answer")
            return
        ice = getattr(endpoint, "ice", None) is not None
        if ice and address in ("0.0.0.0", "::"):
            address = None      # ICE: the nominated pair says where media goes
        if "codecs" not in stream.state or stream.state.get("offered"):
            ours = [name for _, name in stream.state.get("offered", ())] or self._codecs(session)
            stream.state["codecs"] = negotiateCodecs(remote, ours)
            dtmf = telephoneEventPayload(remote)
            endpoint.dtmfPayload = dtmf
        codecs = stream.state.get("codecs") or []
        payloads = {pt: name for pt, name in codecs}
        for pt, name, rtpmap in offeredCodecs(remote):
            if name is not None and name in AUDIO_CODECS:
                payloads.setdefault(pt, name)
        ptime = remote.attribute("ptime")
        try:
            ptime = int(ptime) if ptime else None
        except ValueError:
            ptime = None
        sendable = [(pt, name) for pt, name in codecs if name in SENDABLE_CODECS]
        if codecs and codecs[0][1] in NATIVE_CODECS:
            sendable.insert(0, codecs[0])
        endpoint.setPayloads(payloads, send=sendable[0] if sendable else None,
                             dtmf=endpoint.dtmfPayload, ptime=ptime)
        direction = directionOf(description, remote) if description is not None else "sendrecv"
        endpoint.sending = direction in ("sendrecv", "recvonly") and address not in ("0.0.0.0", "::")
        endpoint.setHold(direction in ("sendonly", "inactive") or address in ("0.0.0.0", "::"))
        if ice and endpoint.ice.selected is not None:
            pass                # latched by ICE already
        elif address and address not in ("0.0.0.0", "::"):
            endpoint.setRemote((address, remote.port))

    def writeFrame(self, session, stream, frame):
        endpoint = stream.state.get("rtp")
        if endpoint is not None and frame.kind is FrameKind.VOICE:
            endpoint.writeFrame(frame)

    def sendDigit(self, session, stream, digit, durationMs):
        endpoint = stream.state.get("rtp")
        return endpoint is not None and endpoint.sendDigit(digit, durationMs)

    def streamStop(self, session, stream):
        endpoint = stream.state.get("rtp")
        if endpoint is not None:
            endpoint.sending = False

    def streamDestroy(self, session, stream):
        stream.state.pop("port", None)
        endpoint = stream.state.pop("rtp", None)
        if endpoint is not None:
            endpoint.close()


def codecName(encoding, rate):
    return codecForEncoding(encoding, rate)


class SDPRTPModule(Module):
    """res_sdp_rtp: registers the audio SDP handler with chan_sip."""

    def load(self, pbx, registrar):
        engine = RTPEngine.forPBX(pbx)
        registrar.register("sip.sdphandler", AudioSDPHandler(reactor=pbx.reactor, engine=engine))
        # The pooled RTP socket pairs close with the module.
        registrar.addCleanup(engine.closeSpare)
        registrar.register("metric", MetricCollector("asterisk_rtp", lambda: rtpMetrics(engine)))
