"""A manager module on a FakePBX, and a scripted client over StringTransport."""

import os

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from pbxcore.store.astdb import AstDB
from pbxcore.manager.framing import GREETING, MessageParser, formatMessage
from pbxcore.manager.module import ManagerModule
from pbxcore.testing import FakePBX

CONF = """\
[general]
enabled = yes
port = 0
bindaddr = 127.0.0.1
authtimeout = 10
authlimit = 3

[admin]
secret = pw
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all

[caller]
secret = pw
read = call
write = call

[newonly]
secret = pw
read = all
write = all
eventfilter = Event: Newchannel
eventfilter = !Channel: Test/secret
"""


def makeManager(tmpdir, conf=CONF, pbx=None):
    """A FakePBX with the manager module loaded from C{conf}."""
    pbx = pbx or FakePBX(configDir=str(tmpdir))
    pbx.configDir = str(tmpdir)
    with open(os.path.join(str(tmpdir), "manager.conf"), "w") as f:
        f.write(conf)
    pbx.astdb = AstDB(None)
    pbx.astdb.open()
    module = ManagerModule()
    pbx.loadModule(module, "manager")
    return pbx, module


class Client:
    """One manager connection over a StringTransport."""

    def __init__(self, module, host="127.0.0.1", port=40000):
        self.transport = StringTransport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 5038),
            peerAddress=IPv4Address("TCP", host, port))
        self.protocol = module.factory.buildProtocol(None)
        self.protocol.makeConnection(self.transport)
        self.parser = MessageParser()
        self.greeting = self.transport.value()
        self.transport.clear()

    def send(self, *fields, **kw):
        pairs = list(fields) + list(kw.items())
        self.protocol.dataReceived(formatMessage(pairs))

    def raw(self):
        data = self.transport.value()
        self.transport.clear()
        return data

    def read(self):
        """Messages written since the last read."""
        return self.parser.feed(self.raw())

    def login(self, username="admin", secret="pw", **kw):
        self.send(("Action", "Login"), ("Username", username), ("Secret", secret), **kw)
        messages = self.read()
        assert messages[0].get("Message") == "Authentication accepted", messages
        return messages

    @property
    def closed(self):
        return self.transport.disconnecting or self.transport.disconnected


def byName(messages, name):
    return [m for m in messages if m.get("Event") == name]


__all__ = ["Client", "CONF", "GREETING", "byName", "makeManager"]
