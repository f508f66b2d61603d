"""
SIP transports: UDP, TCP and TLS protocols feeding one controller.

L{SIPTransportLayer} is the controller. Thin Twisted protocols hand it
datagrams and stream bytes; it frames and parses them (the codec is
L{channels.sip.wire.parser}), stamps the top Via of received requests (RFC 3261
§18.2.1, RFC 3581, the pure L{channels.sip.wire.via}) and passes every message to its C{receiver} (the
transaction manager) as C{receiver.messageReceived(message, source)}.

The other way, it implements the transport contract of the transaction
layer: C{send(message, destination)} for requests (and for responses sent to
an explicit address) and C{sendResponse(response, source)}, which routes a
response by its top Via (RFC 3261 §18.2.2).

Listeners are described by endpoint-like strings::

    udp:5060:interface=127.0.0.1
    tcp:5060:interface=0.0.0.0
    tls:5061:interface=0.0.0.0:certKey=/etc/pbx/cert.pem:privateKey=/etc/pbx/key.pem
    tls:5061:certKey=cert.pem:privateKey=key.pem:caCertsFile=ca.pem:verifyClient=yes

Colons inside values (IPv6 interfaces) are escaped with a backslash.
"""

from __future__ import annotations

import dataclasses
import errno
import socket

from twisted.internet import defer, error, protocol
from twisted.internet.interfaces import IHandshakeListener
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from channels.sip.wire import parser as sipparser
from channels.sip.net.stats import SIPCounters
from channels.sip.net.address import Address
from channels.sip.wire.message import SIPParseError, makeResponse, newTag
from channels.sip.net.transactions import TransportError
from channels.sip.wire.via import (  # noqa: F401 (re-exported for the transport's users)
    DEFAULT_PORTS, bareHost, isIPLiteral, replaceTopVia, routeRaw, routeResponse, stampRoute, stampVia)

# RFC 3261 §18.1.1: a request within 200 bytes of a 1500-byte path MTU goes
# over a congestion-controlled transport.
UDP_SIZE_LIMIT = 1300

# The largest datagram read (RFC 3261 §18.1.1: an element MUST be able to
# handle messages up to the maximum datagram size) and the largest UDP
# payload IPv4 can carry.
MAX_DATAGRAM = 65535
MAX_UDP_PAYLOAD = 65507

# How long an unused stream connection stays open.
DEFAULT_IDLE_TIMEOUT = 180.0


def splitSpec(spec: str) -> tuple[str, list[str], dict[str, str]]:
    """
    Split an endpoint-like listener string into (kind, positional args,
    keyword args), honouring backslash escapes.
    """
    parts: list[str] = []
    current: list[str] = []
    chars = iter(spec)
    for c in chars:
        if c == "\\":
            current.append(next(chars, ""))
        elif c == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    kind = parts[0].strip().lower()
    args: list[str] = []
    kwargs: dict[str, str] = {}
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if eq:
            kwargs[key] = value
        else:
            args.append(part)
    return kind, args, kwargs


def _reasonPhrase(reason: str) -> str:
    """A reason phrase is one line of printable text."""
    return " ".join(reason.split()) or "Bad Request"


class SIPDatagramProtocol(protocol.DatagramProtocol):
    """One UDP socket; everything is handed to the controller."""

    #: Receive buffer asked of the kernel (capped by net.core.rmem_max): a
    #: busy reactor turn must not cost datagrams that the far end then has
    #: to retransmit 500 ms later.
    receiveBuffer = 4 * 1024 * 1024

    def __init__(self, layer: "SIPTransportLayer"):
        self.layer = layer
        # The socket's own sendto once listening: sending to an IP literal
        # skips the port's per-write address checks (see _sendDatagram).
        self.sendto = None

    def startProtocol(self):
        sock = getattr(self.transport, "socket", None)
        if sock is None:
            return
        self.sendto = sock.sendto
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receiveBuffer)
        except OSError as e:
            self.layer.log.warn("SIP UDP socket: cannot raise the receive buffer: {error}",
                                error=str(e))

    def stopProtocol(self):
        self.sendto = None

    def datagramReceived(self, data, addr):
        self.layer.datagramReceived(data, addr, self)


