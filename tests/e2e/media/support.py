"""
Media end-to-end helpers: a real PBX on loopback (from the SIP call tests'
set-up, with the media applications loaded), SIPp for the signalling, and
an RTP peer written here that sends and records real RTP packets.
"""

import math
import os
import struct

from twisted.internet import defer, reactor, task
from twisted.internet.protocol import DatagramProtocol

from tests.e2e.sip_calls import support as calls

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")
ETC_SOUNDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                          "etc", "sounds")

MODULES = calls.MODULES + """load => app_playback
load => app_milliwatt
load => app_record
load => res_musiconhold
"""

EXTENSIONS = """[general]
static = yes

[calls]
exten => echo,1,Answer()
 same => n,Echo()
exten => milliwatt,1,Milliwatt()
exten => tone,1,Answer()
 same => n,Playback(tone-1khz)
 same => n,Hangup()
exten => record,1,Answer()
 same => n,Record({recording}.wav,0,10,q)
 same => n,Set(GLOBAL(RECSTATUS)=${{RECORD_STATUS}})
 same => n,Wait(10)
exten => bob,1,Dial(SIP/bob,10)
 same => n,Hangup()
"""


@defer.inlineCallbacks
def startPBX(testCase, bobPort=5999, recording="/tmp/recording", rtpTimeout=0):
    pbx, port = yield calls.startPBX(testCase, bobPort=bobPort, extra={
        "modules.conf": MODULES,
        "extensions.conf": EXTENSIONS.format(recording=recording),
        "pbx.conf": f"[options]\nverbose = 0\n[directories]\nastsoundsdir => {ETC_SOUNDS}\n",
        "rtp.conf": f"[general]\nrtpstart = 30000\nrtpend = 31000\nrtcpinterval = 500\n"
                    f"rtptimeout = {rtpTimeout}\n",
    })
    return pbx, port


def sippMedia(scenario, rtpPort, service=None, port=None, localPort=0, codec=0, talkms=1000):
    name = {0: "PCMU", 8: "PCMA"}[codec]
    extra = ["-key", "rtpport", str(rtpPort), "-key", "codec", str(codec),
             "-key", "codecname", name, "-d", str(talkms)]
    d = calls.sipp(os.path.join(SCENARIOS, scenario), port=port, localPort=localPort,
                   service=service, extra=extra)
    return d


class RTPPeer(DatagramProtocol):
    """The far end's media: records every RTP packet, sends paced packets."""

    def __init__(self):
        self.received = []       # (pt, seq, ts, ssrc, marker, payload)
        self.rtcp = 0
        self._sender = None
        self.sent = []

    def datagramReceived(self, data, addr):
        if len(data) >= 2 and 200 <= data[1] <= 204:
            self.rtcp += 1
            return
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        first, second, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
        offset = 12 + 4 * (first & 0x0F)
        self.received.append((second & 0x7F, seq, ts, ssrc, bool(second & 0x80), data[offset:]))

    def listen(self):
        self.port = reactor.listenUDP(0, self, interface="127.0.0.1")
        return self.port.getHost().port

    def send(self, target, payloads, pt=0, ssrc=0x1234ABCD):
        """
        Send C{payloads} every 20 ms to C{target}; a Deferred. An item is
        the payload (160 bytes of C{pt}) or (pt, payload, marker, timestamp).
        """
        it = iter(enumerate(payloads))
        done = defer.Deferred()

        def tick():
            try:
                i, item = next(it)
            except StopIteration:
                loop.stop()
                return
            if isinstance(item, tuple):
                itemPt, payload, marker, timestamp = item
            else:
                itemPt, payload, marker, timestamp = pt, item, i == 0, 160 * i
            header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | itemPt, 1000 + i,
                                 timestamp, ssrc)
            self.transport.write(header + payload, target)
            self.sent.append(payload)

        loop = task.LoopingCall(tick)
        loop.start(0.02).addCallback(lambda _: done.callback(None))
        return done

    def close(self):
        return self.port.stopListening()


@defer.inlineCallbacks
def waitFor(predicate, timeout=5.0, step=0.01):
    """Poll C{predicate} on the reactor until it holds (AssertionError after C{timeout})."""
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError("condition not met in time")
        yield task.deferLater(reactor, step, lambda: None)
        waited += step


def sessionFor(pbx, peerPort):
    """The PBX's RTP session sending to the test socket on C{peerPort}."""
    engine = getattr(pbx, "rtpEngine", None)
    if engine is None:
        return None
    for session in engine.sessions:
        if session.remote is not None and session.remote[1] == peerPort:
            return session
    return None


def goertzel(samples, frequency, rate=8000):
    coeff = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def dominantFrequency(samples, candidates):
    powers = {f: goertzel(samples, f) for f in candidates}
    return max(powers, key=powers.get), powers


def decodeUlaw(data):
    """µ-law to linear, written from G.711 here so the check does not use the code under test."""
    out = []
    for code in data:
        u = ~code & 0xFF
        t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
        out.append((0x84 - t) if u & 0x80 else (t - 0x84))
    return out


def decodeAlaw(data):
    out = []
    for code in data:
        a = code ^ 0x55
        t = (a & 0x0F) << 4
        seg = (a & 0x70) >> 4
        t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
        out.append(t if a & 0x80 else -t)
    return out


def dtmfPackets(event, timestamp, pt=101):
    """The RFC 4733 packets of one key press (first, two updates, three ends)."""
    def body(end, duration):
        return struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
    return ([(pt, body(False, 0), True, timestamp), (pt, body(False, 400), False, timestamp),
             (pt, body(False, 800), False, timestamp)]
            + [(pt, body(True, 960), False, timestamp)] * 3)


def ulawTone(frequency, count, amplitude=10000):
    """C{count} 20 ms µ-law payloads of a sine (encoded by table search, independently)."""
    table = sorted((v, c) for c, v in enumerate(decodeUlaw(range(256))))
    values = [v for v, _ in table]
    import bisect

    def encode(x):
        i = bisect.bisect_left(values, x)
        best = min((j for j in (i - 1, i) if 0 <= j < len(values)), key=lambda j: abs(values[j] - x))
        return table[best][1]

    payloads = []
    for p in range(count):
        payloads.append(bytes(encode(int(amplitude * math.sin(2 * math.pi * frequency * (160 * p + n) / 8000)))
                              for n in range(160)))
    return payloads
