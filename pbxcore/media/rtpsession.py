"""
RTP sessions: one RTP/RTCP socket pair per audio stream, the shell around
the pure codecs of L{pbxcore.media}.

The API a channel driver (or an SDP handler) uses::

    engine = RTPEngine.forPBX(pbx)              # rtp.conf: port range, timeouts
    rtp = engine.createSession(onFrame=session.frameReceived,
                               onTimeout=lambda cause: ...)
    rtp.start("127.0.0.1")                      # binds even port N and N+1
    rtp.localPort, rtp.localRtcpPort            # for the SDP m= line
    rtp.setPayloads({0: "ulaw", 8: "alaw"},     # what we may receive
                    send=(0, "ulaw"),           # the negotiated format
                    dtmf=101, ptime=20)
    rtp.setRemote(("10.0.0.2", 4000))           # c=/m= of the far end
    rtp.symmetric = True                        # nat=comedia: learn from packets
    rtp.setHold(True)                           # rtpholdtimeout applies
    rtp.writeFrame(frame)                       # VOICE (any G.711/slin: transcoded),
                                                # DTMF_BEGIN / DTMF_END as RFC 4733
    rtp.sendDigit("5", 120)                     # begin + end in one call
    rtp.stats()                                 # packets, loss, jitter, RTCP
    rtp.close()                                 # frees both ports (Deferred)

Frames received go to C{onFrame}: VOICE frames in the received format (with
the RTP timestamp), DTMF_BEGIN / DTMF_END frames, once per digit. When no RTP
arrives for C{rtptimeout} seconds (C{rtpholdtimeout} while on hold),
C{onTimeout(cause)} is called once (cause REQUESTED_CHAN_UNAVAIL).

Relay: L{RTPSession.relayTo} forwards every received packet to another
session in the same reactor turn without decoding (same format), or
transcoded through linear (different formats), renumbered for the outgoing
leg; DTMF events are forwarded as events, or (C{events=False}, a leg that
takes its digits as SIP INFO) delivered as DTMF frames for the core to pass
on. C{addObserver} tells a bridge when the send format or hold state
changes, or the session closes, so it can drop back to frames.

One timer per session (C{callLater}) serves RTCP, DTMF and the RTP timeout.
Where the platform has epoll and the reactor is an IReactorFDSet, the RTP
sockets of an engine are read through one epoll set the reactor watches as
a single reader (L{RTPEngine.reader}); RTCP sockets are ordinary readers.
"""

from __future__ import annotations

import collections
import errno
import os
import random
import resource
import select

from twisted.internet import abstract, defer, udp
from twisted.internet.interfaces import IReactorFDSet
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from pbxcore.config import isTrue, parseFile
from pbxcore.frame import Frame, FrameKind, HangupCause, SAMPLE_RATES
from pbxcore.media import g711, rtcp
from pbxcore.media.dtmf import DTMFReceiver, DTMFSender
from pbxcore.media.opus import opusSamples
from pbxcore.media.rtp import (
    FIXED_HEADER, OutgoingStream, ReceiverStats, RTPError, RTPPacket, parseRTP,
)

__all__ = ["RTPSettings", "RTPEngine", "RTPSession", "PortRangeExhausted"]

_TRANSCODABLE = ("ulaw", "alaw", "slin")
#: Formats whose RTP timestamp advances by one a payload byte (G.722's clock is 8000, RFC 3551).
_ONE_BYTE_A_SAMPLE = ("ulaw", "alaw", "g722")


def _samplesOf(fmt, payload, size=None):
    """The RTP timestamp units a payload of C{fmt} spans (Opus: from its TOC byte)."""
    if fmt == "opus":
        return opusSamples(payload)
    size = len(payload) if size is None else size
    return size // 2 if fmt == "slin" else size


class PortRangeExhausted(CannotListenError):
    """No even port of the rtp.conf range (and its odd neighbour) was free."""

    def __init__(self, interface, start, end):
        super().__init__(interface, f"{start}-{end}",
                         OSError(f"no free RTP port pair in {start}-{end}"))


