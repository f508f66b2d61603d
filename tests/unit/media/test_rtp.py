"""RTP packets, sender numbering and receiver statistics."""

import pytest

from pbxcore.media.rtp import OutgoingStream, ReceiverStats, RTPError, RTPPacket, isRTCP, parseRTP

# Packets as captured on the wire (hex), with what they carry.
CAPTURED = [
    # A plain PCMU packet of 160 bytes, marker set (first of a talk spurt).
    ("8080" "1a2b" "0001f400" "deadbeef" + "ff" * 160,
     dict(payloadType=0, marker=True, sequence=0x1A2B, timestamp=0x1F400, ssrc=0xDEADBEEF)),
    # PCMA, two CSRCs (a mixer's output).
    ("8208" "ffff" "fffffff0" "00000001" "00000002" "00000003" + "d5" * 4,
     dict(payloadType=8, sequence=0xFFFF, timestamp=0xFFFFFFF0, ssrc=1, csrcs=(2, 3))),
    # A header extension (one-byte header profile 0xBEDE, one word) and padding.
    ("b065" "0102" "00000050" "11223344" "bede0001" "10ab0000" "0102030400000003",
     dict(payloadType=101, sequence=0x102, extension=(0xBEDE, bytes.fromhex("10ab0000")),
          padding=3, payload=bytes.fromhex("0102030400"))),
]


@pytest.mark.parametrize("hexdata,fields", CAPTURED)
def test_capturedRoundTrip(hexdata, fields):
    data = bytes.fromhex(hexdata)
    packet = parseRTP(data)
    for name, value in fields.items():
        assert getattr(packet, name) == value, name
    assert packet.toBytes() == data


@pytest.mark.parametrize("hexdata,why", [
    ("8000", "shorter"),
    ("4000000100000001000000010000", "version"),
    ("8300000100000001000000010000000000", "CSRC"),
    ("9000000100000001000000010001", "extension"),
    ("a00000010000000100000001ff", "padding"),
])
def test_malformed(hexdata, why):
    with pytest.raises(RTPError, match=why):
        parseRTP(bytes.fromhex(hexdata))


def test_rtcpDemultiplexing():
    assert isRTCP(bytes.fromhex("80c80006"))
    assert not isRTCP(bytes.fromhex("8000"))


def test_outgoingContinuity():
    stream = OutgoingStream(ssrc=7, sequence=65534, timestamp=0xFFFFFF00)
    first = stream.packet(0, b"x" * 160, 160, now=0.0)
    assert (first.sequence, first.timestamp, first.marker) == (65534, 0xFFFFFF00, True)
    second = stream.packet(0, b"x" * 160, 160, now=0.02)
    third = stream.packet(0, b"x" * 160, 160, now=0.04)
    assert (second.sequence, third.sequence) == (65535, 0)
    assert third.timestamp == (0xFFFFFF00 + 320) & 0xFFFFFFFF
    assert not second.marker and not third.marker
    # Another source takes over: numbering goes on, marker announces it.
    stream.newSource()
    fourth = stream.packet(0, b"y" * 160, 160, now=0.06)
    assert fourth.sequence == 1 and fourth.marker
    assert fourth.timestamp == (third.timestamp + 160) & 0xFFFFFFFF


def test_outgoingSilenceGapFollowsClock():
    stream = OutgoingStream(ssrc=7, sequence=0, timestamp=1000)
    stream.packet(0, b"x" * 160, 160, now=10.0)
    late = stream.packet(0, b"x" * 160, 160, now=11.0)
    assert late.timestamp == 1000 + 8000 and late.marker


def test_relayKeepsSpacingAndRewritesIdentity():
    stream = OutgoingStream(ssrc=99, sequence=500, timestamp=40000)
    stream.packet(0, b"a" * 160, 160, now=0.0)
    incoming = [RTPPacket(0, 10 + i, 7000 + 160 * i, 1234, b"b" * 160) for i in range(3)]
    out = [stream.relay(p, 160, now=0.02 * (i + 1)) for i, p in enumerate(incoming)]
    assert [p.ssrc for p in out] == [99, 99, 99]
    assert [p.sequence for p in out] == [501, 502, 503]
    assert [p.timestamp - out[0].timestamp for p in out] == [0, 160, 320]
    assert out[0].marker and not out[1].marker
    assert out[0].timestamp == 40160


def test_receiverStatsLossAndWrap():
    stats = ReceiverStats()
    sequences = [65530, 65531, 65532, 65534, 65535, 0, 1, 3]    # 65533 and 2 lost
    for i, seq in enumerate(sequences):
        stats.update(RTPPacket(0, seq, 160 * i, 5), now=i * 0.02)
    assert stats.cycles == 65536
    assert stats.expected == 65536 + 3 - 65531 + 1
    assert stats.lost == 2
    fraction, cumulative = stats.intervalReport()
    assert cumulative == 2 and fraction == (2 << 8) // 9


def test_receiverDuplicatesDropped():
    stats = ReceiverStats()
    for seq in (1, 2, 3):
        stats.update(RTPPacket(0, seq, 160 * seq, 5), now=seq * 0.02)
    assert not stats.update(RTPPacket(0, 3, 480, 5), now=0.08)
    assert stats.duplicates == 1 and stats.lost == 0


def test_jitterOfPerfectStreamIsZeroAndGrowsWithDelay():
    stats = ReceiverStats()
    for i in range(50):
        stats.update(RTPPacket(0, i, 160 * i, 5), now=1.0 + 0.02 * i)
    assert stats.jitter == pytest.approx(0.0, abs=1e-9)
    for i in range(50, 250):
        delay = 0.01 if i % 2 else 0.0
        stats.update(RTPPacket(0, i, 160 * i, 5), now=1.0 + 0.02 * i + delay)
    # Alternating 10 ms delays: |D| = 80 samples, jitter converges to 80.
    assert stats.jitterSamples == pytest.approx(80, abs=2)
    assert stats.jitterMs == pytest.approx(10, abs=0.3)


def test_lateProducerCatchingUpKeepsContinuity():
    stream = OutgoingStream(ssrc=7, sequence=0, timestamp=0)
    stream.packet(0, b"x" * 160, 160, now=0.0)
    # Woken 70 ms late, the producer sends the frames it owes in a burst.
    burst = [stream.packet(0, b"x" * 160, 160, now=0.09) for _ in range(4)]
    assert [p.timestamp for p in burst] == [160, 320, 480, 640]
    assert not any(p.marker for p in burst)
