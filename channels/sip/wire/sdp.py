"""
SDP (RFC 4566) parsing and writing, and the offer/answer helpers of
RFC 3264 the SDP handlers share.

Pure: bytes in, frozen dataclasses out, and back. A description that cannot
be used as an offer or answer raises L{SDPError} (the session answers 400,
or sends BYE when it came in an ACK).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass, field
from typing import Iterable

__all__ = [
    "SDPError", "Origin", "RTPMap", "Media", "SessionDescription", "parseSDP",
    "STATIC_PAYLOADS", "codecForEncoding", "encodingForCodec", "offeredCodecs",
    "negotiateCodecs", "answerDirection", "buildAudioMedia", "refuseMedia",
    "directionOf", "DIRECTIONS", "codecFmtp", "DEFAULT_FMTP", "telephoneEventPayload", "assignPayloadTypes", "rtpmapLine",
    "Candidate", "Crypto", "Fingerprint", "RTCPFeedback", "iceCredentials", "mediaOrSession",
    "SETUP_ROLES", "SECURE_PROFILES", "DTLS_PROFILES",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

#: Static RTP payload types (RFC 3551) as (encoding, clock rate).
STATIC_PAYLOADS: dict[int, tuple[str, int]] = {
    0: ("PCMU", 8000), 3: ("GSM", 8000), 4: ("G723", 8000), 8: ("PCMA", 8000),
    9: ("G722", 8000), 18: ("G729", 8000),
}

#: Asterisk codec names and their RTP encoding names.
_CODEC_ENCODINGS = {
    "ulaw": ("PCMU", 8000), "alaw": ("PCMA", 8000), "g722": ("G722", 8000),
    "gsm": ("GSM", 8000), "g729": ("G729", 8000), "g723": ("G723", 8000),
    "ilbc": ("iLBC", 8000), "speex": ("speex", 8000), "speex16": ("speex", 16000),
    "opus": ("opus", 48000), "slin": ("L16", 8000), "slin16": ("L16", 16000),
}
#: Channels written in the rtpmap (RFC 7587: opus is always "opus/48000/2").
_CODEC_CHANNELS = {"opus": 2}
#: The a=fmtp parameters offered with a codec (RFC 7587 section 6.1).
DEFAULT_FMTP = {"opus": "useinbandfec=1"}
_STATIC_FOR_CODEC = {"ulaw": 0, "gsm": 3, "g723": 4, "alaw": 8, "g722": 9, "g729": 18}
_DYNAMIC_START = 96


class SDPError(ValueError):
    """A session description that cannot be used; C{str()} says why."""


@dataclass(frozen=True)
class Origin:
    """The o= line."""

    username: str = "-"
    sessionId: str = "0"
    sessionVersion: str = "0"
    netType: str = "IN"
    addrType: str = "IP4"
    address: str = "127.0.0.1"

    def __str__(self) -> str:
        return (f"{self.username} {self.sessionId} {self.sessionVersion} "
                f"{self.netType} {self.addrType} {self.address}")


@dataclass(frozen=True)
class RTPMap:
    payload: int
    encoding: str
    clockRate: int
    channels: int | None = None


@dataclass(frozen=True)
class Media:
    """One m= section with its c= and a= lines."""

    mediaType: str
    port: int
    proto: str
    formats: tuple[str, ...]
    portCount: int | None = None
    connection: str | None = None          # the address of a media-level c=
    addrType: str = "IP4"
    attributes: tuple[tuple[str, str | None], ...] = ()
    bandwidth: tuple[str, ...] = ()
    info: tuple[tuple[str, str], ...] = ()  # i= and k= lines, kept in order

    def attribute(self, name: str) -> str | None:
        """The value of the first a=name (empty string for a flag), or None."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def attributeValues(self, name: str) -> list[str]:
        return ["" if v is None else v for k, v in self.attributes if k == name]

    def hasAttribute(self, name: str) -> bool:
        return any(k == name for k, _ in self.attributes)

    @property
    def rtpmaps(self) -> dict[int, RTPMap]:
        maps: dict[int, RTPMap] = {}
        for value in self.attributeValues("rtpmap"):
            parsed = _parseRTPMap(value)
            if parsed is not None:
                maps.setdefault(parsed.payload, parsed)
        return maps

    def fmtp(self, payload: int) -> str | None:
        prefix = f"{payload} "
        for value in self.attributeValues("fmtp"):
            if value.startswith(prefix):
                return value[len(prefix):].strip()
        return None

    @property
    def direction(self) -> str | None:
        """The media-level direction attribute, or None."""
        for key, _ in self.attributes:
            if key in DIRECTIONS:
                return key
        return None

    def withDirection(self, direction: str) -> "Media":
        attributes = tuple((k, v) for k, v in self.attributes if k not in DIRECTIONS)
        return dataclasses.replace(self, attributes=attributes + ((direction, None),))

    def lines(self) -> list[str]:
        count = f"/{self.portCount}" if self.portCount is not None else ""
        out = [f"m={self.mediaType} {self.port}{count} {self.proto} {' '.join(self.formats)}".rstrip()]
        out.extend(f"{k}={v}" for k, v in self.info if k == "i")
        if self.connection is not None:
            out.append(f"c=IN {self.addrType} {self.connection}")
        out.extend(f"b={b}" for b in self.bandwidth)
        out.extend(f"{k}={v}" for k, v in self.info if k == "k")
        out.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes)
        return out


