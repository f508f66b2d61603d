"""
The T.38 passthrough SDP handler of res_example (media type "image").

With t38 disabled an offered m=image stream is refused in the answer (port
0, RFC 3264 section 6). With t38 enabled the stream is accepted on a UDPTL
relay socket of our own: packets from the far end go to the leg the call is
bridged with (when that leg has a T.38 stream too), so the two fax machines
talk T.38 through the PBX without the PBX decoding it.
"""

from __future__ import annotations

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from channels.sip.interfaces import SDPHandler
from channels.sip.wire.sdp import Media, refuseMedia

#: The T.38 attributes (ITU-T T.38 Annex D) copied from offer to answer.
T38_ATTRIBUTES = ("T38FaxVersion", "T38MaxBitRate", "T38FaxRateManagement",
                  "T38FaxMaxBuffer", "T38FaxMaxDatagram", "T38FaxUdpEC")


def answerT38(media: Media, port: int) -> Media:
    """The answering m=image line for an offered T.38 stream, on C{port}."""
    attributes = tuple((k, v) for k, v in media.attributes if k in T38_ATTRIBUTES)
    return Media("image", port, media.proto, media.formats or ("t38",), attributes=attributes)


class UDPTLRelay(DatagramProtocol):
    """One leg's UDPTL socket: what arrives goes to the partner leg's far end."""

    def __init__(self, session, stream):
        self.session = session
        self.stream = stream
        self.remote = None
        self.received = 0
        self.relayed = 0

    def datagramReceived(self, data, addr):
        self.received += 1
        partner = partnerRelay(self.session)
        if partner is not None and partner.remote is not None and partner.transport is not None:
            partner.transport.write(data, partner.remote)
            self.relayed += 1

    def send(self, data):
        if self.remote is not None and self.transport is not None:
            self.transport.write(data, self.remote)


def partnerRelay(session):
    """The UDPTL relay of the leg bridged with C{session}'s channel, or None."""
    channel = session.channel
    bridge = getattr(channel, "bridge", None)
    if bridge is None:
        return None
    for other in bridge.channels:
        if other is channel:
            continue
        otherSession = getattr(other.driver, "session", None)
        for stream in getattr(otherSession, "streams", ()):
            relay = stream.state.get("udptl")
            if relay is not None:
                return relay
    return None


class T38Handler(SDPHandler):
    """Claims every offered m=image stream: refuse or relay, per example.conf."""

    log = Logger()
    mediaType = "image"
    name = "res_example_t38"

    def __init__(self, module, reactor):
        self.module = module
        self.reactor = reactor

    def negotiateIncomingStream(self, session, stream, offer, media):
        if not self.module.settings.t38 or media.proto.lower() != "udptl":
            return refuseMedia(media)
        relay = stream.state.get("udptl")
        if relay is None:
            relay = UDPTLRelay(session, stream)
            host = session.manager.mediaAddress(session.destination)
            stream.state["port"] = self.reactor.listenUDP(0, relay, interface=host)
            stream.state["udptl"] = relay
        return answerT38(media, stream.state["port"].getHost().port)

    def applyNegotiatedStream(self, session, stream, local, remote):
        relay = stream.state.get("udptl")
        if relay is None or remote.port == 0:
            return
        description = session.remoteSDP
        host = description.connectionFor(remote) if description is not None else None
        if host and host not in ("0.0.0.0", "::"):
            relay.remote = (host, remote.port)

    def streamStop(self, session, stream):
        relay = stream.state.get("udptl")
        if relay is not None:
            relay.remote = None

    def streamDestroy(self, session, stream):
        stream.state.pop("udptl", None)
        port = stream.state.pop("port", None)
        if port is not None:
            port.stopListening()
