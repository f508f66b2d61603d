"""Originate answers its caller once the channel is up, not when the call ends."""

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from .support import makePBX


class OriginateApplicationTests(TestCase):

    def test_applicationOriginateAnswersBeforeTheApplicationEnds(self):
        """
        A synchronous manager Originate with Application waits for the answer
        only (Asterisk's AST_OUTGOING_WAIT): the application keeps running.
        """
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Answer()
 same => n,Wait(30)
""")
        d = ensureDeferred(pbx.engine.originate("Local", "1@default", application="Wait",
                                                data="10"))
        result = self.successResultOf(d)
        self.assertEqual(result["Response"], "Success")
        one = pbx.channels.get(result["Channel"])
        self.assertIsNotNone(one)
        self.assertEqual(one.appl, "Wait")
        self.assertFalse(one.isHungUp)
        pbx.reactor.advance(10)
        self.assertTrue(one.isHungUp)
        self.assertEqual(len(pbx.channels), 0)