@dataclass(frozen=True)
class SessionDescription:
    """A whole session description, media sections in order."""

    origin: Origin = field(default_factory=Origin)
    sessionName: str = "-"
    connection: str | None = None          # the address of the session-level c=
    addrType: str = "IP4"
    times: tuple[str, ...] = ("0 0",)
    attributes: tuple[tuple[str, str | None], ...] = ()
    media: tuple[Media, ...] = ()
    other: tuple[tuple[str, str], ...] = ()  # i u e p b z k r lines of the session, kept
    version: int = 0

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def connectionFor(self, media: Media) -> str | None:
        """The address media is sent to: the media's c=, else the session's."""
        return media.connection if media.connection is not None else self.connection

    def toBytes(self) -> bytes:
        out = [f"v={self.version}", f"o={self.origin}", f"s={self.sessionName or '-'}"]
        out.extend(f"{k}={v}" for k, v in self.other if k in ("i", "u", "e", "p"))
        if self.connection is not None:
            out.append(f"c=IN {self.addrType} {self.connection}")
        out.extend(f"b={v}" for k, v in self.other if k == "b")
        for t in self.times:
            out.append(f"t={t}")
        out.extend(f"{k}={v}" for k, v in self.other if k in ("r", "z", "k"))
        out.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes)
        for media in self.media:
            out.extend(media.lines())
        return ("\r\n".join(out) + "\r\n").encode("utf-8")


def _parseRTPMap(value: str) -> RTPMap | None:
    try:
        pt, _, rest = value.strip().partition(" ")
        parts = rest.strip().split("/")
        encoding = parts[0]
        clock = int(parts[1]) if len(parts) > 1 and parts[1] else 8000
        channels = int(parts[2]) if len(parts) > 2 and parts[2] else None
        payload = int(pt)
    except ValueError:
        return None
    if not encoding or not 0 <= payload <= 127:
        return None
    return RTPMap(payload, encoding, clock, channels)


def _parseConnection(value: str, where: str) -> tuple[str, str]:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SDPError(f"bad connection line at {where}: c={value}")
    address = parts[2].split("/", 1)[0]
    if not address:
        raise SDPError(f"bad connection address at {where}")
    return parts[1], address


def _parseAttribute(value: str) -> tuple[str, str | None]:
    name, sep, rest = value.partition(":")
    if not name or " " in name:
        raise SDPError(f"bad attribute a={value}")
    return name, (rest if sep else None)


