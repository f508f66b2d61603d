"""
res_sdp_rtp: the audio SDP handler of SIP sessions, registered in chan_sip's
C{sip.sdphandler} registry like any third-party handler would be.

It answers an audio offer with the codecs both sides have, in the peer's
preference order (ulaw, alaw, g722 when offered), plus telephone-event
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


from twisted.logger import Logger
from zope.interface import implementer

from channels.sip.interfaces import ISDPHandler
from channels.sip.wire.sdp import (
    answerDirection,
    assignPayloadTypes,
    buildAudioMedia,
    codecForEncoding,
    directionOf,
    negotiateCodecs,
    offeredCodecs,
    refuseMedia,
    telephoneEventPayload,
)
from pbxcore.api import Module
from pbxcore.frame import FrameKind
from pbxcore.media.rtpsession import RTPEngine

RTP_PROTOS = ("RTP/AVP", "RTP/AVPF")
AUDIO_CODECS = ("ulaw", "alaw", "g722")
DTMF_PAYLOAD = 101
#: What an RTP session can packetise (and transcode between) itself.
SENDABLE_CODECS = ("ulaw", "alaw")


def _rtpTimedOut(session, cause):
    """No RTP for rtptimeout seconds: BYE the far end and hang the channel up."""
    session.end(cause)
    owner = session.owner
    if owner is not None and hasattr(owner, "sessionTerminated"):
        owner.sessionTerminated(session, cause)


@implementer(ISDPHandler)
class AudioSDPHandler:
    """The audio handler: RTP/AVP with ulaw, alaw, g722 and telephone-event."""

    log = Logger()
    mediaType = "audio"
    name = "res_sdp_rtp"

    def __init__(self, reactor=None, engine=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.engine = engine if engine is not None else RTPEngine(reactor=reactor)

    def _endpoint(self, session, stream):
        """The stream's L{RTPSession}, bound from the rtp.conf range on first use."""
        endpoint = stream.state.get("rtp")
        if endpoint is None:
            peer = getattr(session, "peer", None)
            nat = getattr(peer, "nat", ()) or ()
            endpoint = self.engine.createSession(
                onFrame=session.frameReceived,
                onTimeout=lambda cause: _rtpTimedOut(session, cause),
                symmetric="comedia" in nat,
                rtptimeout=getattr(peer, "rtptimeout", None) or None,
                rtpholdtimeout=getattr(peer, "rtpholdtimeout", None) or None)
            host = session.manager.mediaAddress(session.destination)
            endpoint.start(host)
            stream.state["rtp"] = endpoint
            stream.state["port"] = endpoint.localPort
        return endpoint

    def _codecs(self, session):
        return [c for c in session.codecs if c in AUDIO_CODECS]

    def negotiateIncomingStream(self, session, stream, offer, media):
        if media.proto not in RTP_PROTOS or self._hasAudioStream(session, stream, offer):
            return refuseMedia(media)
        codecs = negotiateCodecs(media, self._codecs(session))
        if not codecs:
            return refuseMedia(media)
        dtmf = telephoneEventPayload(media)
        endpoint = self._endpoint(session, stream)
        stream.state["codecs"] = codecs
        endpoint.dtmfPayload = dtmf
        direction = answerDirection(directionOf(offer, media))
        return buildAudioMedia(endpoint.localPort, codecs, dtmf, direction, proto=media.proto)

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
        endpoint = self._endpoint(session, stream)
        stream.state["offered"] = codecs
        endpoint.dtmfPayload = DTMF_PAYLOAD
        direction = "sendonly" if session.held else "sendrecv"
        return buildAudioMedia(endpoint.localPort, codecs, DTMF_PAYLOAD, direction)

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
        endpoint.setPayloads(payloads, send=sendable[0] if sendable else None,
                             dtmf=endpoint.dtmfPayload, ptime=ptime)
        direction = directionOf(description, remote) if description is not None else "sendrecv"
        endpoint.sending = direction in ("sendrecv", "recvonly") and address not in ("0.0.0.0", "::")
        endpoint.setHold(direction in ("sendonly", "inactive") or address in ("0.0.0.0", "::"))
        if address and address not in ("0.0.0.0", "::"):
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
        registrar.register("sip.sdphandler", AudioSDPHandler(reactor=pbx.reactor,
                                                             engine=RTPEngine.forPBX(pbx)))
