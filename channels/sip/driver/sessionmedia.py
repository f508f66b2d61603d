"""
The media half of an INVITE session: SDP offers and answers through the
C{sip.sdphandler} registry (one handler per m-line, RFC 3264 §6: the
answer keeps the offer's m-lines in order, refused ones with port 0),
streams applied and torn down, frames and RFC 4733 digits.

L{SessionMedia} is a base of L{channels.sip.driver.session.InviteSession}; it
needs C{manager}, C{destination}, C{streams}, C{localSDP}, C{remoteSDP}
and C{_tellOwner} from it.
"""

from __future__ import annotations

import dataclasses

from twisted.logger import Logger

from channels.sip.wire.sdp import Origin, SDPError, SessionDescription, refuseMedia

__all__ = ["MediaStream", "SessionMedia", "IncompatibleAnswer", "checkAnswer"]

#: Static RTP payload types (RFC 3551) by number, as rtpmap names.
_STATIC = {"0": "pcmu", "3": "gsm", "4": "g723", "8": "pcma", "9": "g722", "18": "g729"}
_NOT_MEDIA = {"telephone-event", "cn"}


class IncompatibleAnswer(SDPError):
    """An SDP answer that parses but cannot answer our offer (RFC 3264 §6)."""


def _encodings(media) -> set[str]:
    rtpmap = {}
    for value in media.attributeValues("rtpmap"):
        number, _, rest = value.partition(" ")
        rtpmap[number] = rest.split("/")[0].strip().lower()
    return {rtpmap.get(f) or _STATIC.get(f, f) for f in media.formats} - _NOT_MEDIA


def checkAnswer(offer: SessionDescription, answer: SessionDescription) -> None:
    """
    Raise L{IncompatibleAnswer} unless C{answer} answers C{offer}: as many
    m-lines in the same order, each accepted stream of the offered type
    with one of the offered formats, one stream accepted at least.
    """
    if len(answer.media) != len(offer.media):
        raise IncompatibleAnswer(f"the answer has {len(answer.media)} m-lines for {len(offer.media)} offered")
    accepted = False
    for mine, theirs in zip(offer.media, answer.media):
        if theirs.port == 0 or mine.port == 0:
            continue
        if theirs.mediaType != mine.mediaType:
            raise IncompatibleAnswer(f"{theirs.mediaType} answered for {mine.mediaType}")
        if mine.proto.startswith("RTP/") and not (_encodings(mine) & _encodings(theirs)):
            raise IncompatibleAnswer(f"no offered format in the answer's {theirs.mediaType} stream")
        accepted = True
    if not accepted:
        raise IncompatibleAnswer("the answer refuses every stream")

_SESSION_LEVEL = ("ice-lite", "group")


@dataclasses.dataclass
class MediaStream:
    """One m-line of a session and the handler that claimed it."""

    index: int
    mediaType: str
    handler: object = None
    state: dict = dataclasses.field(default_factory=dict)
    local: object = None
    remote: object = None


def _taken(stream) -> bool:
    """A stream our side did not refuse (no answer or offer yet, or one with a port)."""
    return stream.local is None or stream.local.port != 0


