"""
The SIP technology's request() refusals and call counting, with a fake peer
service (no sockets): unknown or unregistered peers, no common format,
call-limit, and the device state it implies.
"""

from twisted.trial import unittest

from channels.sip.net.address import Address
from channels.sip.driver.peers import Peer
from channels.sip.driver.technology import SIPTechnology
from pbxcore.errors import ChannelUnavailable
from pbxcore.frame import HangupCause
from channels.sip.testing import SIPSessionHarness
from pbxcore.testing import FakePBX


class FakePeers:
    def __init__(self, peers, registered=()):
        self.peers = {p.name.lower(): p for p in peers}
        self.registered = set(registered)

    def peerFor(self, name):
        return self.peers.get(name.lower())

    def checkDialable(self, name):
        peer = self.peerFor(name)
        if peer is None or (peer.dynamic and peer.name not in self.registered):
            raise ChannelUnavailable(HangupCause.SUBSCRIBER_ABSENT, name)
        return peer

    def deviceState(self, name):
        return "NOT_INUSE"

    def localAddress(self, destination):
        return "127.0.0.1", 5060

    def targetOf(self, peer):
        return f"sip:{peer.name}@127.0.0.1:5080", Address("UDP", "127.0.0.1", 5080)


class RequestTests(unittest.TestCase):
    def setUp(self):
        self.pbx = FakePBX()
        harness = SIPSessionHarness(reactor=self.pbx.reactor)
        self.stack = harness.stack
        self.stack.peers = FakePeers([
            Peer("bob", host="127.0.0.1", port=5080, callLimit=1, allow=["ulaw", "alaw"]),
            Peer("gsmonly", host="127.0.0.1", allow=["gsm"]),
            Peer("roaming", host="dynamic"),
        ])
        self.tech = SIPTechnology(self.pbx, self.stack, harness.manager)
        self.harness = harness

    def refused(self, dest, formats=None):
        with self.assertRaises(ChannelUnavailable) as e:
            self.tech.request(self.pbx, dest, formats, None)
        return e.exception.cause

    def test_unknownAndUnregistered(self):
        self.assertEqual(self.refused("nobody"), HangupCause.UNREGISTERED)
        self.assertEqual(self.refused("roaming"), HangupCause.UNREGISTERED)

    def test_noCommonFormat(self):
        self.assertEqual(self.refused("gsmonly"), HangupCause.BEARERCAPABILITY_NOTAVAIL)
        self.assertEqual(self.refused("bob", formats=("g729",)), HangupCause.BEARERCAPABILITY_NOTAVAIL)

    def test_callLimit(self):
        channel = self.tech.request(self.pbx, "100@bob", ("alaw",), None)
        self.assertTrue(channel.name.startswith("SIP/bob-"))
        self.assertEqual(channel.nativeFormats, ("alaw",))
        self.assertEqual(self.tech.deviceState("bob"), "BUSY")
        self.assertEqual(self.refused("bob"), HangupCause.USER_BUSY)
        channel.hangup()
        self.assertEqual(self.tech.deviceState("bob"), "NOT_INUSE")
        self.tech.request(self.pbx, "bob", None, None).hangup()

    def test_callSendsInviteToTheExtension(self):
        channel = self.tech.request(self.pbx, "bob/200", None, None)
        channel.driver.call(channel, "bob/200", None)
        invite = self.harness.sent[-1]
        self.assertEqual(invite.method, "INVITE")
        self.assertEqual(invite.uri, "sip:200@127.0.0.1:5080")
        channel.hangup()
        self.assertEqual(len(self.stack.transactions.cancelled), 1)
