"""RTCP compound packets and the report interval."""

import pytest

from pbxcore.media import rtcp

# A sender report with one report block followed by an SDES CNAME, as a
# softphone sends it (hex of the datagram).
CAPTURED_SR_SDES = bytes.fromhex(
    "81c8000c" "11223344"                      # SR, one block, length 12 words
    "e8a1b2c3" "40000000"                      # NTP timestamp
    "0001f400" "00000064" "00003e80"           # RTP ts, 100 packets, 16000 octets
    "55667788" "05000003" "0001000a" "00000020" "b2c34000" "00008000"
    "81ca0005" "11223344" "010b"               # SDES, CNAME len 11
    + "616c69636540686f7374" "2e"              # 'alice@host.'
    + "000000")


def test_capturedSenderReport():
    packets = rtcp.parseCompound(CAPTURED_SR_SDES)
    sr, sdes = packets
    assert isinstance(sr, rtcp.SenderReport)
    assert (sr.ssrc, sr.rtpTimestamp, sr.packetCount, sr.octetCount) == (0x11223344, 0x1F400, 100, 16000)
    (block,) = sr.reports
    assert block.ssrc == 0x55667788
    assert (block.fractionLost, block.cumulativeLost) == (5, 3)
    assert block.highestSequence == 0x1000A and block.jitter == 32
    assert block.lastSR == 0xB2C34000 and block.delaySinceLastSR == 0x8000
    assert sdes.cnames == {0x11223344: "alice@host."}
    assert rtcp.buildCompound(packets) == CAPTURED_SR_SDES


def test_receiverReportAndByeRoundTrip():
    packets = [rtcp.ReceiverReport(9, (rtcp.ReportBlock(10, 255, -2, 70000, 12, 0, 0),)),
               rtcp.Goodbye((9,), "hangup")]
    data = rtcp.buildCompound(packets)
    assert len(data) % 4 == 0
    assert rtcp.parseCompound(data) == packets


@pytest.mark.parametrize("data", [
    b"\x80", bytes.fromhex("40c80000"), bytes.fromhex("80c80006" "00000001"),
    bytes.fromhex("80c80001" "00000001"),
])
def test_malformed(data):
    with pytest.raises(rtcp.RTCPError):
        rtcp.parseCompound(data)


def test_ntp():
    assert rtcp.ntpTimestamp(0.5) == (2208988800 << 32) | (1 << 31)
    assert rtcp.middleNTP(0x0123456789ABCDEF) == 0x456789AB


def test_intervalBounds():
    low = rtcp.reportInterval(2, 1, True, 400.0, 100.0, False, 0.0, minimum=5.0)
    high = rtcp.reportInterval(2, 1, True, 400.0, 100.0, False, 0.999999, minimum=5.0)
    assert low == pytest.approx(5.0 * 0.5 / 1.21828)
    assert high == pytest.approx(5.0 * 1.5 / 1.21828, rel=1e-5)
    first = rtcp.reportInterval(2, 1, True, 400.0, 100.0, True, 0.5, minimum=5.0)
    assert first == pytest.approx(2.5 / 1.21828)