class SessionMedia:
    """SDP negotiation and the streams of one session."""

    log = Logger()


    def _handlersFor(self, mediaType):
        return [h for h in self.manager.sdpHandlers() if getattr(h, "mediaType", None) == mediaType]

    def _nextDescription(self, media) -> SessionDescription:
        self._sdpVersion += 1
        host = self.manager.mediaAddress(self.destination)
        origin = Origin("-", self._sdpSession, str(self._sdpVersion), "IN",
                        "IP6" if ":" in host else "IP4", host)
        # a=ice-lite and a=group (BUNDLE) belong to the session (RFC 8839, RFC 9143):
        # handlers put them on their streams and they are moved up here.
        hoisted = []
        for m in media:
            for attribute in m.attributes:
                if attribute[0] in _SESSION_LEVEL and attribute not in hoisted:
                    hoisted.append(attribute)
        if hoisted:
            media = [dataclasses.replace(m, attributes=tuple(
                a for a in m.attributes if a[0] not in _SESSION_LEVEL)) for m in media]
        return SessionDescription(origin=origin, sessionName="txpbx", connection=host,
                                  addrType=origin.addrType, media=tuple(media),
                                  attributes=tuple(hoisted))

    def negotiateOffer(self, offer: SessionDescription) -> SessionDescription:
        """
        Answer a remote offer through the SDP handlers, m-line by m-line in
        order; raise SDPError when no stream was accepted (488).
        """
        answers = []
        accepted = False
        for index, media in enumerate(offer.media):
            stream = self.streams[index] if index < len(self.streams) else None
            if stream is None or stream.mediaType != media.mediaType:
                if stream is not None:
                    self._destroyStream(stream)
                stream = MediaStream(index, media.mediaType)
                if index < len(self.streams):
                    self.streams[index] = stream
                else:
                    self.streams.append(stream)
            answer = None
            if media.port != 0:
                handlers = [stream.handler] if stream.handler is not None else self._handlersFor(media.mediaType)
                for handler in handlers:
                    answer = handler.negotiateIncomingStream(self, stream, offer, media)
                    if answer is not None:
                        stream.handler = handler
                        break
            if answer is None:
                answer = refuseMedia(media)
            if answer.port != 0:
                accepted = True
            stream.remote = media
            stream.local = answer
            answers.append(answer)
        for stream in self.streams[len(offer.media):]:
            self._destroyStream(stream)
        del self.streams[len(offer.media):]
        if not accepted:
            raise SDPError("no media stream could be accepted")
        self.remoteSDP = offer
        self.localSDP = self._nextDescription(answers)
        return self.localSDP

    def createOffer(self) -> SessionDescription:
        """An offer from the handlers (one audio stream at least, when a handler exists)."""
        media = []
        if not self.streams:
            for mediaType in ("audio", "video", "image"):
                handlers = self._handlersFor(mediaType)
                if handlers and mediaType == "audio":
                    self.streams.append(MediaStream(len(self.streams), mediaType))
        for stream in self.streams:
            offer = None
            handlers = [stream.handler] if stream.handler is not None else self._handlersFor(stream.mediaType)
            for handler in handlers:
                offer = handler.createOutgoingStream(self, stream)
                if offer is not None:
                    stream.handler = handler
                    break
            if offer is None:
                continue
            stream.local = offer
            media.append(offer)
        self.localSDP = self._nextDescription(media)
        return self.localSDP

    def applyAnswer(self, answer: SessionDescription):
        """The remote answer to our offer: checked (L{checkAnswer}), then every stream applied."""
        if self.localSDP is not None:
            checkAnswer(self.localSDP, answer)
        self.remoteSDP = answer
        active = [s for s in self.streams if s.local is not None]
        for stream, media in zip(active, answer.media):
            stream.remote = media
        self.applyStreams()

    def applyStreams(self):
        for stream in self.streams:
            if stream.handler is None or stream.local is None or stream.remote is None:
                continue
            try:
                stream.handler.applyNegotiatedStream(self, stream, stream.local, stream.remote)
            except Exception:
                self.log.failure("SDP handler {handler!r} could not apply stream {index}",
                                 handler=stream.handler, index=stream.index)

    def _destroyStream(self, stream):
        if stream.handler is None:
            return
        for name in ("streamStop", "streamDestroy"):
            try:
                getattr(stream.handler, name)(self, stream)
            except Exception:
                self.log.failure("SDP handler {name} failed", name=name)
        stream.handler = None

    def writeFrame(self, frame):
        """A media frame from the core, to the first taken audio stream whose handler can send it."""
        for stream in self.streams:
            write = getattr(stream.handler, "writeFrame", None)
            if write is not None and stream.mediaType == "audio" and _taken(stream):
                return write(self, stream, frame)
        return None

    def sendDigit(self, digit, durationMs):
        """RFC 4733 through the audio handler; False when no stream can."""
        for stream in self.streams:
            send = getattr(stream.handler, "sendDigit", None)
            if send is not None and _taken(stream):
                return bool(send(self, stream, digit, durationMs))
        return False

    def frameReceived(self, frame):
        """Media handlers deliver frames here; they go to the owner (the channel)."""
        self._tellOwner("sessionFrame", frame)

