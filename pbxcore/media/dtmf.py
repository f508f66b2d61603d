"""
DTMF over RTP as RFC 4733 telephone-events.

Pure: payloads, timestamps and C{now} in; digits and payloads out, with the
next deadline for the shell's single timer.

  - L{TelephoneEvent}: the four-byte payload (event, end bit, volume,
    duration) and its codec.
  - L{DTMFReceiver}: turns the packets of an event (first packet, updates,
    the usually three end packets, retransmissions) into exactly one begin
    and one end, and ends an event whose end packets were all lost.
  - L{DTMFSender}: one event on the way out: a first packet with the marker,
    updates every 50 ms with a growing duration, three end packets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "TelephoneEvent", "parseEvent", "eventForDigit", "digitForEvent",
    "DTMFReceiver", "DTMFSender", "DigitEvent", "EventPayload",
]

_DIGITS = "0123456789*#ABCD"
_EVENT = struct.Struct("!BBH")


def digitForEvent(event: int) -> Optional[str]:
    """The DTMF digit of event code C{event} (0-15), None for others (flash ...)."""
    if 0 <= event < len(_DIGITS):
        return _DIGITS[event]
    return None


def eventForDigit(digit: str) -> int:
    """The event code of a DTMF digit; ValueError for anything else."""
    index = _DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise ValueError(f"{digit!r} is not a DTMF digit")
    return index


@dataclass(frozen=True)
class TelephoneEvent:
    """One RFC 4733 payload: C{duration} in timestamp units (samples)."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def toBytes(self) -> bytes:
        flags = (0x80 if self.end else 0) | (self.volume & 0x3F)
        return _EVENT.pack(self.event & 0xFF, flags, min(self.duration, 0xFFFF))


def parseEvent(payload: bytes) -> TelephoneEvent:
    """Parse a telephone-event payload; ValueError when too short."""
    if len(payload) < 4:
        raise ValueError(f"telephone-event payload of {len(payload)} bytes")
    event, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclass(frozen=True)
class DigitEvent:
    """What the receiver reports: a digit beginning, or ending after C{durationMs}."""

    digit: str
    end: bool
    durationMs: int = 0


class DTMFReceiver:
    """
    Telephone-events of one incoming stream to digit begins and ends.

    An event is identified by its RTP timestamp (RFC 4733 2.5.2.1): packets
    with the timestamp of an event already ended are retransmissions and
    are dropped, so a digit is reported once however many end packets come.
    """

    def __init__(self, clockRate: int = 8000, lostEndTimeout: float = 0.25):
        self.clockRate = clockRate
        self.lostEndTimeout = lostEndTimeout
        self._current: Optional[tuple[int, int]] = None   # (timestamp, event)
        self._duration = 0
        self._lastSeen = 0.0
        self._ended: Optional[tuple[int, int]] = None

    @property
    def active(self) -> Optional[str]:
        """The digit being received, if any."""
        return digitForEvent(self._current[1]) if self._current else None

    def _ms(self, duration: int) -> int:
        return duration * 1000 // self.clockRate

    def _finish(self) -> list[DigitEvent]:
        out = []
        if self._current is not None:
            digit = digitForEvent(self._current[1])
            if digit is not None:
                out.append(DigitEvent(digit, True, self._ms(self._duration)))
            self._ended = self._current
            self._current = None
        return out

    def receive(self, timestamp: int, payload: bytes, now: float) -> list[DigitEvent]:
        """The digit begins and ends that this packet makes known."""
        try:
            event = parseEvent(payload)
        except ValueError:
            return []
        key = (timestamp, event.event)
        if key == self._ended:
            return []
        out: list[DigitEvent] = []
        if key != self._current:
            # A new event; one still open lost its end packets.
            out.extend(self._finish())
            self._current = key
            self._duration = event.duration
            digit = digitForEvent(event.event)
            if digit is not None:
                out.append(DigitEvent(digit, False))
        self._duration = max(self._duration, event.duration)
        self._lastSeen = now
        if event.end:
            out.extend(self._finish())
        return out

    def nextDeadline(self) -> Optional[float]:
        """When an open event is given up for lack of packets."""
        if self._current is None:
            return None
        return self._lastSeen + self.lostEndTimeout

    def handleTimer(self, now: float) -> list[DigitEvent]:
        """End an event whose packets stopped coming."""
        deadline = self.nextDeadline()
        if deadline is not None and now >= deadline:
            return self._finish()
        return []


@dataclass(frozen=True)
class EventPayload:
    """A payload to send: C{marker} on the first packet of an event only."""

    payload: bytes
    marker: bool
    end: bool


class DTMFSender:
    """
    One outgoing event at a time. The shell puts each L{EventPayload} in an
    RTP packet with the event's C{timestamp} and a fresh sequence number,
    and calls L{handleTimer} at L{nextDeadline}.
    """

    def __init__(self, clockRate: int = 8000, interval: float = 0.05, volume: int = 10,
                 endPackets: int = 3, minDurationMs: int = 100):
        self.clockRate = clockRate
        self.interval = interval
        self.volume = volume
        self.endPackets = endPackets
        self.minDurationMs = minDurationMs
        self.timestamp = 0
        self._event: Optional[int] = None
        self._started = 0.0
        self._nextUpdate: Optional[float] = None
        self._endAt: Optional[float] = None

    @property
    def active(self) -> bool:
        return self._event is not None

    def _duration(self, now: float) -> int:
        return min(0xFFFF, max(0, int(round((now - self._started) * self.clockRate))))

    def _payload(self, duration: int, end: bool, marker: bool = False) -> EventPayload:
        event = TelephoneEvent(self._event, end, self.volume, duration)
        return EventPayload(event.toBytes(), marker, end)

    def begin(self, digit: str, timestamp: int, now: float) -> list[EventPayload]:
        """
        Start C{digit} at RTP C{timestamp}; an event still running is ended
        first (its end packets come before the new first packet).
        """
        out = self.end(now, force=True) if self.active else []
        self._event = eventForDigit(digit)
        self.timestamp = timestamp
        self._started = now
        self._nextUpdate = now + self.interval
        self._endAt = None
        out.append(self._payload(0, False, marker=True))
        return out

    def end(self, now: float, durationMs: int = 0, force: bool = False) -> list[EventPayload]:
        """
        End the running event, lasting at least C{durationMs} (and the
        minimum duration): when it has not lasted that long yet, the end
        packets come from L{handleTimer} later.
        """
        if not self.active:
            return []
        if not force:
            wanted = self._started + max(durationMs, self.minDurationMs) / 1000.0
            if now < wanted:
                self._endAt = wanted
                return []
        duration = self._duration(now)
        out = [self._payload(duration, True) for _ in range(self.endPackets)]
        self._event = None
        self._nextUpdate = None
        self._endAt = None
        return out

    def nextDeadline(self) -> Optional[float]:
        if not self.active:
            return None
        if self._endAt is not None:
            return min(self._endAt, self._nextUpdate or self._endAt)
        return self._nextUpdate

    def handleTimer(self, now: float) -> list[EventPayload]:
        """Updates with the growing duration, and the deferred end."""
        if not self.active:
            return []
        if self._endAt is not None and now >= self._endAt:
            return self.end(now, force=True)
        out = []
        if self._nextUpdate is not None and now >= self._nextUpdate:
            out.append(self._payload(self._duration(now), False))
            self._nextUpdate = now + self.interval
        return out