class RTPSettings:
    """
    The [general] section of rtp.conf. Times in seconds; C{rtcpinterval}
    in milliseconds as in Asterisk (0 disables RTCP).
    """

    def __init__(self, rtpstart=10000, rtpend=20000, rtcpinterval=5000, rtptimeout=0,
                 rtpholdtimeout=0, dtmftimeout=3000, strictrtp=False, rtpchecksums=False):
        if rtpstart % 2:
            rtpstart += 1
        if not (1024 <= rtpstart < rtpend <= 65535):
            raise ValueError(f"bad RTP port range {rtpstart}-{rtpend}")
        self.rtpstart = rtpstart
        self.rtpend = rtpend
        self.rtcpinterval = rtcpinterval
        self.rtptimeout = rtptimeout
        self.rtpholdtimeout = rtpholdtimeout
        self.dtmftimeout = dtmftimeout
        self.strictrtp = strictrtp
        self.rtpchecksums = rtpchecksums

    @classmethod
    def fromConfig(cls, config):
        """From a parsed rtp.conf; ConfigError (file:line) on a bad value."""
        from pbxcore.config import ConfigError

        values = {}
        section = config.section("general") if config is not None else None
        if section is not None:
            for entry in section.entries:
                key = entry.key.lower()
                if key in ("rtpstart", "rtpend", "rtcpinterval", "rtptimeout",
                           "rtpholdtimeout", "dtmftimeout"):
                    try:
                        values[key] = int(entry.value)
                    except ValueError:
                        raise ConfigError(f"{entry.key} must be a number, not {entry.value!r}",
                                          entry.filename, entry.line) from None
                elif key in ("strictrtp", "rtpchecksums"):
                    values[key] = isTrue(entry.value)
        try:
            return cls(**values)
        except ValueError as e:
            line = section.line if section is not None else None
            raise ConfigError(str(e), getattr(config, "filename", "rtp.conf"), line) from None

    @classmethod
    def fromConfigDir(cls, configDir):
        path = os.path.join(configDir, "rtp.conf")
        if not os.path.exists(path):
            return cls()
        return cls.fromConfig(parseFile(path))


class _SharedReader:
    """
    Reads the RTP sockets of an engine through one epoll set that the
    reactor watches as a single reader.

    A relayed call receives a packet every 20 ms on each leg, so nearly
    every reactor wake-up finds one datagram per ready socket: one reader
    for all of them saves the reactor's per-socket dispatch (logging
    context, the read loop's second C{recvfrom} that ends in EAGAIN) on
    every packet. Each ready socket gives one datagram per round, and a few
    rounds (L{rounds}) run per wake-up; a socket still holding more stays
    ready (level-triggered) for the next reactor turn, so timers and other
    sockets are never starved.
    """

    log = Logger()

    #: The largest datagram read, as Twisted's UDP port.
    maxPacketSize = 8192

    #: Rounds over the ready sockets in one reactor wake-up: packets that
    #: arrived during a round are read without going back through the
    #: reactor, and the bound keeps other readers and timers served.
    rounds = 4

    def __init__(self, reactor):
        self.reactor = reactor
        self._poll = None
        self._handlers = {}

    @staticmethod
    def usable(reactor):
        return hasattr(select, "epoll") and IReactorFDSet.providedBy(reactor)

    def fileno(self):
        return self._poll.fileno() if self._poll is not None else -1

    def logPrefix(self):
        return "RTP"

    def add(self, port, handler):
        """Read C{port} (a listening C{udp.Port}) here; datagrams go to C{handler}."""
        sock = port.socket
        fd = sock.fileno()
        port.stopReading()
        if self._poll is None:
            self._poll = select.epoll()
            self.reactor.addReader(self)
        self._poll.register(fd, select.EPOLLIN)
        self._handlers[fd] = (sock.recvfrom, handler, port)

    def remove(self, port):
        """Stop reading C{port}; call before it closes (its descriptor is reused)."""
        sock = getattr(port, "socket", None)
        fd = sock.fileno() if sock is not None else None
        entry = self._handlers.get(fd)
        if entry is None or entry[2] is not port:
            # Its socket is already closed: find it by the port.
            fd = next((k for k, v in self._handlers.items() if v[2] is port), None)
            if fd is None:
                return
        del self._handlers[fd]
        if self._poll is not None:
            try:
                self._poll.unregister(fd)
            except OSError:
                pass        # already closed: epoll forgot it by itself
            if not self._handlers:
                self._stop()

    def _stop(self):
        self.reactor.removeReader(self)
        self._poll.close()
        self._poll = None

    def doRead(self):
        handlers = self._handlers
        for _ in range(self.rounds):
            if self._poll is None:
                return
            ready = self._poll.poll(0, len(handlers) or 1)
            if not ready:
                return
            self._readRound(ready)

    def _readRound(self, ready):
        handlers = self._handlers
        size = self.maxPacketSize
        for fd, _ in ready:
            entry = handlers.get(fd)
            if entry is None:
                continue
            try:
                data, addr = entry[0](size)
            except BlockingIOError:
                continue
            except OSError as e:
                # ICMP port unreachable for an earlier send and the like:
                # the socket stays usable, as Twisted's UDP port treats it.
                if e.errno not in (errno.ECONNREFUSED, errno.EINTR, errno.ENOBUFS):
                    self.log.error("RTP: reading port {port} failed: {error}",
                                   port=entry[2].getHost().port, error=str(e))
                continue
            if len(addr) > 2:
                addr = addr[:2]
            try:
                entry[1](data, addr)
            except Exception:
                self.log.failure("RTP: handling a datagram from {addr} failed", addr=addr)

    def connectionLost(self, reason):
        """The reactor dropped this reader (shutdown): sockets stay as they are."""
        if self._poll is not None:
            self._poll.close()
            self._poll = None


