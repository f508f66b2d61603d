"""The manager over TLS (tlsenable) on a loopback port, in process."""

import os

from twisted.internet import defer, reactor, ssl
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.trial import unittest

from pbxcore.manager.module import ManagerModule
from pbxcore.testing import FakePBX


def writeCertificate(directory):
    """A self-signed certificate and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    certPath = os.path.join(directory, "asterisk.pem")
    keyPath = os.path.join(directory, "asterisk.key")
    with open(certPath, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(keyPath, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return certPath, keyPath


class Collector(Protocol):
    def __init__(self, done):
        self.data = b""
        self.done = done
        self.lost = defer.Deferred()

    def connectionLost(self, reason):
        self.lost.callback(None)

    def connectionMade(self):
        self.transport.write(b"Action: Login\r\nUsername: admin\r\nSecret: pw\r\n"
                             b"ActionID: tls\r\n\r\n")

    def dataReceived(self, data):
        self.data += data
        if b"Authentication accepted" in self.data and not self.done.called:
            self.transport.loseConnection()
            self.done.callback(self.data)


class ManagerTLSTests(unittest.TestCase):
    timeout = 30

    @defer.inlineCallbacks
    def test_loginOverTLS(self):
        directory = self.mktemp()
        os.makedirs(directory)
        certPath, keyPath = writeCertificate(directory)
        # Its own manager.conf: TLS needs the certificate this test makes
        # (the shipped etc/ has tlsenable = no).
        with open(os.path.join(directory, "manager.conf"), "w") as f:
            f.write("[general]\nenabled = yes\nport = 0\nbindaddr = 127.0.0.1\n"
                    "tlsenable = yes\ntlsbindaddr = 127.0.0.1:0\n"
                    f"tlscertfile = {certPath}\ntlsprivatekey = {keyPath}\n"
                    "[admin]\nsecret = pw\nread = all\nwrite = all\n")
        pbx = FakePBX(reactor=reactor, configDir=directory)
        module = ManagerModule()
        pbx.loadModule(module, "manager")
        module.listener.startService()
        self.addCleanup(module.listener.stopService)
        self.assertTrue(module.listeningPort)
        done = defer.Deferred()
        clients = []

        def build():
            clients.append(Collector(done))
            return clients[-1]

        factory = ClientFactory.forProtocol(build)
        reactor.connectSSL("127.0.0.1", module.tlsListeningPort, factory,
                           ssl.ClientContextFactory())
        data = yield done
        yield clients[0].lost
        self.assertTrue(data.startswith(b"Asterisk Call Manager/5.0."))
        self.assertIn(b"Response: Success\r\nActionID: tls\r\n"
                      b"Message: Authentication accepted\r\n", data)
