"""
res_sdp_rtp: the audio SDP handler of SIP sessions, registered in chan_sip's
C{sip.sdphandler} registry like any third-party handler would be.

It answers an audio offer with the codecs both sides have, in the peer's
preference order (ulaw, alaw, g722 when offered), plus telephone-event
(RFC 4733) when offered; refuses (port 0) what it cannot take; answers hold
directions (sendonly -> recvonly, inactive -> inactive). Each stream owns a
real RTP socket on the signalling address: packets received are counted and
turned into voice and DTMF frames for the channel, voice frames from the
core go out as RTP to the address the far end gave (or, for symmetric RTP,
where its packets come from).
"""

from __future__ import annotations

import os
import struct

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger
from zope.interface import implementer

from channels.sip.interfaces import ISDPHandler
from channels.sip.sdp import (
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
from pbxcore.frame import FrameKind, dtmfFrame, voiceFrame
from pbxcore.interfaces import IModule

RTP_PROTOS = ("RTP/AVP", "RTP/AVPF")
AUDIO_CODECS = ("ulaw", "alaw", "g722")
DTMF_PAYLOAD = 101
_EVENTS = "0123456789*#ABCD"


class RTPEndpoint(DatagramProtocol):
    """One RTP socket of one audio stream."""

    log = Logger()

    def __init__(self, session, stream):
        self.session = session
        self.stream = stream
        self.received = 0
        self.sent = 0
        self.remote = None
        self.sending = True
        self.symmetric = True
        self.payloads: dict[int, str] = {}
        self.sendPayloads: dict[str, int] = {}
        self.dtmfPayload: int | None = None
        self._ssrc = struct.unpack("!I", os.urandom(4))[0]
        self._seq = struct.unpack("!H", os.urandom(2))[0]
        self._timestamp = struct.unpack("!I", os.urandom(4))[0]
        self._lastEvent = None

    def datagramReceived(self, data, addr):
        self.received += 1
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        if self.symmetric and self.remote != addr:
            self.remote = addr
        pt = data[1] & 0x7F
        headerLength = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= headerLength + 4:
            headerLength += 4 + 4 * struct.unpack("!H", data[headerLength + 2:headerLength + 4])[0]
        payload = data[headerLength:]
        if data[0] & 0x20 and payload:
            payload = payload[:-payload[-1]] if payload[-1] <= len(payload) else b""
        if pt == self.dtmfPayload and self.dtmfPayload is not None:
            self._event(data, payload)
            return
        codec = self.payloads.get(pt)
        if codec is None or not payload:
            return
        timestamp = struct.unpack("!I", data[4:8])[0]
        self.session.frameReceived(voiceFrame(codec, payload, timestamp))

    def _event(self, header, payload):
        if len(payload) < 4:
            return
        event, flags, duration = payload[0], payload[1], struct.unpack("!H", payload[2:4])[0]
        if not flags & 0x80 or event >= len(_EVENTS):
            return
        timestamp = header[4:8]
        if self._lastEvent == timestamp:
            return  # the end packet is sent three times
        self._lastEvent = timestamp
        self.session.frameReceived(dtmfFrame(_EVENTS[event], True, duration // 8))

    def _header(self, pt, marker=False):
        self._seq = (self._seq + 1) & 0xFFFF
        return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self._seq,
                           self._timestamp, self._ssrc)

    def send(self, frame):
        if not self.sending or self.remote is None or self.transport is None:
            return
        pt = self.sendPayloads.get(frame.subclass)
        if pt is None:
            return
        self._timestamp = (self._timestamp + (frame.samples or len(frame.data))) & 0xFFFFFFFF
        try:
            self.transport.write(self._header(pt) + frame.data, self.remote)
            self.sent += 1
        except OSError as e:
            self.log.debug("RTP send failed: {error}", error=str(e))

    def sendDigit(self, digit, durationMs):
        if self.remote is None or self.transport is None or self.dtmfPayload is None:
            return False
        event = _EVENTS.find(digit.upper())
        if event < 0:
            return False
        duration = max(1, durationMs) * 8
        packets = [(False, min(duration, 160)), (True, duration), (True, duration), (True, duration)]
        for index, (end, length) in enumerate(packets):
            body = struct.pack("!BBH", event, (0x80 if end else 0) | 10, length & 0xFFFF)
            try:
                self.transport.write(self._headerNoAdvance(index == 0) + body, self.remote)
            except OSError:
                return False
        self._timestamp = (self._timestamp + duration) & 0xFFFFFFFF
        return True

    def _headerNoAdvance(self, marker):
        self._seq = (self._seq + 1) & 0xFFFF
        return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | self.dtmfPayload, self._seq,
                           self._timestamp, self._ssrc)


@implementer(ISDPHandler)
class AudioSDPHandler:
    """The audio handler: RTP/AVP with ulaw, alaw, g722 and telephone-event."""

    log = Logger()
    mediaType = "audio"
    name = "res_sdp_rtp"

    def __init__(self, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor

    def _endpoint(self, session, stream):
        endpoint = stream.state.get("rtp")
        if endpoint is None:
            endpoint = RTPEndpoint(session, stream)
            host = session.manager.mediaAddress(session.destination)
            stream.state["port"] = self.reactor.listenUDP(0, endpoint, interface=host)
            stream.state["rtp"] = endpoint
        return endpoint

    def _codecs(self, session):
        return [c for c in session.codecs if c in AUDIO_CODECS]

    def negotiateIncomingStream(self, session, stream, offer, media):
        if media.proto not in RTP_PROTOS:
            return refuseMedia(media)
        codecs = negotiateCodecs(media, self._codecs(session))
        if not codecs:
            return refuseMedia(media)
        dtmf = telephoneEventPayload(media)
        endpoint = self._endpoint(session, stream)
        stream.state["codecs"] = codecs
        endpoint.dtmfPayload = dtmf
        direction = answerDirection(directionOf(offer, media))
        port = stream.state["port"].getHost().port
        return buildAudioMedia(port, codecs, dtmf, direction, proto=media.proto)

    def createOutgoingStream(self, session, stream):
        codecs = assignPayloadTypes(self._codecs(session))
        if not codecs:
            return None
        endpoint = self._endpoint(session, stream)
        stream.state["offered"] = codecs
        endpoint.dtmfPayload = DTMF_PAYLOAD
        direction = "sendonly" if session.held else "sendrecv"
        port = stream.state["port"].getHost().port
        return buildAudioMedia(port, codecs, DTMF_PAYLOAD, direction)

    def applyNegotiatedStream(self, session, stream, local, remote):
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
        endpoint.payloads = {pt: name for pt, name in codecs}
        for pt, name, rtpmap in offeredCodecs(remote):
            if name is not None and name in AUDIO_CODECS:
                endpoint.payloads.setdefault(pt, name)
        endpoint.sendPayloads = {}
        for pt, name in codecs:
            endpoint.sendPayloads.setdefault(name, pt)
        direction = directionOf(description, remote) if description is not None else "sendrecv"
        endpoint.sending = direction in ("sendrecv", "recvonly") and address not in ("0.0.0.0", "::")
        if address and address not in ("0.0.0.0", "::"):
            endpoint.remote = (address, remote.port)

    def writeFrame(self, session, stream, frame):
        endpoint = stream.state.get("rtp")
        if endpoint is not None and frame.kind is FrameKind.VOICE:
            endpoint.send(frame)

    def sendDigit(self, session, stream, digit, durationMs):
        endpoint = stream.state.get("rtp")
        return endpoint is not None and endpoint.sendDigit(digit, durationMs)

    def streamStop(self, session, stream):
        endpoint = stream.state.get("rtp")
        if endpoint is not None:
            endpoint.sending = False

    def streamDestroy(self, session, stream):
        port = stream.state.pop("port", None)
        stream.state.pop("rtp", None)
        if port is not None:
            port.stopListening()


def codecName(encoding, rate):
    return codecForEncoding(encoding, rate)


@implementer(IModule)
class SDPRTPModule:
    """res_sdp_rtp: registers the audio SDP handler with chan_sip."""

    def load(self, pbx, registrar):
        registrar.register("sip.sdphandler", AudioSDPHandler(reactor=pbx.reactor))

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        pass