def _sdpLines(data: bytes | str) -> list[str]:
    """The non-empty lines of a session description; it must start with v=0."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SDPError("SDP is not UTF-8") from e
    else:
        text = data
    lines = [line.rstrip("\r") for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    if not lines or lines[0].strip() != "v=0":
        raise SDPError("SDP does not start with v=0")
    return lines


def _parseMediaLine(value: str, where: str) -> dict:
    """The fields of an m= line, as the start of a media section being read."""
    parts = value.split()
    if len(parts) < 3:
        raise SDPError(f"bad media line at {where}: m={value}")
    portText, _, countText = parts[1].partition("/")
    try:
        port = int(portText)
        count = int(countText) if countText else None
    except ValueError:
        raise SDPError(f"bad media port at {where}: {parts[1]}") from None
    if not 0 <= port <= 65535:
        raise SDPError(f"media port out of range at {where}: {port}")
    return {"mediaType": parts[0], "port": port, "portCount": count,
            "proto": parts[2], "formats": tuple(parts[3:]), "connection": None,
            "addrType": "IP4", "attributes": [], "bandwidth": [], "info": []}


def parseSDP(data: bytes | str) -> SessionDescription:
    """
    Parse a session description. Lenient about line endings and unknown
    lines, strict about what an offer/answer needs: v=0 first, o=, one m=
    line form per section, a connection address for every active stream.
    """
    lines = _sdpLines(data)
    origin = None
    sessionName = "-"
    connection = None
    addrType = "IP4"
    times: list[str] = []
    attributes: list[tuple[str, str | None]] = []
    other: list[tuple[str, str]] = []
    media: list[dict] = []
    for number, line in enumerate(lines[1:], 2):
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise SDPError(f"SDP line {number} is not type=value: {line[:40]!r}")
        kind, value = line[0], line[2:].strip()
        where = f"line {number}"
        if kind == "m":
            media.append(_parseMediaLine(value, where))
            continue
        if media:
            current = media[-1]
            if kind == "c":
                current["addrType"], current["connection"] = _parseConnection(value, where)
            elif kind == "a":
                current["attributes"].append(_parseAttribute(value))
            elif kind == "b":
                current["bandwidth"].append(value)
            elif kind in ("i", "k"):
                current["info"].append((kind, value))
            # other kinds inside a media section are ignored (RFC 4566 §5)
            continue
        if kind == "o":
            parts = value.split()
            if len(parts) != 6:
                raise SDPError(f"bad origin line at {where}: o={value}")
            origin = Origin(*parts)
        elif kind == "s":
            sessionName = value or "-"
        elif kind == "c":
            addrType, connection = _parseConnection(value, where)
        elif kind == "t":
            times.append(value)
        elif kind == "a":
            attributes.append(_parseAttribute(value))
        elif kind == "v":
            raise SDPError(f"second v= line at {where}")
        else:
            other.append((kind, value))
    if origin is None:
        raise SDPError("SDP has no o= line")
    built = []
    for m in media:
        built.append(Media(
            mediaType=m["mediaType"], port=m["port"], proto=m["proto"], formats=m["formats"],
            portCount=m["portCount"], connection=m["connection"], addrType=m["addrType"],
            attributes=tuple(m["attributes"]), bandwidth=tuple(m["bandwidth"]), info=tuple(m["info"])))
    description = SessionDescription(
        origin=origin, sessionName=sessionName, connection=connection, addrType=addrType,
        times=tuple(times) or ("0 0",), attributes=tuple(attributes), media=tuple(built),
        other=tuple(other))
    for index, m in enumerate(description.media):
        if m.port != 0 and description.connectionFor(m) is None:
            raise SDPError(f"media stream {index} ({m.mediaType}) has no connection address")
        if m.port != 0 and not m.formats:
            raise SDPError(f"media stream {index} ({m.mediaType}) lists no formats")
    return description


# -- offer / answer -------------------------------------------------------------


def directionOf(description: SessionDescription, media: Media) -> str:
    """The effective direction of C{media}: its own, the session's, else sendrecv."""
    if media.direction is not None:
        return media.direction
    for key, _ in description.attributes:
        if key in DIRECTIONS:
            return key
    return "sendrecv"