@implementer(IHandshakeListener)
class SIPStreamProtocol(protocol.Protocol, TimeoutMixin):
    """
    One TCP or TLS connection. Incoming bytes are framed by a
    L{channels.sip.wire.parser.StreamParser}; a framing error closes this
    connection only.
    """

    def __init__(self, layer: "SIPTransportLayer", transportName: str, outbound: bool):
        self.layer = layer
        self.transportName = transportName
        self.outbound = outbound
        self.parser = sipparser.StreamParser()
        self.connected = False
        self.ready = defer.Deferred()
        if not outbound:
            # Nobody waits on an inbound connection's handshake unless a send
            # reuses it; a failed handshake is logged, not left unhandled.
            self.ready.addErrback(self._inboundFailed)
        self.key = None
        self.peerAddress: Address | None = None
        self.callLater = layer.reactor.callLater  # TimeoutMixin's clock

    def connectionMade(self):
        self.connected = True
        peer = self.transport.getPeer()
        self.peerAddress = Address(self.transportName, peer.host, peer.port, self)
        self.layer.streamConnected(self)
        self.setTimeout(self.layer.idleTimeout)
        if self.transportName != "TLS":
            self._ready()

    def _inboundFailed(self, failure):
        self.layer.log.info("inbound {transport} connection from {peer} failed: {error}",
                            transport=self.transportName, peer=str(self.peerAddress), error=failure.getErrorMessage())
        return None

    def handshakeCompleted(self):
        self._ready()

    def _ready(self):
        if not self.ready.called:
            self.ready.callback(self)

    def dataReceived(self, data):
        self.resetTimeout()
        self.layer.streamDataReceived(self, data)

    def write(self, data: bytes):
        self.resetTimeout()
        self.transport.write(data)

    def timeoutConnection(self):
        self.layer.log.debug("closing idle {transport} connection to {peer}", transport=self.transportName, peer=str(self.peerAddress))
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self.connected = False
        self.setTimeout(None)
        self.layer.streamLost(self)
        if not self.ready.called:
            self.ready.errback(TransportError(f"{self.transportName} connection failed: {reason.getErrorMessage()}"))


class _StreamFactory(protocol.Factory):
    def __init__(self, layer, transportName, outbound):
        self.layer = layer
        self.transportName = transportName
        self.outbound = outbound

    def buildProtocol(self, addr):
        return SIPStreamProtocol(self.layer, self.transportName, self.outbound)


