"""
The whole SIP stack (transports, transactions, user agent) on loopback,
driven by SIPp scenarios over UDP and TCP.
"""

from twisted.internet import defer
from twisted.trial import unittest

from channels.sip.driver.config import BindAddress
from tests.e2e.sip.support import boundPort, runSipp, startStack


class SIPpTests(unittest.TestCase):
    def setUp(self):
        self.stack = startStack(self, tcpEnable=True, tcpBind=BindAddress("127.0.0.1", 0))
        self.udp = boundPort(self.stack, "udp")
        self.tcp = boundPort(self.stack, "tcp")

    @defer.inlineCallbacks
    def check(self, scenario, transport, port):
        code, output = yield runSipp(scenario, transport, port)
        self.assertEqual(code, 0, f"sipp {scenario} -t {transport} failed:\n{output[-3000:]}")

    @defer.inlineCallbacks
    def test_optionsOverUDP(self):
        yield self.check("options.xml", "u1", self.udp)
        self.assertEqual(self.stack.userAgent.requestCounts, {"OPTIONS": 1})

    @defer.inlineCallbacks
    def test_optionsOverTCP(self):
        yield self.check("options.xml", "t1", self.tcp)
        self.assertEqual(self.stack.userAgent.requestCounts, {"OPTIONS": 1})

    @defer.inlineCallbacks
    def test_malformedThenOptionsOverUDP(self):
        yield self.check("malformed.xml", "u1", self.udp)
        # Only the well-formed OPTIONS reached the user agent.
        self.assertEqual(self.stack.userAgent.requestCounts, {"OPTIONS": 1})

    @defer.inlineCallbacks
    def test_retransmissionProcessedOnce(self):
        yield self.check("retransmit.xml", "u1", self.udp)
        self.assertEqual(self.stack.userAgent.requestCounts, {"OPTIONS": 1})
