"""
SIP over WebSocket (RFC 7118): the C{sip} subprotocol on the HTTP server,
one SIP message per WebSocket message, on Twisted's own
L{twisted.web.websocket}.

L{SIPWebSocketResource} is mounted at C{/ws} of the HTTP server (the
C{http.uri} registry). Each connection is a L{SIPWebSocketConnection} that
the L{SIPTransportLayer} treats like a TCP connection of transport C{WS}
(plain HTTP) or C{WSS} (HTTPS): requests get their Via stamped, responses
go back on the connection they came from, and a binding made over it is
reached over it (the registrar keeps the connection in the binding's
source address) until it closes, when the layer's C{connectionClosed}
observers drop those bindings.

A message over C{maxMessageSize} closes the connection with 1009; a frame
that is not SIP is answered as any transport answers it (400 when the
request line and Via were readable); a handshake without the C{sip}
subprotocol is refused with 400 by the HTTP layer below.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web._websocket_impl import _WebSocketWireProtocol, serverBootstrap
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from wsproto import ConnectionType
from wsproto.events import AcceptConnection
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

from channels.sip.net.address import Address

__all__ = ["SIPWebSocketResource", "SIPWebSocketConnection", "MAX_MESSAGE_SIZE"]

#: The largest SIP message taken over a WebSocket (bytes).
MAX_MESSAGE_SIZE = 65535
SUBPROTOCOL = "sip"


class SIPWebSocketConnection:
    """
    One WebSocket carrying SIP. It offers what the transport layer expects of
    a stream connection: C{write}, C{connected}, C{ready}, C{peerAddress},
    C{key}, C{transportName} and C{transport.loseConnection()}.
    """

    log = Logger()

    def __init__(self, layer, transportName, peer, local, maxMessageSize=MAX_MESSAGE_SIZE):
        self.layer = layer
        self.transportName = transportName
        self.peerAddress = Address(transportName, peer.host, peer.port, self)
        self.localAddress = (local.host, local.port)
        self.maxMessageSize = maxMessageSize
        self.ready = defer.succeed(self)
        self.connected = False
        self.key = None
        self.transport = None
        self.received = 0

    # -- WebSocketProtocol ---------------------------------------------------------

    def negotiationStarted(self, transport):
        self.transport = transport

    def negotiationFinished(self):
        self.connected = True
        self.layer.streamConnected(self)

    def textMessageReceived(self, message):
        self._received(message.encode("utf-8"))

    def bytesMessageReceived(self, data):
        self._received(bytes(data))

    def pongReceived(self, payload):
        pass

    def connectionLost(self, reason):
        if not self.connected:
            return
        self.connected = False
        self.layer.streamLost(self)

    def _received(self, data):
        if len(data) > self.maxMessageSize:
            self.log.warn("SIP over {transport} from {peer}: a {size}-byte message, closing",
                          transport=self.transportName, peer=str(self.peerAddress), size=len(data))
            self.transport.loseConnection(1009)
            return
        self.received += 1
        self.layer.websocketMessageReceived(self, data)

    # -- what the transport layer writes -------------------------------------------

    def write(self, data: bytes):
        if not self.connected:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.transport.sendBytesMessage(data)
        else:
            self.transport.sendTextMessage(text)

    def loseConnection(self):
        if self.transport is not None:
            self.transport.loseConnection()


class _Wire(_WebSocketWireProtocol):
    """The wire protocol with a bound on a message being reassembled."""

    def dataReceived(self, data):
        super().dataReceived(data)
        limit = getattr(self._wsp, "maxMessageSize", MAX_MESSAGE_SIZE)
        if len(self._textBuffer.data) > limit * 4 or len(self._bytesBuffer.data) > limit:
            self._textBuffer.done()
            self._bytesBuffer.done()
            self.loseConnection(1009)


class SIPWebSocketResource(Resource):
    """
    C{/ws}: a WebSocket upgrade that must ask for the C{sip} subprotocol
    (RFC 7118 section 4); anything else gets 400 (426 for a plain GET).
    """

    isLeaf = True
    log = Logger()

    def __init__(self, layer, secure=False, maxMessageSize=MAX_MESSAGE_SIZE):
        super().__init__()
        self.layer = layer
        self.secure = secure
        self.maxMessageSize = maxMessageSize

    def _transportName(self, request):
        secure = self.secure or request.isSecure()
        return "WSS" if secure else "WS"

    def render_GET(self, request):
        headers = [(k, v) for k, values in request.requestHeaders.getAllRawHeaders() for v in values]
        names = {k.lower() for k, _ in headers}
        if b"upgrade" not in names:
            request.setResponseCode(426)
            request.setHeader(b"upgrade", b"websocket")
            request.setHeader(b"content-type", b"text/plain")
            return b"SIP over WebSocket (RFC 7118): upgrade with the sip subprotocol\n"
        handshake = H11Handshake(ConnectionType.SERVER)
        try:
            handshake.initiate_upgrade_connection(headers, request.path)
        except RemoteProtocolError as e:
            return self._refuse(request, f"bad WebSocket handshake: {e}")
        offered = [p.strip().lower() for p in handshake._initiating_request.subprotocols]
        if SUBPROTOCOL not in offered:
            return self._refuse(request, "the sip subprotocol was not asked for")
        peer, local = request.getClientAddress(), request.getHost()
        connection = SIPWebSocketConnection(self.layer, self._transportName(request), peer, local,
                                            self.maxMessageSize)
        toSend = handshake.send(AcceptConnection(subprotocol=SUBPROTOCOL))
        wire = _Wire(handshake.connection, serverBootstrap, connection)
        # The HTTP idle timeout (session_inactivity) is not the SIP connection's.
        request.channel.setTimeout(None)
        request.channel._protocolUpgradeForWebsockets(wire)
        request.channel.transport.write(toSend)
        connection.negotiationFinished()
        return NOT_DONE_YET

    def _refuse(self, request, why):
        self.log.info("WebSocket refused from {peer}: {why}", peer=request.getClientAddress(), why=why)
        request.setResponseCode(400)
        request.setHeader(b"content-type", b"text/plain")
        return why.encode("utf-8") + b"\n"

