"""
RTP (RFC 3550): the packet codec, the sender's numbering and the receiver's
statistics.

Pure: bytes and C{now} in, values and bytes out; no sockets and no reactor here.

  - L{parseRTP} / L{RTPPacket.toBytes}: the fixed header, CSRC list, header
    extension and padding.
  - L{OutgoingStream}: one SSRC with its sequence number and timestamp.
    Whatever feeds it (a file, another leg's packets, a tone) the numbering
    stays continuous; a change of source starts a new talk spurt (marker).
  - L{ReceiverStats}: sequence tracking with wrap-around, loss and
    interarrival jitter after RFC 3550 appendix A.1 and A.8, the numbers
    RTCP reports carry.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "RTPError", "RTPPacket", "parseRTP", "isRTCP", "OutgoingStream", "ReceiverStats",
    "RTP_VERSION", "STATIC_FORMATS", "randomSSRC", "FIXED_HEADER",
]

RTP_VERSION = 2
#: The fixed 12-byte header: first byte, marker/payload type, sequence,
#: timestamp, SSRC (what a relay reads and patches in place).
FIXED_HEADER = _HEADER = struct.Struct("!BBHII")

#: Samples the outgoing timestamps may lag the clock before they resynchronise
#: (80 ms at 8 kHz, as Asterisk allows).
MAX_TIMESTAMP_SKEW = 640

#: The static payload types of RFC 3551 this PBX can carry, by format name.
STATIC_FORMATS = {0: "ulaw", 8: "alaw"}


class RTPError(ValueError):
    """A datagram that is not a usable RTP packet; C{str()} says why."""


@dataclass(frozen=True)
class RTPPacket:
    """One RTP packet. C{extension} is (profile, data) or None."""

    payloadType: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: Optional[tuple[int, bytes]] = None
    padding: int = 0
    version: int = RTP_VERSION

    def toBytes(self) -> bytes:
        """The packet on the wire."""
        first = (self.version << 6) | (len(self.csrcs) & 0x0F)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        second = (0x80 if self.marker else 0) | (self.payloadType & 0x7F)
        parts = [_HEADER.pack(first, second, self.sequence & 0xFFFF,
                              self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF)]
        if self.csrcs:
            parts.append(struct.pack(f"!{len(self.csrcs)}I", *self.csrcs))
        if self.extension is not None:
            profile, data = self.extension
            if len(data) % 4:
                raise RTPError("header extension length must be a multiple of 4")
            parts.append(struct.pack("!HH", profile, len(data) // 4))
            parts.append(data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


def isRTCP(data: bytes) -> bool:
    """
    Whether a datagram is RTCP rather than RTP (RFC 5761 section 4: packet
    types 192-223 in the second byte), for ports that may see both.
    """
    return len(data) >= 2 and 192 <= data[1] <= 223


def parseRTP(data: bytes) -> RTPPacket:
    """Parse one RTP packet; L{RTPError} when it is not one."""
    if len(data) < 12:
        raise RTPError(f"packet of {len(data)} bytes is shorter than the RTP header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    version = first >> 6
    if version != RTP_VERSION:
        raise RTPError(f"RTP version {version} is not 2")
    offset = 12
    count = first & 0x0F
    csrcs: tuple[int, ...] = ()
    if count:
        end = offset + 4 * count
        if end > len(data):
            raise RTPError("CSRC list runs past the end of the packet")
        csrcs = struct.unpack_from(f"!{count}I", data, offset)
        offset = end
    extension = None
    if first & 0x10:
        if offset + 4 > len(data):
            raise RTPError("header extension runs past the end of the packet")
        profile, words = struct.unpack_from("!HH", data, offset)
        offset += 4
        end = offset + 4 * words
        if end > len(data):
            raise RTPError("header extension runs past the end of the packet")
        extension = (profile, bytes(data[offset:end]))
        offset = end
    end = len(data)
    padding = 0
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or end - padding < offset:
            raise RTPError(f"bad padding length {padding}")
        end -= padding
    return RTPPacket(second & 0x7F, sequence, timestamp, ssrc, bytes(data[offset:end]),
                     bool(second & 0x80), tuple(csrcs), extension, padding, version)


def randomSSRC(randbits) -> int:
    """A non-zero SSRC from C{randbits(32)} (e.g. C{random.SystemRandom().getrandbits})."""
    value = 0
    while value == 0:
        value = randbits(32)
    return value


@dataclass
class OutgoingStream:
    """
    The numbering of one outgoing RTP stream (one SSRC).

    C{next} hands out (sequence, timestamp, marker) for a packet of C{samples}
    samples. Timestamps advance by the samples sent; when the wall clock has
    run more than L{MAX_TIMESTAMP_SKEW} samples ahead (silence, a source
    paused) they follow the clock so the far end's jitter buffer sees real
    time pass, and that packet carries the marker bit. A producer that is
    merely late and catches up keeps continuous timestamps. C{newSource} announces a change of source (another file,
    another leg): numbering continues, the next packet is marked.
    """

    ssrc: int
    sequence: int = 0
    timestamp: int = 0
    clockRate: int = 8000
    packets: int = 0
    octets: int = 0
    lastSent: Optional[float] = None
    _lastSamples: int = 0
    _marker: bool = True
    relaySource: Optional[int] = None
    _relayOffset: int = 0
    _anchor: tuple[float, int] = (0.0, 0)

    def newSource(self) -> None:
        """The audio now comes from elsewhere: mark the next packet."""
        self._marker = True
        self.relaySource = None

    def next(self, samples: int, now: float, payloadBytes: int = 0) -> tuple[int, int, bool]:
        """Sequence number, timestamp and marker for the next packet."""
        marker = self._marker
        if self.lastSent is None:
            timestamp = self.timestamp
            self._anchor = (now, timestamp)
        else:
            timestamp = (self.timestamp + self._lastSamples) & 0xFFFFFFFF
            anchorTime, anchorTs = self._anchor
            clock = anchorTs + int(round((now - anchorTime) * self.clockRate))
            behind = (clock - timestamp) & 0xFFFFFFFF
            # The clock ran ahead of the audio by more than the skew a
            # jitter buffer absorbs: silence or a pause, not a late
            # producer catching up. Follow the clock, start a talk spurt.
            if MAX_TIMESTAMP_SKEW < behind < 0x80000000:
                timestamp = clock & 0xFFFFFFFF
                marker = True
                self._anchor = (now, timestamp)
        self._marker = False
        self.sequence = (self.sequence + (1 if self.packets else 0)) & 0xFFFF
        self.timestamp = timestamp
        self.lastSent = now
        self._lastSamples = samples
        self.packets += 1
        self.octets += payloadBytes
        return self.sequence, timestamp, marker

    def nextSequence(self) -> int:
        """A sequence number for a packet that reuses the current timestamp (DTMF)."""
        self.sequence = (self.sequence + (1 if self.packets else 0)) & 0xFFFF
        self.packets += 1
        return self.sequence

    def advance(self, samples: int, now: float) -> None:
        """Account for C{samples} sent at C{now} outside L{next} (DTMF events)."""
        self.lastSent = now
        self._lastSamples = samples

    def reserveTimestamp(self, now: float) -> int:
        """The timestamp an event starting now should carry (RFC 4733 2.3.1)."""
        if self.lastSent is None:
            return self.timestamp
        elapsed = int((now - self.lastSent) * self.clockRate)
        return (self.timestamp + max(elapsed, self._lastSamples)) & 0xFFFFFFFF

    def packet(self, payloadType: int, payload: bytes, samples: int, now: float,
               marker: bool = False) -> RTPPacket:
        """The next packet carrying C{payload}."""
        sequence, timestamp, mark = self.next(samples, now, len(payload))
        self.relaySource = None
        return RTPPacket(payloadType, sequence, timestamp, self.ssrc, payload, mark or marker)

    def relay(self, packet: RTPPacket, samples: int, now: float,
              payloadType: Optional[int] = None) -> RTPPacket:
        """
        C{packet} from another leg, renumbered for this stream: the incoming
        timestamps keep their spacing (so relay adds no timing of its own)
        shifted onto this stream's timeline; a new incoming source (SSRC)
        or a marked packet is spliced on after the last packet sent.
        """
        sequence, timestamp, marker = self.relayHeader(
            packet.ssrc, packet.timestamp, packet.marker, samples, len(packet.payload), now)
        return RTPPacket(packet.payloadType if payloadType is None else payloadType,
                         sequence, timestamp, self.ssrc, packet.payload, marker)

    def relayHeader(self, ssrc: int, timestamp: int, marker: bool, samples: int,
                    payloadBytes: int, now: float) -> tuple[int, int, bool]:
        """
        L{relay} on the header fields alone: (sequence, timestamp, marker) for
        the packet from another leg, so a relay can patch the header of the
        datagram it received instead of building a packet.
        """
        if ssrc != self.relaySource or marker:
            if ssrc != self.relaySource:
                self._marker = True
            sequence, ours, mark = self.next(samples, now, payloadBytes)
            self.relaySource = ssrc
            self._relayOffset = (ours - timestamp) & 0xFFFFFFFF
            return sequence, ours, mark or marker
        mark = self._marker
        self._marker = False
        ours = (timestamp + self._relayOffset) & 0xFFFFFFFF
        sequence = self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = ours
        self.lastSent = now
        self._lastSamples = samples
        self.packets += 1
        self.octets += payloadBytes
        return sequence, ours, mark


_RTP_SEQ_MOD = 1 << 16
_MAX_DROPOUT = 3000
_MAX_MISORDER = 100
_MIN_SEQUENTIAL = 2


@dataclass
class ReceiverStats:
    """
    What a receiver knows of one source: RFC 3550 appendix A.1 sequence
    validation (probation, wrap-around cycles, restarts) and A.8 jitter.
    """

    clockRate: int = 8000
    ssrc: Optional[int] = None
    maxSeq: int = 0
    cycles: int = 0
    baseSeq: int = 0
    badSeq: int = _RTP_SEQ_MOD + 1
    probation: int = _MIN_SEQUENTIAL
    received: int = 0
    expectedPrior: int = 0
    receivedPrior: int = 0
    transit: Optional[int] = None
    jitter: float = 0.0
    duplicates: int = 0
    octets: int = 0
    lastSR: int = 0            # middle 32 bits of the NTP time of the last SR
    lastSRArrival: Optional[float] = None

    def _init(self, seq: int) -> None:
        self.baseSeq = seq
        self.maxSeq = seq
        self.badSeq = _RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.receivedPrior = 0
        self.expectedPrior = 0

    def update(self, packet: RTPPacket, now: float) -> bool:
        """
        Account for an arriving packet; False when it should be dropped
        (still on probation, a duplicate, or far out of order).
        """
        return self.arrive(packet.sequence, packet.timestamp, packet.ssrc,
                           len(packet.payload), now)

    def arrive(self, seq: int, timestamp: int, ssrc: int, payloadBytes: int,
               now: float) -> bool:
        """L{update} on the header fields alone (no packet object needed)."""
        if self.ssrc != ssrc:
            # A new source (the far end restarted, or a new stream):
            # validate it from scratch.
            self.ssrc = ssrc
            self._init(seq)
            self.maxSeq = (seq - 1) & 0xFFFF
            self.probation = _MIN_SEQUENTIAL
            self.transit = None
            self.jitter = 0.0
        if self.probation:
            if seq == (self.maxSeq + 1) & 0xFFFF:
                self.probation -= 1
                self.maxSeq = seq
                if self.probation == 0:
                    self._init(seq)
                    self._arrived(timestamp, payloadBytes, now)
                    return True
            else:
                self.probation = _MIN_SEQUENTIAL - 1
                self.maxSeq = seq
            return False
        delta = (seq - self.maxSeq) & 0xFFFF
        if delta == 0:
            self.duplicates += 1
            return False
        if delta < _MAX_DROPOUT:
            if seq < self.maxSeq:
                self.cycles += _RTP_SEQ_MOD
            self.maxSeq = seq
        elif delta <= _RTP_SEQ_MOD - _MAX_MISORDER:
            if seq == self.badSeq:
                # Two sequential packets after a jump: the source restarted.
                self._init(seq)
            else:
                self.badSeq = (seq + 1) & 0xFFFF
                return False
        # else: a late or duplicate packet within the misorder window.
        self._arrived(timestamp, payloadBytes, now)
        return True

    def _arrived(self, timestamp: int, payloadBytes: int, now: float) -> None:
        self.received += 1
        self.octets += payloadBytes
        transit = (round(now * self.clockRate) - timestamp) & 0xFFFFFFFF
        previous = self.transit
        if previous is not None:
            d = transit - previous
            if d > 0x7FFFFFFF:
                d -= 1 << 32
            elif d < -0x7FFFFFFF:
                d += 1 << 32
            self.jitter += (abs(d) - self.jitter) / 16.0
        self.transit = transit

    @property
    def extendedMaxSeq(self) -> int:
        return self.cycles + self.maxSeq

    @property
    def expected(self) -> int:
        if self.ssrc is None or self.probation:
            return 0
        return self.extendedMaxSeq - self.baseSeq + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost (negative with duplicates, as RFC 3550 allows)."""
        return self.expected - self.received

    def intervalReport(self) -> tuple[int, int]:
        """
        (fraction lost in 1/256 since the previous call, cumulative lost),
        the two loss fields of a report block; moves the interval on.
        """
        expected = self.expected
        expectedInterval = expected - self.expectedPrior
        self.expectedPrior = expected
        receivedInterval = self.received - self.receivedPrior
        self.receivedPrior = self.received
        lostInterval = expectedInterval - receivedInterval
        if expectedInterval == 0 or lostInterval <= 0:
            fraction = 0
        else:
            fraction = min(255, (lostInterval << 8) // expectedInterval)
        return fraction, self.lost

    @property
    def jitterSamples(self) -> int:
        return int(self.jitter)

    @property
    def jitterMs(self) -> float:
        return self.jitter * 1000.0 / self.clockRate
