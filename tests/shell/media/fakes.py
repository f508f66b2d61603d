"""A Clock that also hands out fake UDP ports, for RTP session tests."""

from twisted.internet.address import IPv4Address
from twisted.internet.error import CannotListenError
from twisted.internet.task import Clock


class FakeUDPPort:
    def __init__(self, reactor, port, protocol, interface):
        self.reactor = reactor
        self.port = port
        self.protocol = protocol
        self.interface = interface
        self.written = []
        self.open = True
        protocol.makeConnection(self)

    def getHost(self):
        return IPv4Address("UDP", self.interface, self.port)

    def write(self, data, addr):
        self.written.append((data, addr))

    def stopListening(self):
        self.open = False
        self.reactor.ports.pop(self.port, None)
        self.protocol.doStop()


class UDPClock(Clock):
    """Clock + listenUDP; C{busy} ports refuse to bind."""

    def __init__(self):
        super().__init__()
        self.ports = {}
        self.busy = set()

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        if port in self.busy or port in self.ports:
            raise CannotListenError(interface, port, OSError("in use"))
        fake = FakeUDPPort(self, port, protocol, interface)
        self.ports[port] = fake
        return fake