def answerDirection(offered: str, local: str = "sendrecv") -> str:
    """
    The direction that answers C{offered} (RFC 3264 §6.1), given what we want
    (C{local}: sendrecv, or sendonly when we hold the call).
    """
    wantSend = local in ("sendrecv", "sendonly")
    wantRecv = local in ("sendrecv", "recvonly")
    canSend = offered in ("sendrecv", "recvonly") and wantSend
    canRecv = offered in ("sendrecv", "sendonly") and wantRecv
    if canSend and canRecv:
        return "sendrecv"
    if canSend:
        return "sendonly"
    if canRecv:
        return "recvonly"
    return "inactive"


def codecForEncoding(encoding: str, clockRate: int) -> str | None:
    """The Asterisk codec name of an RTP encoding, or None."""
    lowered = encoding.lower()
    for codec, (name, rate) in _CODEC_ENCODINGS.items():
        if name.lower() == lowered and rate == clockRate:
            return codec
    return None


def encodingForCodec(codec: str) -> tuple[str, int] | None:
    return _CODEC_ENCODINGS.get(codec.lower())


def offeredCodecs(media: Media) -> list[tuple[int, str | None, RTPMap | None]]:
    """
    (payload type, codec name or None, rtpmap) for every format of C{media},
    in the offer's order; static types need no rtpmap.
    """
    maps = media.rtpmaps
    out = []
    for fmt in media.formats:
        try:
            pt = int(fmt)
        except ValueError:
            out.append((-1, None, None))
            continue
        rtpmap = maps.get(pt)
        if rtpmap is None and pt in STATIC_PAYLOADS:
            encoding, rate = STATIC_PAYLOADS[pt]
            rtpmap = RTPMap(pt, encoding, rate)
        codec = codecForEncoding(rtpmap.encoding, rtpmap.clockRate) if rtpmap is not None else None
        out.append((pt, codec, rtpmap))
    return out


def telephoneEventPayload(media: Media, clockRate: int = 8000) -> int | None:
    """The payload type of telephone-event (RFC 4733) at C{clockRate}, if offered."""
    for pt, _, rtpmap in offeredCodecs(media):
        if rtpmap is not None and rtpmap.encoding.lower() == "telephone-event" and rtpmap.clockRate == clockRate:
            return pt
    return None


def negotiateCodecs(media: Media, preferences: Iterable[str]) -> list[tuple[int, str]]:
    """
    The codecs both sides have, in our (the peer's configured) preference
    order, each with the payload type the offer used.
    """
    offered: dict[str, int] = {}
    for pt, codec, _ in offeredCodecs(media):
        if codec is not None and codec not in offered:
            offered[codec] = pt
    return [(offered[c], c) for c in (p.lower() for p in preferences) if c in offered]


def rtpmapLine(pt: int, codec: str) -> str:
    encoding, rate = _CODEC_ENCODINGS[codec]
    channels = _CODEC_CHANNELS.get(codec)
    return f"{pt} {encoding}/{rate}" + (f"/{channels}" if channels else "")


def codecFmtp(media: Media | None, codecs: Iterable[tuple[int, str]]) -> dict[str, str]:
    """
    The a=fmtp parameters to send with C{codecs}: for an answer (C{media} the
    offer) those the offer gave with each codec's payload type, kept as they
    came (the stream is relayed between two endpoints of that codec, never
    decoded here); otherwise, and for what the offer left out, L{DEFAULT_FMTP}.
    """
    out = {}
    for pt, codec in codecs:
        given = media.fmtp(pt) if media is not None else None
        if given:
            out[codec] = given
        elif codec in DEFAULT_FMTP:
            out[codec] = DEFAULT_FMTP[codec]
    return out


