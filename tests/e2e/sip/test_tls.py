"""
SIP over TLS: the server answers a Python ssl client; as a client the stack
verifies the server's certificate and host name, unless told not to for
that destination.
"""

import socket
import ssl

from twisted.internet import defer, ssl as tssl
from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from channels.sip.net.address import Address
from channels.sip.driver.config import BindAddress
from channels.sip.wire.message import Request, newBranch, newCallId, newTag
from channels.sip.wire.headers import Headers
from channels.sip.net.transactions import TransportError
from channels.sip.wire.parser import StreamParser
from tests.e2e.sip.certs import writeTLSFiles
from tests.e2e.sip.support import boundPort, options, startStack


def tlsStack(testCase, paths):
    return startStack(
        testCase, tlsEnable=True, tlsBind=BindAddress("127.0.0.1", 0),
        tlsCertFile=paths["cert"], tlsPrivateKey=paths["key"],
    )


def sslClientOptions(port, caFile, serverName):
    """Blocking: one OPTIONS over TLS with the stdlib ssl module; the response."""
    context = ssl.create_default_context(cafile=caFile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=serverName) as tls:
            local = tls.getsockname()
            tls.sendall(options("127.0.0.1", port, "TLS", local=local))
            parser = StreamParser()
            while True:
                data = tls.recv(65536)
                if not data:
                    raise AssertionError("connection closed without an answer")
                messages = parser.feed(data)
                if messages:
                    return messages[0]


class TLSTests(unittest.TestCase):
    def setUp(self):
        self.paths, self.ca = writeTLSFiles(self.mktemp(), ["localhost", "127.0.0.1"])
        self.server = tlsStack(self, self.paths)
        self.port = boundPort(self.server, "tls")

    @defer.inlineCallbacks
    def test_serverAnswersOptionsOverTLS(self):
        response = yield deferToThread(sslClientOptions, self.port, self.paths["ca"], "localhost")
        self.assertEqual(response.status, 200)
        self.assertEqual(self.server.userAgent.requestCounts, {"OPTIONS": 1})

    def clientStack(self):
        client = startStack(self)
        with open(self.paths["ca"], "rb") as f:
            client.transport.trustRoot = tssl.Certificate.loadPEM(f.read())
        return client

    def optionsRequest(self, port, transport="TLS"):
        headers = Headers([
            ("Via", f"SIP/2.0/{transport} 127.0.0.1:5061;branch={newBranch()}"),
            ("Max-Forwards", "70"), ("From", f"<sip:client@127.0.0.1>;tag={newTag()}"),
            ("To", f"<sip:pbx@localhost:{port}>"), ("Call-ID", newCallId()), ("CSeq", "1 OPTIONS"),
        ])
        return Request("OPTIONS", f"sips:pbx@localhost:{port}", headers)

    @defer.inlineCallbacks
    def test_clientVerifiesServer(self):
        client = self.clientStack()
        answered = defer.Deferred()
        client.transactions.sendRequest(
            self.optionsRequest(self.port), Address("TLS", "localhost", self.port), answered.callback
        )
        response = yield answered
        self.assertEqual(response.status, 200)
        self.assertFalse(getattr(response, "local", False))

    @defer.inlineCallbacks
    def test_clientRefusesCertificateForAnotherHost(self):
        otherPaths, _ = writeTLSFiles(self.mktemp(), ["other.example"], ca=self.ca)
        other = tlsStack(self, otherPaths)
        otherPort = boundPort(other, "tls")
        client = self.clientStack()
        with self.assertRaises(TransportError):
            yield client.transport.connect("TLS", "127.0.0.1", otherPort, serverName="localhost")
        answered = defer.Deferred()
        client.transactions.sendRequest(
            self.optionsRequest(otherPort), Address("TLS", "127.0.0.1", otherPort), answered.callback
        )
        response = yield answered
        self.assertEqual(response.status, 503)
        self.assertTrue(response.local)
        self.assertEqual(other.userAgent.requestCounts, {})

        # Verification can be turned off for that destination only.
        client.transport.noVerify.add("127.0.0.1")
        conn = yield client.transport.connect("TLS", "127.0.0.1", otherPort)
        self.assertTrue(conn.connected)
