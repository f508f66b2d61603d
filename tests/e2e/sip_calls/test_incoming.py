"""
Incoming SIP calls end to end: SIPp callers against a real PBX on loopback.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.e2e.sip_calls.support import check, sipp, startPBX


class IncomingCallTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.pbx, self.port = yield startPBX(self)
        self.events = []
        self.pbx.events.subscribe(self.events.append)

    def hangups(self):
        return [dict(e.fields) for e in self.events if e.name == "Hangup"]

    @defer.inlineCallbacks
    def call(self, scenario, service):
        result = yield sipp(scenario, self.port, service=service)
        check(self, result, scenario)

    @defer.inlineCallbacks
    def test_authenticatedEchoCall(self):
        """401 first (no 100 before it), then the call with credentials is answered."""
        yield self.call("auth_echo.xml", "echo")
        hangups = self.hangups()
        self.assertEqual(len(hangups), 1)
        self.assertTrue(hangups[0]["Channel"].startswith("SIP/alice-"))

    @defer.inlineCallbacks
    def test_sdpInAck(self):
        yield self.call("sdp_in_ack.xml", "echo")
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_cancelWhileRinging(self):
        yield self.call("cancel.xml", "ring")
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_calleeHangsUp(self):
        yield self.call("callee_bye.xml", "answerhangup")
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_missingExtension(self):
        yield self.call("not_found.xml", "nosuchexten")
        self.assertEqual(self.hangups(), [])

    @defer.inlineCallbacks
    def test_noCommonCodec(self):
        yield self.call("no_codec.xml", "echo")
        self.assertEqual(self.hangups(), [])

    @defer.inlineCallbacks
    def test_toTagOfNoDialog(self):
        yield self.call("to_tag.xml", "echo")

    @defer.inlineCallbacks
    def test_inDialogOptionsAndInfo(self):
        yield self.call("in_dialog.xml", "echo")
        dtmf = [dict(e.fields) for e in self.events if e.name == "DTMFEnd"]
        self.assertEqual([d["Digit"] for d in dtmf], ["5"])

    @defer.inlineCallbacks
    def test_reinviteHoldUnholdAndOutOfOrderCSeq(self):
        """sendonly is answered recvonly (HOLD), sendrecv unholds; a lower CSeq gets 500."""
        from channels.sip.driver.technology import SIPDriver

        holds = []
        original = SIPDriver.sessionHold

        def sessionHold(driver, session, held):
            holds.append(held)
            return original(driver, session, held)

        self.patch(SIPDriver, "sessionHold", sessionHold)
        yield self.call("reinvite_hold.xml", "echo")
        self.assertEqual(holds, [True, False])
        self.assertEqual(len(self.hangups()), 1)