class RTPEngine:
    """
    The PBX-wide RTP state: the settings and the port allocator. Ports are
    handed out round robin over the range so a port just released is not
    reused at once (late packets of the old call would land in the new).

    With C{spare} above 0 (the PBX's engine), a closed session's socket pair
    stays bound, muted, in a first-in first-out pool of up to C{spare} pairs
    and is handed to a new session once it has rested C{reuseAfter} seconds:
    binding two sockets (and Twisted's two log lines per socket) per stream
    was the largest single cost of an anchored call's set-up and tear-down.
    """

    log = Logger()

    #: Seconds a released pair rests before a new session gets it.
    reuseAfter = 1.0

    def __init__(self, settings=None, reactor=None, randbits=None, sharedReader=True, spare=0):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        # One epoll set for every RTP socket (where the platform and reactor
        # allow); False: each RTP socket is a reader of its own.
        self.reader = (_SharedReader(reactor)
                       if sharedReader and _SharedReader.usable(reactor) else None)
        self.settings = settings or RTPSettings()
        self.sessions = set()
        #: Packet counts of the sessions already closed (/metrics adds the
        #: live ones at scrape time).
        self.retired = {"txPackets": 0, "rxPackets": 0, "rxLost": 0}
        self.random = random.SystemRandom()
        self.randbits = randbits or self.random.getrandbits
        span = (self.settings.rtpend - self.settings.rtpstart) // 2
        self._next = self.settings.rtpstart + 2 * self.random.randrange(max(span, 1))
        self.spare = spare
        # (released at, interface, RTP port, RTCP port), oldest first.
        self._spare = collections.deque()

    @classmethod
    def forPBX(cls, pbx):
        """The engine of C{pbx}, created (from rtp.conf) on first use."""
        engine = getattr(pbx, "rtpEngine", None)
        if engine is None:
            configDir = getattr(pbx, "configDir", None)
            settings = RTPSettings.fromConfigDir(configDir) if configDir else RTPSettings()
            engine = cls(settings, reactor=getattr(pbx, "reactor", None), spare=sparePairs())
            pbx.rtpEngine = engine
        return engine

    def reconfigure(self, settings):
        """New settings (reload): sessions already open keep their ports."""
        self.settings = settings
        self.closeSpare()

    @property
    def spareCount(self):
        """How many released socket pairs wait in the pool."""
        return len(self._spare)

    def closeSpare(self):
        """Close the pooled pairs (unload, reload, shutdown); a Deferred."""
        ports = [port for entry in self._spare for port in entry[2:]]
        self._spare.clear()
        return _stopAll(ports)

    def release(self, ports, interface):
        """
        A closing session's (RTP port, RTCP port): kept, muted, for a later
        session while the pool has room, else closed; a Deferred.
        """
        if (len(ports) == 2 and len(self._spare) < self.spare
                and all(isinstance(p.protocol, (_RTPProtocol, _RTCPProtocol)) for p in ports)):
            for port in ports:
                port.protocol.session = None
            self._spare.append((self.reactor.seconds(), interface) + tuple(ports))
            return defer.succeed(None)
        for port in ports:
            # The protocol points back at the closed session: cut that cycle
            # so the session is freed at once (no cyclic garbage per call).
            if isinstance(getattr(port, "protocol", None), (_RTPProtocol, _RTCPProtocol)):
                port.protocol.session = None
        return _stopAll(ports)

    def _takeSpare(self, interface):
        """The oldest pooled pair if it has rested long enough (else None)."""
        spare = self._spare
        now = self.reactor.seconds()
        while spare and now - spare[0][0] >= self.reuseAfter:
            _, bound, rtpPort, rtcpPort = spare.popleft()
            if bound != interface:
                _stopAll((rtpPort, rtcpPort))
                continue
            for port in (rtpPort, rtcpPort):
                _drain(port)
            return rtpPort, rtcpPort
        return None

    def createSession(self, **kw):
        """A new, unbound L{RTPSession} (see its constructor)."""
        return RTPSession(self, **kw)

    @property
    def openSockets(self):
        """How many RTP and RTCP sockets are open now (two per started session)."""
        return sum(s.socketCount for s in self.sessions)

    def bind(self, session, interface):
        """Listen on an even port and the next one; returns both ports."""
        pair = self._takeSpare(interface) if self._spare else None
        if pair is not None:
            rtpPort, rtcpPort = pair
            session.rtpProtocol, session.rtcpProtocol = rtpPort.protocol, rtcpPort.protocol
            rtpPort.protocol.session = rtcpPort.protocol.session = session
        else:
            rtpPort, rtcpPort = self._bindNew(session, interface)
        if self.reader is not None and isinstance(rtpPort, udp.Port):
            self.reader.add(rtpPort, session.rtpDatagram)
        return rtpPort, rtcpPort

    def _bindNew(self, session, interface):
        start, end = self.settings.rtpstart, self.settings.rtpend
        count = max((end - start) // 2, 1)
        for _ in range(count):
            port = self._next
            self._next += 2
            if self._next + 1 > end:
                self._next = start
            try:
                rtpPort = self.reactor.listenUDP(port, session.rtpProtocol, interface=interface)
            except CannotListenError:
                continue
            try:
                rtcpPort = self.reactor.listenUDP(port + 1, session.rtcpProtocol,
                                                  interface=interface)
            except CannotListenError:
                # The RTP port closes on the next reactor turn and keeps its
                # protocol until then: the next pair gets fresh protocols.
                rtpPort.stopListening()
                session.rtpProtocol = _RTPProtocol(session)
                session.rtcpProtocol = _RTCPProtocol(session)
                continue
            return rtpPort, rtcpPort
        raise PortRangeExhausted(interface, start, end)


def sparePairs(limit=512):
    """
    How many released RTP socket pairs the PBX's engine keeps: C{limit}, or
    fewer when the open-file limit is low (an eighth of it, in pairs).
    """
    try:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (OSError, ValueError):
        return 0
    if soft == resource.RLIM_INFINITY:
        return limit
    return max(0, min(limit, soft // 16))


def _stopAll(ports):
    results = [defer.maybeDeferred(p.stopListening) for p in ports]
    return defer.gatherResults(results, consumeErrors=True).addCallback(lambda _: None)


def _drain(port, most=64):
    """Drop what reached a pooled port while it rested."""
    sock = getattr(port, "socket", None)
    if sock is None:
        return
    for _ in range(most):
        try:
            sock.recvfrom(65535)
        except OSError:
            return


class _RTPProtocol(DatagramProtocol):
    # Two sockets a call: no "Starting/Stopping protocol" log lines for them.
    noisy = False

    def __init__(self, session):
        self.session = session

    def datagramReceived(self, data, addr):
        session = self.session
        if session is not None:         # None: resting in the engine's pool
            session.rtpDatagram(data, addr)


class _RTCPProtocol(DatagramProtocol):
    noisy = False

    def __init__(self, session):
        self.session = session

    def datagramReceived(self, data, addr):
        session = self.session
        if session is not None:
            session.rtcpDatagram(data, addr)


class RTPRelaying:
    """
    The part of an L{RTPSession} that sends what does not come from its own
    channel: packets of the bridged leg relayed without decoding (or
    transcoded between G.711 laws) and RFC 4733 telephone events.
    """

    def relayVoice(self, packet, fmt, now):
        """A packet from the bridged leg: forwarded now, renumbered for this leg."""
        target = self.sendFormat
        payload = packet.payload
        if fmt != target:
            if fmt not in _TRANSCODABLE or target not in _TRANSCODABLE:
                return
            payload = g711.transcode(fmt, target, payload)
            self.transcoded += 1
            packet = RTPPacket(packet.payloadType, packet.sequence, packet.timestamp,
                               packet.ssrc, payload, packet.marker)
        self._send(self.outgoing.relay(packet, _samplesOf(target, payload), now,
                                       self.sendPayloadType))

    def relayDatagram(self, data, timestamp, ssrc, marker, size, now):
        """
        A packet of the bridged leg in this leg's format: the received
        datagram goes out again with this leg's payload type, SSRC,
        sequence number and timestamp patched into a copy of its header.
        """
        fmt = self.sendFormat
        samples = size if fmt in _ONE_BYTE_A_SAMPLE else _samplesOf(fmt, data[12:14], size)
        seq, timestamp, marker = self.outgoing.relayHeader(ssrc, timestamp, marker, samples, size, now)
        if not self._ports or self.remote is None or not self.sending:
            return
        out = bytearray(data)
        FIXED_HEADER.pack_into(out, 0, 0x80, (0x80 if marker else 0) | (self.sendPayloadType & 0x7F),
                          seq, timestamp, self.outgoing.ssrc)
        self._sendBytes(out)

    def relayEvent(self, packet, now):
        """A telephone-event packet of the bridged leg, forwarded as an event."""
        stream = self.outgoing
        if packet.marker or stream.relaySource != ("event", packet.ssrc, packet.timestamp):
            stream.relaySource = ("event", packet.ssrc, packet.timestamp)
            self._eventTimestamp = stream.reserveTimestamp(now)
            stream.timestamp = self._eventTimestamp
            stream.newSource()
            stream.relaySource = ("event", packet.ssrc, packet.timestamp)
            marker = True
        else:
            marker = False
        seq = stream.nextSequence()
        stream.advance(0, now)
        self._send(RTPPacket(self.dtmfPayload, seq, self._eventTimestamp, stream.ssrc,
                             packet.payload, marker))

    def relayTo(self, other, events=True):
        """
        Forward everything received to C{other} (None stops): voice without
        decoding when both use one format, transcoded otherwise. The packet
        goes out in the reactor turn it arrived in. DTMF goes as RFC 4733
        events when C{events} and C{other} negotiated them, else as DTMF
        frames to C{onFrame}.
        """
        if other is self.relayTarget and events == self.relayEvents:
            return
        self.relayTarget = other
        self.relayEvents = bool(events)
        if other is not None:
            other.outgoing.newSource()

    def _sendEvents(self, payloads, now):
        stream = self.outgoing
        for item in payloads:
            seq = stream.nextSequence()
            self._send(RTPPacket(self.dtmfPayload, seq, self.dtmfSender.timestamp, stream.ssrc,
                                 item.payload, item.marker))
            if item.end:
                stream.timestamp = self.dtmfSender.timestamp
                stream.advance(0, now)
                stream.newSource()

    def sendDigitBegin(self, digit):
        """Start an RFC 4733 event (updates follow every 50 ms until the end)."""
        if self.closed or self.dtmfPayload is None:
            return False
        now = self.reactor.seconds()
        try:
            payloads = self.dtmfSender.begin(digit, self.outgoing.reserveTimestamp(now), now)
        except ValueError:
            return False
        self._sendEvents(payloads, now)
        self._rearm()
        return True

    def sendDigitEnd(self, digit, durationMs=0):
        """End the running event (it lasts at least C{durationMs})."""
        if self.closed or self.dtmfPayload is None:
            return False
        if not self.dtmfSender.active:
            if not self.sendDigitBegin(digit):
                return False
        now = self.reactor.seconds()
        self._sendEvents(self.dtmfSender.end(now, durationMs), now)
        self._rearm()
        return True

    def sendDigit(self, digit, durationMs=100):
        """A whole digit; False when RFC 4733 was not negotiated."""
        return self.sendDigitBegin(digit) and self.sendDigitEnd(digit, durationMs)


class RTCPReporting:
    """
    The RTCP half of an L{RTPSession} (RFC 3550 section 6): reports in and
    out, and the counters built from them.
    """

    def rtcpDatagram(self, data, addr):
        if self.closed:
            return
        try:
            packets = rtcp.parseCompound(data)
        except rtcp.RTCPError as e:
            self.log.debug("RTCP: dropped a malformed packet from {addr}: {error}",
                           addr=addr, error=str(e))
            return
        self.rtcpReceived += 1
        if self.symmetric and self.learned:
            self.remoteRtcp = addr
        now = self.reactor.seconds()
        for packet in packets:
            if isinstance(packet, rtcp.SenderReport):
                self.incoming.lastSR = rtcp.middleNTP(packet.ntp)
                self.incoming.lastSRArrival = now
            if isinstance(packet, (rtcp.SenderReport, rtcp.ReceiverReport)):
                for block in packet.reports:
                    if block.ssrc == self.outgoing.ssrc:
                        self.remoteReport = block

    def _rtcpInterval(self, initial=False):
        minimum = self.engine.settings.rtcpinterval / 1000.0
        # Two members, 64 kbit/s audio: RTCP gets 5 % = 400 octets/s.
        return rtcp.reportInterval(2, 1 if self.outgoing.packets else 0, bool(self.outgoing.packets),
                                   400.0, 100.0, initial, self.engine.random.random(),
                                   minimum=minimum)

    def buildReport(self, now):
        """The compound RTCP packet (SR or RR, then SDES CNAME) for now."""
        blocks = ()
        stats = self.incoming
        if stats.ssrc is not None and stats.received:
            fraction, lost = stats.intervalReport()
            dlsr = 0
            if stats.lastSRArrival is not None:
                dlsr = int((now - stats.lastSRArrival) * 65536)
            blocks = (rtcp.ReportBlock(stats.ssrc, fraction, lost, stats.extendedMaxSeq,
                                       stats.jitterSamples, stats.lastSR, dlsr),)
        out = self.outgoing
        if out.packets and self.sent:
            elapsed = int(max(0.0, now - (out.lastSent or now)) * out.clockRate)
            report = rtcp.SenderReport(out.ssrc, rtcp.ntpTimestamp(now),
                                       (out.timestamp + elapsed) & 0xFFFFFFFF,
                                       out.packets, out.octets, blocks)
        else:
            report = rtcp.ReceiverReport(out.ssrc, blocks)
        sdes = rtcp.SourceDescription(((out.ssrc, ((1, self.cname),)),))
        return [report, sdes]

    def sendReport(self, now=None, bye=False):
        """Send an RTCP report now (and a BYE when closing)."""
        if not self._ports or self.remoteRtcp is None:
            return
        now = self.reactor.seconds() if now is None else now
        packets = self.buildReport(now)
        if bye:
            packets.append(rtcp.Goodbye((self.outgoing.ssrc,)))
        self._sendRtcpBytes(rtcp.buildCompound(packets))

    def _sendRtcpBytes(self, data):
        try:
            self._ports[1].write(data, self.remoteRtcp)
            self.rtcpSent += 1
        except OSError as e:
            self.log.debug("RTCP send failed: {error}", error=str(e))

    def stats(self):
        """Counters for 'sip show channelstats' and the RTCP* variables."""
        incoming = self.incoming
        remote = self.remoteReport
        return {
            "localPort": self.localPort,
            "remote": self.remote,
            "ssrc": self.outgoing.ssrc,
            "remoteSsrc": incoming.ssrc,
            "txPackets": self.outgoing.packets,
            "txOctets": self.outgoing.octets,
            "rxPackets": incoming.received,
            "rxOctets": incoming.octets,
            "rxLost": max(0, incoming.lost),
            "rxExpected": incoming.expected,
            "rxJitterMs": incoming.jitterMs,
            "rxDropped": self.dropped,
            "rtcpSent": self.rtcpSent,
            "rtcpReceived": self.rtcpReceived,
            "txLostReported": remote.cumulativeLost if remote else None,
            "txJitterReported": remote.jitter if remote else None,
        }


class RTPSession(RTPRelaying, RTCPReporting):
    """
    One audio stream: an RTP socket on an even port, RTCP on the next.

    C{payloads} maps received payload types to format names; C{sendPayloadType}
    and C{sendFormat} are what goes out; C{dtmfPayload} is the negotiated
    telephone-event type (None: no RFC 4733). C{remote} is the far end's RTP
    address, C{remoteRtcp} its RTCP address. With C{symmetric} (nat=comedia)
    the remote address is learnt from the first packets the far end sends.
    C{sending} False mutes output (hold, sendonly streams of the far end).
    """

    log = Logger()

    def __init__(self, engine, onFrame=None, onTimeout=None, rtptimeout=None,
                 rtpholdtimeout=None, symmetric=False, cname=None):
        self.engine = engine
        self.reactor = engine.reactor
        self.onFrame = onFrame
        self.onTimeout = onTimeout
        settings = engine.settings
        self.rtptimeout = settings.rtptimeout if rtptimeout is None else rtptimeout
        self.rtpholdtimeout = settings.rtpholdtimeout if rtpholdtimeout is None else rtpholdtimeout
        self.symmetric = symmetric
        self.payloads: dict[int, str] = {0: "ulaw", 8: "alaw"}
        self.sendPayloadType = 0
        self.sendFormat = "ulaw"
        self.dtmfPayload: int | None = None
        self.ptime = 20
        self.remote = None
        self.remoteRtcp = None
        self.learned = False
        self.sending = True
        self.held = False
        self.closed = False
        self.localAddress = None
        self.localPort = None
        self.localRtcpPort = None
        self.rtpProtocol = _RTPProtocol(self)
        self.rtcpProtocol = _RTCPProtocol(self)
        self._ports = ()
        # socket.sendto of the RTP port when the remote is an IP literal:
        # skips the port's per-write address checks on the relay's hot path.
        self._sendto = None
        self.outgoing = OutgoingStream(engine.randbits(32) or 1, engine.randbits(16),
                                       engine.randbits(32))
        self.incoming = ReceiverStats()
        self.cname = cname or f"{self.outgoing.ssrc:08x}@txpbx"
        # An event whose end packets were all lost ends after dtmftimeout.
        self.dtmfReceiver = DTMFReceiver(lostEndTimeout=max(settings.dtmftimeout, 100) / 1000.0)
        self.dtmfSender = DTMFSender()
        self.relayTarget: RTPSession | None = None
        self.relayEvents = True
        self.observers = []
        # Work counters: payloads transcoded, voice frames handed to the core.
        self.transcoded = 0
        self.voiceFrames = 0
        self.received = 0
        self.sent = 0
        self.dropped = 0
        self.rtcpSent = 0
        self.rtcpReceived = 0
        self.remoteReport: rtcp.ReportBlock | None = None
        self.timedOut = False
        self._lastReceived = None
        self._startedAt = None
        self._nextRtcp = None
        self._call = None
        self._deadline = None

    # -- setup -------------------------------------------------------------------

    @property
    def socketCount(self):
        return len(self._ports)

    def start(self, interface="0.0.0.0"):
        """Bind the RTP/RTCP pair from the rtp.conf range; returns the RTP port."""
        if self._ports:
            return self.localPort
        if self.closed:
            raise RuntimeError("RTP session already closed")
        rtpPort, rtcpPort = self.engine.bind(self, interface)
        self._ports = (rtpPort, rtcpPort)
        self._updateSendto()
        self.engine.sessions.add(self)
        self.localAddress = interface
        self.localPort = rtpPort.getHost().port
        self.localRtcpPort = rtcpPort.getHost().port
        now = self.reactor.seconds()
        self._startedAt = now
        if self.engine.settings.rtcpinterval > 0:
            self._nextRtcp = now + self._rtcpInterval(initial=True)
        self._rearm()
        return self.localPort

    def setPayloads(self, payloads, send=None, dtmf=None, ptime=None):
        """
        The negotiated formats: C{payloads} {pt: format} accepted on receive,
        C{send} the (pt, format) to send, C{dtmf} the telephone-event type.
        """
        self.payloads = dict(payloads)
        changed = dtmf != self.dtmfPayload
        if send is not None:
            pt, fmt = send
            if fmt != self.sendFormat:
                self.outgoing.newSource()
                changed = True
            self.sendPayloadType, self.sendFormat = pt, fmt
        self.dtmfPayload = dtmf
        if ptime:
            self.ptime = int(ptime)
        if changed:
            self._changed()

    def setRemote(self, address, rtcpAddress=None):
        """The far end's RTP address (host, port); RTCP defaults to port + 1."""
        if address is None:
            self.remote = self.remoteRtcp = None
            return
        host, port = address[0], int(address[1])
        self.remote = (host, port)
        self.remoteRtcp = tuple(rtcpAddress) if rtcpAddress else (host, port + 1)
        self.learned = False
        self._updateSendto()

    def _updateSendto(self):
        sock = getattr(self._ports[0], "socket", None) if self._ports else None
        remote = self.remote
        if (sock is None or remote is None
                or not (abstract.isIPAddress(remote[0]) or abstract.isIPv6Address(remote[0]))):
            self._sendto = None
        else:
            self._sendto = sock.sendto

    def setHold(self, held):
        """On hold the RTP timeout is C{rtpholdtimeout}."""
        changed = bool(held) != self.held
        self.held = bool(held)
        self._lastReceived = self.reactor.seconds()
        self._rearm()
        if changed:
            self._changed()

    def setTimeouts(self, rtptimeout=None, rtpholdtimeout=None):
        if rtptimeout is not None:
            self.rtptimeout = rtptimeout
        if rtpholdtimeout is not None:
            self.rtpholdtimeout = rtpholdtimeout
        self._rearm()

    def attach(self, channel):
        """Deliver frames to C{channel}; an RTP timeout hangs it up."""
        self.onFrame = channel.frameReceived

        def timedOut(cause):
            channel.hangupCause = channel.hangupCause or cause
            channel.softHangup(cause, "RTP timeout")
        self.onTimeout = timedOut

    # -- receiving ---------------------------------------------------------------

    def rtpDatagram(self, data, addr):
        if self.closed:
            return
        self.received += 1
        packet = None
        if len(data) > 12 and data[0] == 0x80:
            # The usual packet (version 2; no CSRC, extension or padding):
            # its header is read in place and no packet object is built
            # unless a slower path below needs one.
            _, second, seq, timestamp, ssrc = FIXED_HEADER.unpack_from(data)
            size = len(data) - 12
        else:
            try:
                packet = parseRTP(data)
            except RTPError:
                self.dropped += 1
                return
            second = packet.payloadType | (0x80 if packet.marker else 0)
            seq, timestamp, ssrc = packet.sequence, packet.timestamp, packet.ssrc
            size = len(packet.payload)
        if self.symmetric and not self.learned:
            self._learn(addr)
        now = self.reactor.seconds()
        self._lastReceived = now
        incoming = self.incoming
        if not incoming.arrive(seq, timestamp, ssrc, size, now):
            # Probation or duplicate: still audio worth playing unless a duplicate.
            if incoming.probation == 0:
                self.dropped += 1
                return
        pt = second & 0x7F
        if pt == self.dtmfPayload:
            self._eventReceived(packet or parseRTP(data), now)
            return
        fmt = self.payloads.get(pt)
        if fmt is None or not size:
            self.dropped += 1
            return
        target = self.relayTarget
        if target is not None:
            if packet is None and fmt == target.sendFormat:
                target.relayDatagram(data, timestamp, ssrc, second > 127, size, now)
            else:
                target.relayVoice(packet or parseRTP(data), fmt, now)
            return
        payload = data[12:] if packet is None else packet.payload
        samples = size if fmt in _ONE_BYTE_A_SAMPLE else _samplesOf(fmt, payload)
        self.voiceFrames += 1
        self._deliver(Frame(FrameKind.VOICE, fmt, payload, samples,
                            samples * 1000 // SAMPLE_RATES.get(fmt, 8000), timestamp))

    def _learn(self, addr):
        """comedia: media goes back where the far end's media comes from."""
        self.learned = True
        if addr != self.remote:
            self.log.debug("RTP: learnt remote address {addr}", addr=addr)
            self.remote = addr
            self.remoteRtcp = (addr[0], addr[1] + 1)
            self._updateSendto()

    def _eventReceived(self, packet, now):
        """A telephone-event packet: relayed as an event, or DTMF frames."""
        target = self.relayTarget
        native = (target is not None and self.relayEvents
                  and target.dtmfPayload is not None)
        if native:
            target.relayEvent(packet, now)
        for event in self.dtmfReceiver.receive(packet.timestamp, packet.payload, now):
            if not native:
                # Not relayed as events: DTMF frames for the core (the
                # bridge passes them on as digits, INFO for such a peer).
                self._deliver(Frame(FrameKind.DTMF_END if event.end else FrameKind.DTMF_BEGIN,
                                    event.digit, b"", 0, event.durationMs))
        self._rearm()

    def _deliver(self, frame):
        if self.onFrame is not None:
            self.onFrame(frame)

    # -- sending -----------------------------------------------------------------

    def _send(self, packet: RTPPacket):
        if not self._ports or self.remote is None or not self.sending:
            return
        self._sendBytes(packet.toBytes())

    def _sendBytes(self, data):
        try:
            if self._sendto is not None:
                self._sendto(data, self.remote)
            else:
                self._ports[0].write(data, self.remote)
            self.sent += 1
        except OSError as e:
            self.log.debug("RTP send to {remote} failed: {error}", remote=self.remote,
                           error=str(e))

    def writeFrame(self, frame):
        """Send a VOICE or DTMF frame from the core to the far end."""
        kind = frame.kind
        if kind is FrameKind.VOICE:
            self.sendAudio(frame.subclass, frame.data)
        elif kind is FrameKind.DTMF_BEGIN:
            self.sendDigitBegin(frame.subclass)
        elif kind is FrameKind.DTMF_END:
            self.sendDigitEnd(frame.subclass, frame.durationMs)

    def sendAudio(self, fmt, data):
        """Audio of format C{fmt}, transcoded when needed, in ptime packets."""
        if self.closed or not data:
            return
        target = self.sendFormat
        if fmt != target:
            if fmt not in _TRANSCODABLE or target not in _TRANSCODABLE:
                self.dropped += 1
                return
            data = g711.transcode(fmt, target, data)
            self.transcoded += 1
        now = self.reactor.seconds()
        if target == "opus":
            # One Opus frame is one packet (it cannot be cut; it is never decoded here).
            self._send(self.outgoing.packet(self.sendPayloadType, data, opusSamples(data), now))
            return
        width = 2 if target == "slin" else 1
        step = self.ptime * 8 * width
        for offset in range(0, len(data), step):
            chunk = data[offset:offset + step]
            self._send(self.outgoing.packet(self.sendPayloadType, chunk, len(chunk) // width, now))

    # -- observers ---------------------------------------------------------------

    def addObserver(self, observer):
        """C{observer(session)} is called when the send format, the telephone-event
        type or the hold state changes, and when the session closes."""
        self.observers.append(observer)

    def removeObserver(self, observer):
        if observer in self.observers:
            self.observers.remove(observer)

    def _changed(self):
        for observer in list(self.observers):
            try:
                observer(self)
            except Exception:
                self.log.failure("RTP session observer {observer!r} failed", observer=observer)

    # -- timer -------------------------------------------------------------------

    def _timeoutDeadline(self):
        limit = self.rtpholdtimeout if self.held else self.rtptimeout
        if not limit or self.timedOut or self._startedAt is None:
            return None
        since = self._lastReceived if self._lastReceived is not None else self._startedAt
        return since + limit

    def nextDeadline(self):
        candidates = [self._nextRtcp, self._timeoutDeadline(), self.dtmfSender.nextDeadline(),
                      self.dtmfReceiver.nextDeadline()]
        candidates = [c for c in candidates if c is not None]
        return min(candidates) if candidates else None

    def _rearm(self):
        if self.closed:
            return
        deadline = self.nextDeadline()
        if deadline == self._deadline and self._call is not None and self._call.active():
            return
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self._deadline = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self.reactor.seconds())
            self._call = self.reactor.callLater(delay, self._timer)

    def _timer(self):
        self._call = None
        self._deadline = None
        if self.closed:
            return
        now = self.reactor.seconds()
        self._sendEvents(self.dtmfSender.handleTimer(now), now)
        for event in self.dtmfReceiver.handleTimer(now):
            self._deliver(Frame(FrameKind.DTMF_END, event.digit, b"", 0, event.durationMs))
        if self._nextRtcp is not None and now >= self._nextRtcp:
            self.sendReport(now)
            self._nextRtcp = now + self._rtcpInterval()
        deadline = self._timeoutDeadline()
        if deadline is not None and now >= deadline:
            self.timedOut = True
            self.log.info("RTP: no media for {seconds} s from {remote}, hanging up",
                          seconds=self.rtpholdtimeout if self.held else self.rtptimeout,
                          remote=self.remote)
            if self.onTimeout is not None:
                self.onTimeout(HangupCause.REQUESTED_CHAN_UNAVAIL)
        self._rearm()

    # -- teardown ----------------------------------------------------------------

    def close(self):
        """Send a final RTCP BYE, close both sockets; a Deferred."""
        if self.closed:
            return defer.succeed(None)
        if self._ports and self.engine.settings.rtcpinterval > 0:
            self.sendReport(bye=True)
        self.closed = True
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self.relayTarget = None
        self._sendto = None
        ports, self._ports = self._ports, ()
        if ports and self.engine.reader is not None:
            self.engine.reader.remove(ports[0])
        self.engine.sessions.discard(self)
        retired = self.engine.retired
        retired["txPackets"] += self.outgoing.packets
        retired["rxPackets"] += self.incoming.received
        retired["rxLost"] += max(0, self.incoming.lost)
        self._changed()
        self.observers = []
        return self.engine.release(ports, self.localAddress)
