"""The header-only entry points of the RTP numbering and statistics."""

from hypothesis import given, strategies as st

from pbxcore.media.rtp import FIXED_HEADER, OutgoingStream, ReceiverStats, RTPPacket

packets = st.lists(
    st.tuples(st.sampled_from([5, 6]),                  # SSRC: a source change now and then
              st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.booleans(),
              st.floats(0.0, 0.2)),
    min_size=1, max_size=40)


@given(packets)
def test_relayHeaderNumbersAsRelay(items):
    """The same numbering, marker and counters as relaying packet objects."""
    byPacket = OutgoingStream(99, 65530, 4294967000)
    byHeader = OutgoingStream(99, 65530, 4294967000)
    now = 0.0
    for ssrc, seq, ts, marker, gap in items:
        now += gap
        packet = RTPPacket(0, seq, ts, ssrc, b"\x01" * 160, marker)
        out = byPacket.relay(packet, 160, now, 96)
        header = byHeader.relayHeader(ssrc, ts, marker, 160, 160, now)
        assert (out.sequence, out.timestamp, out.marker) == header
        assert out.ssrc == 99 and out.payloadType == 96
    assert (byPacket.packets, byPacket.octets, byPacket.sequence, byPacket.timestamp) == \
        (byHeader.packets, byHeader.octets, byHeader.sequence, byHeader.timestamp)


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
                          st.sampled_from([1, 2]), st.floats(0.0, 0.1)), max_size=60))
def test_arriveAccountsAsUpdate(items):
    """Loss, duplicates, probation and jitter come out the same from the header alone."""
    byPacket, byHeader = ReceiverStats(), ReceiverStats()
    now = 0.0
    for seq, ts, ssrc, gap in items:
        now += gap
        packet = RTPPacket(0, seq, ts, ssrc, b"\x00" * 80)
        assert byPacket.update(packet, now) == byHeader.arrive(seq, ts, ssrc, 80, now)
    assert byPacket == byHeader


def test_inOrderStreamJitterAndLoss():
    stats = ReceiverStats()
    # 20 ms packets arriving 20 ms apart except one 30 ms late; packet 6 lost.
    arrivals = {1: 0.0, 2: 0.02, 3: 0.04, 4: 0.07, 5: 0.08, 7: 0.12}
    for seq, when in arrivals.items():
        stats.arrive(seq, 160 * seq, 42, 160, when)
    assert (stats.received, stats.expected, stats.lost) == (5, 6, 1)
    assert stats.octets == 5 * 160
    assert stats.jitterSamples > 0


def test_fixedHeaderLayout():
    data = RTPPacket(8, 513, 70000, 0xDEADBEEF, b"x", True).toBytes()
    assert FIXED_HEADER.unpack_from(data) == (0x80, 0x88, 513, 70000, 0xDEADBEEF)