class SIPTransportLayer:
    """
    The one controller behind every SIP socket.

    @ivar receiver: gets C{messageReceived(message, source)}; set it (to the
        transaction manager) before listening. It may also implement
        C{transportError(destination, failure)} to learn about sends that
        failed after C{send} returned.
    @ivar noVerify: set of host names (or IP strings) for which a TLS client
        connection skips certificate verification. Empty by default.
    """

    log = Logger()

    def __init__(self, reactor=None, idleTimeout: float = DEFAULT_IDLE_TIMEOUT, trustRoot=None, resolver=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.receiver = None
        self.idleTimeout = idleTimeout
        self.trustRoot = trustRoot
        self._resolver = resolver
        self._ownResolver = False
        self._hosts = None
        self.noVerify: set[str] = set()
        self.ports: list = []
        self._udp: list[SIPDatagramProtocol] = []
        self._udpPorts: dict[SIPDatagramProtocol, object] = {}
        self._connections: dict[tuple, SIPStreamProtocol] = {}
        self._pending: dict[tuple, defer.Deferred] = {}
        self._streams: set[SIPStreamProtocol] = set()
        #: Datagrams lost to a full socket send buffer.
        self.udpSendDrops = 0
        #: Messages sent, by method and status (read by /metrics).
        self.counters = SIPCounters()
        #: Called with the peer Address of every stream connection that
        #: closes (the registrar drops WebSocket bindings made over it).
        self.closedObservers: list = []

    # -- listening -------------------------------------------------------

    def listen(self, spec: str):
        """
        Start a listener described by C{spec}; return its listening port
        (C{getHost()} tells the bound port when 0 was asked).
        """
        kind, args, kwargs = splitSpec(spec)
        port = int(args[0]) if args else DEFAULT_PORTS.get(kind.upper(), 5060)
        interface = kwargs.get("interface", "")
        if kind == "udp":
            proto = SIPDatagramProtocol(self)
            listening = self.reactor.listenUDP(port, proto, interface=interface or "", maxPacketSize=MAX_DATAGRAM)
            self._udp.append(proto)
            self._udpPorts[proto] = listening
        elif kind == "tcp":
            listening = self.reactor.listenTCP(port, _StreamFactory(self, "TCP", False), interface=interface)
        elif kind == "tls":
            from twisted.internet import ssl

            certKey = kwargs.get("certKey")
            if not certKey:
                raise ValueError("tls listener needs certKey=")
            privateKey = kwargs.get("privateKey") or certKey
            with open(certKey, "rb") as f:
                certPEM = f.read()
            with open(privateKey, "rb") as f:
                keyPEM = f.read()
            cert = ssl.PrivateCertificate.loadPEM(certPEM + b"\n" + keyPEM)
            options = {}
            if kwargs.get("verifyClient", "no").lower() in ("yes", "true", "on", "1"):
                caFile = kwargs.get("caCertsFile")
                if not caFile:
                    raise ValueError("verifyClient needs caCertsFile=")
                with open(caFile, "rb") as f:
                    ca = ssl.Certificate.loadPEM(f.read())
                options = dict(verify=True, caCerts=[ca.original], requireCertificate=True)
            contextFactory = cert.options(**options) if not options else ssl.CertificateOptions(
                privateKey=cert.privateKey.original, certificate=cert.original, **options
            )
            listening = self.reactor.listenSSL(port, _StreamFactory(self, "TLS", False), contextFactory, interface=interface)
        else:
            raise ValueError(f"unknown SIP transport {kind!r} in {spec!r}")
        self.ports.append(listening)
        return listening

    def stopListening(self) -> defer.Deferred:
        """Close every listener and connection."""
        ds = [defer.maybeDeferred(p.stopListening) for p in self.ports]
        self.ports = []
        self._stopResolver()
        self._udp = []
        self._udpPorts = {}
        for conn in list(self._streams):
            conn.transport.loseConnection()
        return defer.gatherResults(ds, consumeErrors=True)

    # -- receiving -------------------------------------------------------

    def datagramReceived(self, data: bytes, addr, udp=None):
        """A UDP datagram from C{addr} (host, port)."""
        host, port = addr[0], addr[1]
        try:
            message = sipparser.parseMessage(data)
        except SIPParseError as e:
            if data.strip(b"\r\n\x00 "):
                self._parseError(e, Address("UDP", host, port))
            return  # else a keep-alive (RFC 5626 CRLF or a NUL)
        if message.isRequest:
            try:
                route = stampRoute(message, host, port, "UDP")
            except SIPParseError as e:
                self._parseError(e, Address("UDP", host, port))
                return
            source = Address("UDP", host, port, None, route)
        else:
            source = Address("UDP", host, port)
        self.receiver.messageReceived(message, source)

    def streamDataReceived(self, conn: SIPStreamProtocol, data: bytes):
        """
        Bytes from a TCP or TLS connection. A parse error is answered (when
        the request was readable) and closes this connection only.
        """
        source = conn.peerAddress
        parser = conn.parser
        while True:
            try:
                messages = parser.feed(data)
            except SIPParseError as e:
                self._parseError(e, source)
                conn.transport.loseConnection()
                return
            if parser.pongNeeded:
                conn.write(parser.takePongs())
            if not messages:
                return
            for message in messages:
                if message.isRequest:
                    try:
                        stampVia(message, source.host, source.port)
                    except SIPParseError as e:
                        self._parseError(e, source)
                        conn.transport.loseConnection()
                        return
                self.receiver.messageReceived(message, source)
                if not conn.connected:
                    return
            # An invalid message right after good ones is reported by the
            # next feed.
            data = b""

    def websocketMessageReceived(self, conn, data: bytes):
        """One SIP message in one WebSocket message (RFC 7118 section 5)."""
        source = conn.peerAddress
        try:
            message = sipparser.parseMessage(data)
        except SIPParseError as e:
            if data.strip(b"\r\n\x00 "):
                self._parseError(e, source)
            return
        if message.isRequest:
            try:
                stampVia(message, source.host, source.port)
            except SIPParseError as e:
                self._parseError(e, source)
                return
        self.receiver.messageReceived(message, source)

    def _parseError(self, error, source: Address):
        """
        Answer a malformed request whose start line and Via were readable
        (400, or the parser's status such as 505); drop anything else.
        One log line per packet, no traceback.
        """
        request = getattr(error, "message", None)
        status = getattr(error, "status", None) or 400
        reason = getattr(error, "reason", None) or "Bad Request"
        if request is None or not getattr(request, "isRequest", False) or request.method == "ACK":
            self.log.warn("dropped malformed SIP message from {source}: {reason}", source=str(source), reason=reason)
            return
        self.log.warn(
            "malformed SIP request from {source}: {reason}; answering {status}",
            source=str(source), reason=reason, status=status,
        )
        try:
            try:
                stampVia(request, source.host, source.port)
            except SIPParseError:
                pass  # answer by the source address below
            response = makeResponse(request, status, _reasonPhrase(reason), toTag=newTag())
            result = self.sendResponse(response, source)
            if isinstance(result, defer.Deferred):
                result.addErrback(lambda f: None)  # already logged by _sendFailed
        except Exception as e:
            self.log.warn("could not answer malformed request from {source}: {error}", source=str(source), error=repr(e))

    # -- connections -----------------------------------------------------

    def streamConnected(self, conn: SIPStreamProtocol):
        self._streams.add(conn)
        addr = conn.peerAddress
        key = (conn.transportName, addr.host, addr.port)
        conn.key = key
        self._connections.setdefault(key, conn)

    def streamLost(self, conn: SIPStreamProtocol):
        self._streams.discard(conn)
        if conn.key is not None and self._connections.get(conn.key) is conn:
            del self._connections[conn.key]
        for observer in list(self.closedObservers):
            try:
                observer(conn.peerAddress)
            except Exception:
                self.log.failure("connection-closed observer {observer!r} failed", observer=observer)

    def connect(self, transport: str, host: str, port: int, serverName: str | None = None) -> defer.Deferred:
        """
        A ready connection (handshake done for TLS) to C{host}:C{port},
        reusing an open one. C{serverName} is the name the TLS certificate
        must carry (defaults to C{host}).
        """
        transport = transport.upper()
        key = (transport, host, port)
        conn = self._connections.get(key)
        if conn is not None and conn.connected:
            return conn.ready if not conn.ready.called else defer.succeed(conn)
        pending = self._pending.get(key)
        if pending is not None:
            d = defer.Deferred()
            pending.addBoth(lambda r: (d.callback(r) if not isinstance(r, Failure) else d.errback(r)) or r)
            return d
        from twisted.internet import endpoints

        factory = _StreamFactory(self, transport, True)
        if transport == "TCP":
            endpoint = endpoints.TCP4ClientEndpoint(self.reactor, host, port) if ":" not in host else endpoints.TCP6ClientEndpoint(self.reactor, host, port)
        elif transport == "TLS":
            endpoint = endpoints.wrapClientTLS(
                self._clientTLS(serverName or host),
                endpoints.TCP4ClientEndpoint(self.reactor, host, port) if ":" not in host else endpoints.TCP6ClientEndpoint(self.reactor, host, port),
            )
        else:
            return defer.fail(TransportError(f"no stream transport {transport}"))

        def connected(proto):
            # TLS wraps the protocol: find ours.
            inner = getattr(proto, "wrappedProtocol", proto)
            return inner.ready

        d = endpoint.connect(factory).addCallback(connected)
        self._pending[key] = d

        def done(result):
            self._pending.pop(key, None)
            if isinstance(result, Failure) and not result.check(TransportError):
                return Failure(TransportError(f"cannot connect to {transport} {host}:{port}: {result.getErrorMessage()}"))
            return result

        d.addBoth(done)
        out = defer.Deferred()
        d.addBoth(lambda r: (out.errback(r) if isinstance(r, Failure) else out.callback(r)) and None)
        return out

    def _clientTLS(self, serverName: str):
        from twisted.internet import ssl

        if serverName in self.noVerify:
            return ssl.CertificateOptions(verify=False)
        return ssl.optionsForClientTLS(serverName, trustRoot=self.trustRoot)

    # -- sending ---------------------------------------------------------

    def send(self, message, destination: Address):
        """
        Send C{message} to C{destination}. A literal address is sent to at
        once (UDP errors raise L{TransportError}); a name is resolved first
        and a Deferred is returned. A UDP request over L{UDP_SIZE_LIMIT}
        bytes goes over TCP instead, its top Via saying so.
        """
        transport = destination.transport.upper()
        data = message.toBytes()
        self.counters.sent(message)
        if transport == "UDP" and len(data) > UDP_SIZE_LIMIT and message.isRequest:
            return self._sendLargeRequest(message, data, destination)
        return self._sendTo(data, transport, destination)

    def _sendTo(self, data: bytes, transport: str, destination: Address):
        host = bareHost(destination.host)
        port = destination.port or DEFAULT_PORTS.get(transport, 5060)
        if isIPLiteral(host):
            return self._sendBytes(data, transport, host, port, destination)
        d = self.resolve(host, destination.port, transport)
        d.addCallback(lambda targets: self._sendBytes(data, transport, targets[0][0], targets[0][1], destination, serverName=host))
        d.addErrback(self._sendFailed, destination)
        return d

    def _sendLargeRequest(self, message, udpData: bytes, destination: Address):
        """
        A request too large for UDP (RFC 3261 §18.1.1) goes over TCP, its
        top Via saying so. When the far end has no TCP (refused or reset),
        the RFC asks for a retry over UDP, which only a message that fits
        one datagram can take; anything larger fails with a clear error.
        """
        via = message.topVia
        if via is not None:
            replaceTopVia(message, dataclasses.replace(via, transport="TCP"))
        tcpData = message.toBytes()
        d = defer.maybeDeferred(self._sendTo, tcpData, "TCP", destination)

        def overUDP(failure):
            where = f"{destination.host}:{destination.port or DEFAULT_PORTS['UDP']}"
            if len(udpData) > MAX_UDP_PAYLOAD:
                raise TransportError(f"SIP request of {len(udpData)} bytes is too large for UDP and "
                                     f"TCP to {where} failed: {failure.getErrorMessage()}")
            self.log.info("SIP request of {size} bytes: TCP to {where} failed ({error}); sent over UDP",
                          size=len(udpData), where=where, error=failure.getErrorMessage())
            if via is not None:
                replaceTopVia(message, via)
            return self._sendTo(udpData, "UDP", destination)

        d.addErrback(overUDP)
        return d

    def sendResponse(self, response, source: Address):
        """Send C{response} back by its top Via (RFC 3261 §18.2.2)."""
        return self.sendResponseBytes(response, response.toBytes(), source)

    def sendResponseBytes(self, response, data: bytes, source: Address):
        """
        L{sendResponse} for a caller that already serialised C{response} as
        C{data} (and keeps those bytes, e.g. to answer retransmissions).
        """
        self.counters.sent(response)
        conn = source.connection
        if conn is not None and source.reliable and getattr(conn, "connected", False):
            conn.write(data)
            return None
        raw = response.headers.get("Via")
        memo = source.route
        if memo is not None and raw == memo[0]:
            # The request's Via, stamped on arrival: its route is known.
            route = memo[1]
            if route is None:
                # Back to where the request came from: an IP literal.
                return self._sendBytes(data, source.transport.upper(), source.host, source.port, source)
        else:
            route = routeRaw(raw, source.transport) if raw is not None and "," not in raw else None
        if route is None:
            try:
                via = response.topVia
            except SIPParseError:
                via = None
            if via is None:
                route = source.transport.upper(), source.host, source.port
            else:
                route = routeResponse(via, source.transport)
        transport, host, port = route
        if not isIPLiteral(host):
            d = self.resolve(host, port, transport)
            d.addCallback(lambda targets: self._sendBytes(data, transport, targets[0][0], targets[0][1], source))
            d.addErrback(self._sendFailed, source)
            return d
        return self._sendBytes(data, transport, host, port, source)

    def _sendBytes(self, data: bytes, transport: str, host: str, port: int, destination: Address, serverName=None):
        if transport == "UDP":
            self._sendDatagram(data, host, port)
            return None
        if transport in ("WS", "WSS"):
            # Nobody dials a browser: it is reached over the connection it opened.
            conn = destination.connection if getattr(destination, "connection", None) is not None \
                else self._connections.get((transport, host, port))
            if conn is None or not conn.connected:
                raise TransportError(f"no open {transport} connection to {host}:{port}")
            conn.write(data)
            return None
        if transport not in ("TCP", "TLS"):
            raise TransportError(f"cannot send over {transport}")
        conn = self._connections.get((transport, host, port))
        if conn is not None and conn.connected and conn.ready.called:
            conn.write(data)
            return None
        d = self.connect(transport, host, port, serverName or (destination.host if not isIPLiteral(destination.host) else host))
        d.addCallback(lambda c: c.write(data))
        return d

    def _sendDatagram(self, data: bytes, host: str, port: int) -> None:
        """
        One datagram to an IP literal, straight through the socket's sendto
        when listening (the port's write would check the address again on
        every call). Errors are read as the port's write reads them: a
        refusal reported for an earlier datagram is ignored, a full buffer
        loses this datagram as the network could (the transaction layer
        retransmits), anything else is a L{TransportError}.
        """
        udp = self._udpFor(host)
        sendto = udp.sendto
        try:
            if sendto is not None:
                sendto(data, (host, port))
            else:
                udp.transport.write(data, (host, port))
        except OSError as e:
            code = e.errno
            if code == errno.EINTR:
                self._sendDatagram(data, host, port)
            elif code == errno.ECONNREFUSED:
                return
            elif code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS):
                self.udpSendDrops += 1
                if self.udpSendDrops % 1000 == 1:
                    self.log.warn("SIP UDP send buffer full: datagram to {host}:{port} dropped ({count} so far)",
                                  host=host, port=port, count=self.udpSendDrops)
            elif code == errno.EMSGSIZE:
                raise TransportError(f"UDP send to {host}:{port} failed: message too long ({len(data)} bytes)") from e
            else:
                raise TransportError(f"UDP send to {host}:{port} failed: {e}") from e
        except (error.MessageLengthError, error.InvalidAddressError) as e:
            raise TransportError(f"UDP send to {host}:{port} failed: {e}") from e

    def _udpFor(self, host: str) -> SIPDatagramProtocol:
        if not self._udp:
            raise TransportError("no UDP listener")
        if len(self._udp) == 1:
            return self._udp[0]
        v6 = ":" in host
        for udp in self._udp:
            if (":" in self._udpPorts[udp].getHost().host) == v6:
                return udp
        return self._udp[0]

    def _sendFailed(self, failure, destination):
        """Log, then pass the failure on as a L{TransportError} for the caller."""
        self.log.warn("SIP send to {destination} failed: {error}", destination=str(destination), error=failure.getErrorMessage())
        if failure.check(TransportError):
            return failure
        return Failure(TransportError(f"send to {destination} failed: {failure.getErrorMessage()}"))

    # -- names -----------------------------------------------------------

    def resolve(self, host: str, port: int | None, transport: str) -> defer.Deferred:
        """
        Targets [(ip, port), ...] for C{host}: SRV first when no port was
        given (RFC 3263), then the hosts file, then A and AAAA. Never blocks.
        """
        transport = transport.upper()
        default = DEFAULT_PORTS.get(transport, 5060)
        if isIPLiteral(host):
            return defer.succeed([(bareHost(host), port or default)])

        def addresses(name, targetPort):
            d = self._hostsResolver().getHostByName(name)
            d.addErrback(lambda _: self._dnsResolver().getHostByName(name))
            d.addCallback(lambda ip: [(ip, targetPort)])
            return d

        if port:
            return addresses(host, port)
        service = {"UDP": "_sip._udp.", "TCP": "_sip._tcp.", "TLS": "_sips._tcp."}.get(transport, "_sip._udp.")

        def srv(result):
            answers = sorted(
                (r.payload.priority, -r.payload.weight, str(r.payload.target), r.payload.port)
                for r in result[0]
                if getattr(r.payload, "target", None) is not None
            )
            if not answers:
                return addresses(host, default)
            _, _, target, targetPort = answers[0]
            return addresses(target, targetPort)

        d = self._dnsResolver().lookupService(service + host)
        d.addCallbacks(srv, lambda f: addresses(host, default))
        return d

    def _hostsResolver(self):
        if self._hosts is None:
            from twisted.names import hosts

            self._hosts = hosts.Resolver(file=b"/etc/hosts")
        return self._hosts

    def _dnsResolver(self):
        if self._resolver is None:
            from twisted.names import client

            self._resolver = client.Resolver(resolv="/etc/resolv.conf", reactor=self.reactor)
            self._ownResolver = True
        return self._resolver

    def _stopResolver(self):
        # The DNS client re-reads resolv.conf on a timer; stop it with us.
        if self._ownResolver:
            call = getattr(self._resolver, "_parseCall", None)
            if call is not None and call.active():
                call.cancel()
            self._resolver = None
            self._ownResolver = False
