"""SUBSCRIBE/NOTIFY against a real PBX, driven by SIPp over UDP loopback."""

from twisted.internet import defer
from twisted.trial import unittest

from .support import check, freePort, sipp, sleep, startPBX


class DialogSubscriptionTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_blfFollowsCallRefreshAndUnsubscribe(self):
        bobPort = freePort()
        pbx, port = yield startPBX(self, bobPort=bobPort)
        watcher = sipp("subscribe_dialog.xml", port, service="watcher", timeout=30)
        yield sleep(0.5)
        manager = pbx.loader.modules["res_sip_subscriptions"].module.manager
        self.assertEqual(len(manager), 1)
        command = pbx.registry("clicommand").get("sip show subscriptions")
        text = yield defer.maybeDeferred(command.execute, pbx, [])
        self.assertIn("1001@phones", text)
        self.assertIn("1 active SIP subscription", text)
        # a sip reload keeps the subscription: the call below is still seen
        results = yield defer.maybeDeferred(pbx.reload, "chan_sip")
        self.assertEqual([e for _, e in results if e], [])
        self.assertEqual(len(manager), 1)
        callee = sipp("callee_ring_answer.xml", localPort=bobPort, timeout=20)
        yield sleep(0.3)
        caller = yield sipp("caller_call.xml", port, service="1001", timeout=20)
        check(self, caller, "caller")
        check(self, (yield callee), "callee")
        check(self, (yield watcher), "watcher")
        self.assertEqual(len(manager), 0)

    @defer.inlineCallbacks
    def test_refusals(self):
        pbx, port = yield startPBX(self)
        for scenario in ("subscribe_noevent.xml", "subscribe_unknown.xml",
                         "subscribe_brief.xml"):
            check(self, (yield sipp(scenario, port, timeout=10)), scenario)
