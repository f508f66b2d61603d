"""
The SIP UAS at the edges, answering as Asterisk does (issue 20, point 5):
SIPp scenarios played against a PBX running on the shipped etc/ copied
unchanged (only its ports rewritten).
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.e2e.sip_edges.support import sipp, startShippedPBX
from tests.sipp import check


class EdgeTests(unittest.TestCase):
    timeout = 90

    @defer.inlineCallbacks
    def setUp(self):
        self.pbx, self.port = yield startShippedPBX(self)
        self.events = []
        self.pbx.events.subscribe(self.events.append)

    @defer.inlineCallbacks
    def play(self, scenario, service=None, extra=()):
        result = yield sipp(scenario, self.port, service=service, extra=extra)
        check(self, result, scenario)
        return result[1]

    def ua(self):
        return self.pbx.loader.modules["chan_sip"].module.stack.userAgent

    @defer.inlineCallbacks
    def test_options(self):
        """
        OPTIONS to the server: 200 with Allow, Accept, Supported; to a user
        part that is no extension of the sender's context: 404; another
        scheme: 416. No challenge: OPTIONS is not authenticated.
        """
        yield self.play("options_edges.xml")
        self.assertEqual(self.ua().requestCounts.get("OPTIONS"), 7)

    @defer.inlineCallbacks
    def test_badRequestsBeforeAuthentication(self):
        """
        400 for an INVITE without a usable Contact and for malformed
        mandatory headers, 416 for another Request-URI scheme, all before
        any challenge; a well-formed INVITE then gets 401.
        """
        yield self.play("bad_requests.xml")
        self.assertEqual([e for e in self.events if e.name == "Newchannel"], [])

    @defer.inlineCallbacks
    def test_malformedCallId(self):
        yield self.play("bad_callid.xml", extra=("-cid_str", "bad id %u-%p@%s"))

    def hangups(self):
        return [dict(e.fields) for e in self.events if e.name == "Hangup"]

    @defer.inlineCallbacks
    def test_severalMediaLines(self):
        """
        RFC 3264: six m-lines offered, six answered in the same order; the
        first RTP/AVP audio taken, every other stream refused with port 0.
        """
        yield self.play("multi_m.xml", service="100")
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_multipartMixedOffer(self):
        yield self.play("multipart_mixed.xml", service="100")
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_multipartAlternativeOffer(self):
        yield self.play("multipart_alternative.xml", service="100")
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_bodiesWithoutSDP(self):
        """415 with Accept for a body holding no usable SDP; no channel is made."""
        yield self.play("unusable_bodies.xml")
        self.assertEqual([e for e in self.events if e.name == "Newchannel"], [])

    @defer.inlineCallbacks
    def test_multipartReinvite(self):
        """A re-INVITE's multipart/alternative offer with two audio m-lines: two answered, one taken."""
        yield self.play("multipart_reinvite.xml", service="100")
        self.assertEqual(len(self.hangups()), 1)