def buildAudioMedia(port: int, codecs: Iterable[tuple[int, str]], dtmfPayload: int | None = None,
                    direction: str = "sendrecv", ptime: int = 20, address: str | None = None,
                    proto: str = "RTP/AVP", fmtp: dict[str, str] | None = None) -> Media:
    """
    An audio m= section: the codecs (pt, name) in order, then telephone-event;
    C{fmtp} {codec: parameters} adds an a=fmtp line after a codec's rtpmap.
    """
    codecs = list(codecs)
    formats = [str(pt) for pt, _ in codecs]
    attributes: list[tuple[str, str | None]] = []
    for pt, codec in codecs:
        if codec in _CODEC_ENCODINGS:
            attributes.append(("rtpmap", rtpmapLine(pt, codec)))
            if fmtp and fmtp.get(codec):
                attributes.append(("fmtp", f"{pt} {fmtp[codec]}"))
    if dtmfPayload is not None:
        formats.append(str(dtmfPayload))
        attributes.append(("rtpmap", f"{dtmfPayload} telephone-event/8000"))
        attributes.append(("fmtp", f"{dtmfPayload} 0-16"))
    attributes.append(("ptime", str(ptime)))
    attributes.append((direction, None))
    return Media("audio", port, proto, tuple(formats), connection=address,
                 addrType="IP6" if address and ":" in address else "IP4",
                 attributes=tuple(attributes))


def assignPayloadTypes(codecs: Iterable[str]) -> list[tuple[int, str]]:
    """Payload types for an offer: static ones where they exist, dynamic from 96."""
    out = []
    dynamic = _DYNAMIC_START
    for codec in codecs:
        codec = codec.lower()
        if codec not in _CODEC_ENCODINGS:
            continue
        pt = _STATIC_FOR_CODEC.get(codec)
        if pt is None:
            pt = dynamic
            dynamic += 1
        out.append((pt, codec))
    return out


def refuseMedia(media: Media) -> Media:
    """The answer refusing a stream: port 0, the offered formats, nothing else."""
    return Media(media.mediaType, 0, media.proto, media.formats or ("0",))


# -- ICE, DTLS-SRTP and SDES attributes (RFC 8839, 8842, 4568, 5761, 4585) -------

#: a=setup values (RFC 4145 section 4).
SETUP_ROLES = ("active", "passive", "actpass", "holdconn")
#: Profiles whose media is SRTP; the DTLS-keyed ones among them.
SECURE_PROFILES = ("RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")
DTLS_PROFILES = ("UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")


def mediaOrSession(description: SessionDescription, media: Media, name: str) -> str | None:
    """An attribute of C{media}, else of the session (ICE and DTLS attributes may be either)."""
    value = media.attribute(name)
    return value if value is not None else description.attribute(name)


def iceCredentials(description: SessionDescription, media: Media) -> tuple[str, str] | None:
    """(ice-ufrag, ice-pwd) of a stream, or None when it has no ICE."""
    ufrag = mediaOrSession(description, media, "ice-ufrag")
    pwd = mediaOrSession(description, media, "ice-pwd")
    if not ufrag or not pwd:
        return None
    return ufrag.strip(), pwd.strip()


