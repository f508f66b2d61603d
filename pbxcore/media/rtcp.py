"""
RTCP (RFC 3550 section 6): sender and receiver reports, SDES, BYE, the
compound packets they travel in, and the report interval.

Pure: bytes in, frozen dataclasses out, and back; the interval is computed
from the caller's random number so tests can pin it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Union

__all__ = [
    "RTCPError", "ReportBlock", "SenderReport", "ReceiverReport", "SourceDescription",
    "Goodbye", "UnknownPacket", "parseCompound", "buildCompound", "ntpTimestamp",
    "middleNTP", "reportInterval", "SR", "RR", "SDES", "BYE", "APP",
]

SR, RR, SDES, BYE, APP = 200, 201, 202, 203, 204
_CNAME = 1
#: Seconds between 1900 (NTP era) and 1970 (Unix epoch).
_NTP_OFFSET = 2208988800


class RTCPError(ValueError):
    """A datagram that is not a valid RTCP compound packet."""


def ntpTimestamp(now: float) -> int:
    """The 64-bit NTP timestamp of Unix time C{now}."""
    seconds = int(now) + _NTP_OFFSET
    fraction = int((now - int(now)) * (1 << 32)) & 0xFFFFFFFF
    return ((seconds & 0xFFFFFFFF) << 32) | fraction


def middleNTP(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp (the LSR field of a report block)."""
    return (ntp >> 16) & 0xFFFFFFFF


@dataclass(frozen=True)
class ReportBlock:
    """Reception statistics of one source (RFC 3550 6.4.1)."""

    ssrc: int
    fractionLost: int = 0          # 1/256 units
    cumulativeLost: int = 0        # signed 24 bits
    highestSequence: int = 0       # extended
    jitter: int = 0                # timestamp units
    lastSR: int = 0
    delaySinceLastSR: int = 0      # 1/65536 s

    def toBytes(self) -> bytes:
        lost = max(-0x800000, min(0x7FFFFF, self.cumulativeLost)) & 0xFFFFFF
        return struct.pack("!IIIIII", self.ssrc, ((self.fractionLost & 0xFF) << 24) | lost,
                           self.highestSequence & 0xFFFFFFFF, self.jitter & 0xFFFFFFFF,
                           self.lastSR & 0xFFFFFFFF, self.delaySinceLastSR & 0xFFFFFFFF)

    @classmethod
    def fromBytes(cls, data: bytes, offset: int) -> "ReportBlock":
        ssrc, lossWord, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, offset)
        lost = lossWord & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        return cls(ssrc, lossWord >> 24, lost, highest, jitter, lsr, dlsr)


@dataclass(frozen=True)
class SenderReport:
    ssrc: int
    ntp: int
    rtpTimestamp: int
    packetCount: int
    octetCount: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True)
class SourceDescription:
    """SDES chunks as (ssrc, ((item type, text), ...))."""

    chunks: tuple[tuple[int, tuple[tuple[int, str], ...]], ...]

    @property
    def cnames(self) -> dict[int, str]:
        return {ssrc: text for ssrc, items in self.chunks for kind, text in items if kind == _CNAME}


@dataclass(frozen=True)
class Goodbye:
    sources: tuple[int, ...]
    reason: str = ""


@dataclass(frozen=True)
class UnknownPacket:
    packetType: int
    count: int
    body: bytes


RTCPPacket = Union[SenderReport, ReceiverReport, SourceDescription, Goodbye, UnknownPacket]


