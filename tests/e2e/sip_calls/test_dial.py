"""
Two-leg calls: SIPp caller -> txpbx Dial(SIP/bob) -> SIPp callee as bob.
"""

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from tests.e2e.sip_calls.support import check, freePort, sipp, startPBX, waitBound


class DialTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def start(self, dialTimeout=10):
        self.bobPort = freePort()
        self.pbx, self.port = yield startPBX(self, bobPort=self.bobPort, dialTimeout=dialTimeout)
        self.events = []
        self.pbx.events.subscribe(self.events.append)

    def callee(self, scenario):
        return sipp(scenario, localPort=self.bobPort)

    @defer.inlineCallbacks
    def twoLegs(self, callerScenario, calleeScenario):
        callee = self.callee(calleeScenario)
        yield waitBound(self.bobPort)
        caller = yield sipp(callerScenario, self.port, service="bob")
        callee = yield callee
        check(self, caller, callerScenario)
        check(self, callee, calleeScenario)

    def hangups(self):
        return {dict(e.fields)["Channel"].rsplit("-", 1)[0]: dict(e.fields)["Cause"]
                for e in self.events if e.name == "Hangup"}

    def dialStatus(self):
        return self.pbx.globals.get("LASTSTATUS")

    @defer.inlineCallbacks
    def test_callerHangsUp(self):
        yield self.start()
        yield self.twoLegs("uac_call.xml", "uas_answer.xml")
        self.assertEqual(set(self.hangups()), {"SIP/open", "SIP/bob"})

    @defer.inlineCallbacks
    def test_calleeHangsUp(self):
        yield self.start()
        yield self.twoLegs("uac_wait_bye.xml", "uas_answer_bye.xml")
        self.assertEqual(set(self.hangups()), {"SIP/open", "SIP/bob"})

    @defer.inlineCallbacks
    def test_calleeBusy(self):
        yield self.start()
        yield self.twoLegs("uac_busy.xml", "uas_busy.xml")
        self.assertEqual(self.dialStatus(), "BUSY")

    @defer.inlineCallbacks
    def test_noAnswerCancelsTheCallee(self):
        yield self.start(dialTimeout=1)
        yield self.twoLegs("uac_noanswer.xml", "uas_noanswer.xml")
        self.assertEqual(self.dialStatus(), "NOANSWER")

    @defer.inlineCallbacks
    def test_callLimit(self):
        """bob has call-limit=1: a second call while the first is up gets 486."""
        yield self.start()
        callee = self.callee("uas_answer_long.xml")
        yield waitBound(self.bobPort)
        first = sipp("uac_call_long.xml", self.port, service="bob")
        for _ in range(100):
            if any(c.name.startswith("SIP/bob-") and c.isUp for c in self.pbx.channels):
                break
            yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(self.pbx.registry("technology").get("SIP").deviceState("bob"), "BUSY")
        second = yield sipp("uac_busy.xml", self.port, service="bob")
        check(self, second, "second call")
        check(self, (yield first), "first call")
        check(self, (yield callee), "callee")

    @defer.inlineCallbacks
    def test_calleeChallengesThePBX(self):
        """A 401 from the far end is answered with the peer's credentials."""
        self.bobPort = freePort()
        davePort = freePort()
        self.pbx, self.port = yield startPBX(self, bobPort=self.bobPort, davePort=davePort)
        callee = sipp("uas_auth.xml", localPort=davePort)
        yield waitBound(davePort)
        caller = yield sipp("uac_call.xml", self.port, service="dave")
        check(self, caller, "caller")
        check(self, (yield callee), "challenging callee")
