"""RFC 4733 telephone-events in and out."""

import pytest

from pbxcore.media.dtmf import (
    DigitEvent, DTMFReceiver, DTMFSender, TelephoneEvent, eventForDigit, parseEvent)


def payload(event, end, duration, volume=10):
    return TelephoneEvent(event, end, volume, duration).toBytes()


def test_payloadCodec():
    data = bytes.fromhex("058a0320")           # '5', end bit, volume 10, 800
    event = parseEvent(data)
    assert event == TelephoneEvent(5, True, 10, 800)
    assert event.toBytes() == data
    assert eventForDigit("#") == 11 and eventForDigit("d") == 15
    with pytest.raises(ValueError):
        eventForDigit("x")


def test_receiverOneDigitFromATypicalSequence():
    rx = DTMFReceiver()
    ts = 16000
    out = []
    out += rx.receive(ts, payload(1, False, 0), 0.00)
    out += rx.receive(ts, payload(1, False, 400), 0.05)
    out += rx.receive(ts, payload(1, False, 800), 0.10)
    out += rx.receive(ts, payload(1, True, 960), 0.12)
    out += rx.receive(ts, payload(1, True, 960), 0.13)      # the end, sent three times
    out += rx.receive(ts, payload(1, True, 960), 0.14)
    assert out == [DigitEvent("1", False), DigitEvent("1", True, 120)]
    assert rx.nextDeadline() is None
    # A late retransmission of the same event changes nothing.
    assert rx.receive(ts, payload(1, True, 960), 0.50) == []


def test_receiverSameDigitTwice():
    rx = DTMFReceiver()
    first = rx.receive(100, payload(7, True, 800), 0.0)
    second = rx.receive(2000, payload(7, True, 800), 0.3)
    assert first == second == [DigitEvent("7", False), DigitEvent("7", True, 100)]


def test_receiverLostEndPackets():
    rx = DTMFReceiver(lostEndTimeout=0.25)
    assert rx.receive(100, payload(11, False, 400), 1.0) == [DigitEvent("#", False)]
    assert rx.nextDeadline() == pytest.approx(1.25)
    assert rx.handleTimer(1.1) == []
    assert rx.handleTimer(1.25) == [DigitEvent("#", True, 50)]
    # A new event while one is open ends the open one first.
    rx.receive(500, payload(2, False, 0), 2.0)
    assert rx.receive(900, payload(3, False, 0), 2.1) == [
        DigitEvent("2", True, 0), DigitEvent("3", False)]


def test_receiverIgnoresShortPayload():
    assert DTMFReceiver().receive(1, b"\x01", 0.0) == []


def test_senderSequence():
    tx = DTMFSender()
    first = tx.begin("9", timestamp=4000, now=10.0)
    assert [parseEvent(p.payload) for p in first] == [TelephoneEvent(9, False, 10, 0)]
    assert first[0].marker and tx.timestamp == 4000
    assert tx.nextDeadline() == pytest.approx(10.05)
    # Ending early: the end waits for the requested duration.
    assert tx.end(10.01, durationMs=200) == []
    updates = []
    now = 10.0
    while tx.active:
        now = tx.nextDeadline()
        updates += tx.handleTimer(now)
    events = [parseEvent(p.payload) for p in updates]
    durations = [e.duration for e in events]
    assert durations == sorted(durations) and durations[0] == 400
    ends = [e for e in events if e.end]
    assert len(ends) == 3 and {e.duration for e in ends} == {1600}
    assert not any(p.marker for p in updates)
    assert now == pytest.approx(10.2)


def test_senderBeginWhileActiveEndsPrevious():
    tx = DTMFSender()
    tx.begin("1", 0, 0.0)
    out = tx.begin("2", 800, 0.1)
    assert [parseEvent(p.payload).event for p in out] == [1, 1, 1, 2]
    assert [parseEvent(p.payload).end for p in out] == [True, True, True, False]