def _header(packetType: int, count: int, body: bytes) -> bytes:
    if len(body) % 4:
        body += bytes(4 - len(body) % 4)
    return struct.pack("!BBH", 0x80 | (count & 0x1F), packetType, len(body) // 4) + body


def _encode(packet: RTCPPacket) -> bytes:
    if isinstance(packet, SenderReport):
        body = struct.pack("!IQIII", packet.ssrc, packet.ntp, packet.rtpTimestamp & 0xFFFFFFFF,
                           packet.packetCount & 0xFFFFFFFF, packet.octetCount & 0xFFFFFFFF)
        body += b"".join(r.toBytes() for r in packet.reports)
        return _header(SR, len(packet.reports), body)
    if isinstance(packet, ReceiverReport):
        body = struct.pack("!I", packet.ssrc) + b"".join(r.toBytes() for r in packet.reports)
        return _header(RR, len(packet.reports), body)
    if isinstance(packet, SourceDescription):
        body = b""
        for ssrc, items in packet.chunks:
            chunk = struct.pack("!I", ssrc)
            for kind, text in items:
                raw = text.encode("utf-8")[:255]
                chunk += bytes([kind, len(raw)]) + raw
            chunk += b"\x00"                       # end of the item list
            chunk += bytes(-len(chunk) % 4)
            body += chunk
        return _header(SDES, len(packet.chunks), body)
    if isinstance(packet, Goodbye):
        body = b"".join(struct.pack("!I", s) for s in packet.sources)
        if packet.reason:
            raw = packet.reason.encode("utf-8")[:255]
            body += bytes([len(raw)]) + raw
        return _header(BYE, len(packet.sources), body)
    if isinstance(packet, UnknownPacket):
        return _header(packet.packetType, packet.count, packet.body)
    raise TypeError(f"not an RTCP packet: {packet!r}")


def buildCompound(packets) -> bytes:
    """The datagram carrying C{packets} (a report first, as RFC 3550 6.1 wants)."""
    return b"".join(_encode(p) for p in packets)


def _parseSDES(count: int, body: bytes) -> SourceDescription:
    chunks = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(body):
            raise RTCPError("SDES chunk runs past the packet")
        (ssrc,) = struct.unpack_from("!I", body, offset)
        offset += 4
        items = []
        while True:
            if offset >= len(body):
                raise RTCPError("SDES item list is not terminated")
            kind = body[offset]
            if kind == 0:
                offset += 1
                offset += -offset % 4
                break
            if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                raise RTCPError("SDES item runs past the packet")
            length = body[offset + 1]
            items.append((kind, body[offset + 2:offset + 2 + length].decode("utf-8", "replace")))
            offset += 2 + length
        chunks.append((ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def _blocks(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if offset + 24 * count > len(body):
        raise RTCPError("report blocks run past the packet")
    return tuple(ReportBlock.fromBytes(body, offset + 24 * i) for i in range(count))


def parseCompound(data: bytes) -> list[RTCPPacket]:
    """Every packet of a compound RTCP datagram; L{RTCPError} when malformed."""
    packets: list[RTCPPacket] = []
    offset = 0
    if len(data) < 4:
        raise RTCPError(f"datagram of {len(data)} bytes is shorter than an RTCP header")
    while offset < len(data):
        if offset + 4 > len(data):
            raise RTCPError("trailing bytes after the last RTCP packet")
        first, packetType, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != 2:
            raise RTCPError(f"RTCP version {first >> 6} is not 2")
        end = offset + 4 + 4 * words
        if end > len(data):
            raise RTCPError("RTCP packet length runs past the datagram")
        body = data[offset + 4:end]
        if first & 0x20 and body:
            pad = body[-1]
            if pad == 0 or pad > len(body):
                raise RTCPError(f"bad RTCP padding length {pad}")
            body = body[:-pad]
        count = first & 0x1F
        if packetType == SR:
            if len(body) < 24:
                raise RTCPError("sender report is too short")
            ssrc, ntp, ts, pc, oc = struct.unpack_from("!IQIII", body)
            packets.append(SenderReport(ssrc, ntp, ts, pc, oc, _blocks(body, 24, count)))
        elif packetType == RR:
            if len(body) < 4:
                raise RTCPError("receiver report is too short")
            (ssrc,) = struct.unpack_from("!I", body)
            packets.append(ReceiverReport(ssrc, _blocks(body, 4, count)))
        elif packetType == SDES:
            packets.append(_parseSDES(count, body))
        elif packetType == BYE:
            if len(body) < 4 * count:
                raise RTCPError("BYE source list runs past the packet")
            sources = struct.unpack_from(f"!{count}I", body) if count else ()
            reason = ""
            rest = body[4 * count:]
            if rest:
                reason = rest[1:1 + rest[0]].decode("utf-8", "replace")
            packets.append(Goodbye(tuple(sources), reason))
        else:
            packets.append(UnknownPacket(packetType, count, bytes(body)))
        offset = end
    return packets


def reportInterval(members: int, senders: int, weSent: bool, rtcpBandwidth: float,
                   avgPacketSize: float, initial: bool, random: float,
                   minimum: float = 5.0) -> float:
    """
    The randomised RTCP transmission interval of RFC 3550 6.3.1 (and A.7)
    in seconds. C{random} is uniform in [0, 1); C{rtcpBandwidth} in octets
    per second (5 % of the session bandwidth).
    """
    if initial:
        minimum /= 2
    n = members
    bandwidth = rtcpBandwidth
    if 0 < senders <= members * 0.25:
        if weSent:
            bandwidth *= 0.25
            n = senders
        else:
            bandwidth *= 0.75
            n = members - senders
    interval = avgPacketSize * n / bandwidth if bandwidth > 0 else minimum
    interval = max(interval, minimum)
    # Randomise to [0.5, 1.5] times, then compensate for timer
    # reconsideration (e - 3/2).
    return interval * (random + 0.5) / 1.21828