@dataclass(frozen=True)
class Candidate:
    """An a=candidate value (RFC 8839 section 5.1)."""

    foundation: str
    component: int
    transport: str
    priority: int
    address: str
    port: int
    type: str
    relatedAddress: str | None = None
    relatedPort: int | None = None
    extensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, value: str) -> "Candidate":
        parts = value.split()
        if len(parts) < 8 or parts[6] != "typ":
            raise SDPError(f"bad candidate: {value[:80]}")
        try:
            component, priority, port = int(parts[1]), int(parts[3]), int(parts[5])
        except ValueError:
            raise SDPError(f"bad candidate numbers: {value[:80]}") from None
        related = [None, None]
        extensions = []
        rest = parts[8:]
        if len(rest) % 2:
            raise SDPError(f"bad candidate extensions: {value[:80]}")
        for key, item in zip(rest[::2], rest[1::2]):
            if key == "raddr":
                related[0] = item
            elif key == "rport" and item.isdigit():
                related[1] = int(item)
            else:
                extensions.append((key, item))
        return cls(parts[0], component, parts[2], priority, parts[4], port, parts[7],
                   related[0], related[1], tuple(extensions))

    def __str__(self) -> str:
        out = [self.foundation, str(self.component), self.transport, str(self.priority),
               self.address, str(self.port), "typ", self.type]
        if self.relatedAddress is not None:
            out += ["raddr", self.relatedAddress]
        if self.relatedPort is not None:
            out += ["rport", str(self.relatedPort)]
        for key, item in self.extensions:
            out += [key, item]
        return " ".join(out)

    @staticmethod
    def hostPriority(component: int = 1, localPreference: int = 65535) -> int:
        """The priority of a host candidate (RFC 8445 section 5.1.2.1)."""
        return (126 << 24) | (localPreference << 8) | (256 - component)


@dataclass(frozen=True)
class Fingerprint:
    """An a=fingerprint value: a hash function and the certificate's digest."""

    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, value: str) -> "Fingerprint":
        algorithm, _, text = value.strip().partition(" ")
        try:
            digest = bytes(int(octet, 16) for octet in text.strip().split(":"))
        except ValueError:
            raise SDPError(f"bad fingerprint: {value[:120]}") from None
        if not algorithm or not digest:
            raise SDPError(f"bad fingerprint: {value[:120]}")
        return cls(algorithm.lower(), digest)

    def __str__(self) -> str:
        return f"{self.algorithm} " + ":".join(f"{b:02X}" for b in self.digest)


@dataclass(frozen=True)
class Crypto:
    """An a=crypto value (RFC 4568 section 9.1), one inline key."""

    tag: int
    suite: str
    key: bytes                      # master key and salt, concatenated
    lifetime: str | None = None
    mki: str | None = None
    sessionParams: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str) -> "Crypto":
        parts = value.split()
        if len(parts) < 3 or not parts[0].isdigit():
            raise SDPError(f"bad crypto: {value[:80]}")
        method, _, info = parts[2].partition(":")
        if method != "inline":
            raise SDPError(f"crypto key method {method!r} is not inline")
        # Only the first key of a list (';'-separated) is used.
        fields = info.split(";")[0].split("|")
        try:
            key = base64.b64decode(fields[0] + "=" * (-len(fields[0]) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise SDPError(f"bad crypto key: {value[:80]}") from None
        lifetime = mki = None
        for item in fields[1:]:
            if ":" in item:
                mki = item
            else:
                lifetime = item
        return cls(int(parts[0]), parts[1], key, lifetime, mki, tuple(parts[3:]))

    def __str__(self) -> str:
        params = base64.b64encode(self.key).decode("ascii")
        if self.lifetime:
            params += f"|{self.lifetime}"
        if self.mki:
            params += f"|{self.mki}"
        return " ".join([str(self.tag), self.suite, f"inline:{params}", *self.sessionParams])


@dataclass(frozen=True)
class RTCPFeedback:
    """An a=rtcp-fb value (RFC 4585 section 4.2): a payload type or '*', a type, a parameter."""

    payload: str
    type: str
    parameter: str | None = None

    @classmethod
    def parse(cls, value: str) -> "RTCPFeedback":
        parts = value.split(None, 2)
        if len(parts) < 2:
            raise SDPError(f"bad rtcp-fb: {value[:80]}")
        return cls(parts[0], parts[1], parts[2] if len(parts) > 2 else None)

    def __str__(self) -> str:
        return " ".join(p for p in (self.payload, self.type, self.parameter) if p)
