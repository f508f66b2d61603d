"""
Telling apart what arrives on one media port (RFC 7983, RFC 5761).

Pure. The first byte of a datagram says what it is: 0-3 STUN, 16-19 ZRTP,
20-63 DTLS, 64-79 TURN channel data, 128-191 RTP or RTCP; with rtcp-mux
RTCP is the packet whose second byte (marker bit included) is 192-223
(payload types 64-95, RFC 5761 section 4).
"""

from __future__ import annotations

__all__ = ["STUN", "ZRTP", "DTLS", "TURN", "RTP", "RTCP", "UNKNOWN", "classify", "isRTCP"]

STUN, ZRTP, DTLS, TURN, RTP, RTCP, UNKNOWN = (
    "stun", "zrtp", "dtls", "turn", "rtp", "rtcp", "unknown")


def isRTCP(data: bytes) -> bool:
    """An RTP-range datagram that is RTCP (payload type 64-95 with the marker bit)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def classify(data: bytes) -> str:
    """What a datagram received on a multiplexed media port is."""
    if not data:
        return UNKNOWN
    first = data[0]
    if first <= 3:
        return STUN
    if 16 <= first <= 19:
        return ZRTP
    if 20 <= first <= 63:
        return DTLS
    if 64 <= first <= 79:
        return TURN
    if 128 <= first <= 191:
        return RTCP if isRTCP(data) else RTP
    return UNKNOWN
