"""Qualify on a Clock: OPTIONS pokes, Reachable/Lagged/Unreachable, and Dial."""

from twisted.trial.unittest import TestCase

from channels.sip.net.address import Address
from channels.sip.wire.message import makeResponse
from channels.sip.driver.technology import installCalls
from channels.sip.driver.qualify import PeerReachability, Reachability
from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.errors import ChannelUnavailable
from pbxcore.frame import HangupCause
from pbxcore.testing import TestTechnology
from plugins.app_dial import AppDialModule
from tests.shell.sip_reg.harness import Harness

TRUNK = Address("UDP", "203.0.113.5", 5060)


class QualifyTests(TestCase):
    def setUp(self):
        self.h = Harness()
        self.addCleanup(self.h.stop)
        self.qualify = self.h.service.qualify

    def options(self):
        """Each OPTIONS sent, once (UDP retransmissions left out)."""
        seen, out = set(), []
        for request, destination in self.h.transport.requests("OPTIONS"):
            if request.topVia.branch not in seen:
                seen.add(request.topVia.branch)
                out.append((request, destination))
        return out

    def answerLast(self, status=200):
        request, destination = self.options()[-1]
        self.h.stack.transactions.messageReceived(makeResponse(request, status, toTag="x"), destination)

    def peerStatuses(self):
        return [(e.get("PeerStatus"), e.get("Time")) for e in self.h.events("PeerStatus") if e.get("Peer") == "SIP/trunk"]

    def test_reachable_then_unreachable_then_back(self):
        self.assertEqual(self.qualify.status("trunk"), "UNKNOWN")
        self.h.clock.advance(1)
        [(request, destination)] = self.options()
        self.assertEqual(destination, TRUNK)
        self.assertEqual(request.uri, "sip:203.0.113.5:5060")
        self.h.clock.advance(0.02)
        self.answerLast()
        self.assertEqual(self.qualify.status("trunk"), "OK (20 ms)")
        self.assertTrue(self.qualify.isReachable("trunk"))
        self.assertEqual(self.peerStatuses(), [("Reachable", "20")])
        # The next poke goes unanswered: twice the 500 ms threshold later it is unreachable.
        self.h.clock.advance(30)
        self.assertEqual(len(self.options()), 2)
        self.h.clock.advance(0.9)
        self.assertTrue(self.qualify.isReachable("trunk"))
        self.h.clock.advance(0.2)
        self.assertFalse(self.qualify.isReachable("trunk"))
        self.assertEqual(self.qualify.status("trunk"), "UNREACHABLE")
        self.assertEqual(self.peerStatuses()[-1], ("Unreachable", None))
        with self.assertRaises(ChannelUnavailable) as caught:
            self.h.service.checkDialable("trunk")
        self.assertEqual(caught.exception.cause, HangupCause.SUBSCRIBER_ABSENT)
        self.assertEqual(self.h.service.deviceState("trunk"), "UNAVAILABLE")
        # Unreachable peers are poked every 10 s; an answer brings it back.
        self.h.clock.advance(10)
        self.assertEqual(len(self.options()), 3)
        self.answerLast(404)  # any answer proves reachability
        self.assertEqual(self.peerStatuses()[-1][0], "Reachable")
        self.assertEqual(self.h.service.checkDialable("trunk").name, "trunk")

    def test_lagged(self):
        self.h.clock.advance(1)
        self.h.clock.advance(0.7)
        self.answerLast()
        self.assertEqual(self.qualify.status("trunk"), "LAGGED (700 ms)")
        self.assertEqual(self.peerStatuses(), [("Lagged", "700")])

    def test_late_answer_after_unreachable_is_ignored(self):
        self.h.clock.advance(1)
        self.h.clock.advance(1.5)
        self.assertEqual(self.qualify.status("trunk"), "UNREACHABLE")
        self.answerLast()
        self.assertEqual(self.qualify.status("trunk"), "UNREACHABLE")

    def test_dial_to_unreachable_peer_is_chanunavail(self):
        pbx = self.h.pbx
        pbx.loadModule(AppDialModule(), "app_dial")
        test = TestTechnology.install(pbx)
        installCalls(pbx, self.h.stack, self.h.registrar, reactor=self.h.clock)
        pbx.dialplan = parseDialplan(parseText(
            "[default]\nexten => 1,1,Dial(SIP/trunk,5)\n same => n,Set(AFTER=${DIALSTATUS})\n",
            "extensions.conf"))
        self.h.clock.advance(0.5)
        self.h.clock.advance(2)  # the first poke went unanswered
        self.assertEqual(self.qualify.status("trunk"), "UNREACHABLE")
        caller = test.inbound(pbx, exten="1", context="default", callerNumber="200")
        pbx.runDialplan(caller)
        self.h.clock.advance(0)
        self.assertEqual(caller.getVariable("AFTER"), "CHANUNAVAIL")
        self.assertEqual(self.h.transport.requests("INVITE"), [])  # failed fast, nothing sent
        for channel in list(pbx.channels):
            channel.softHangup()
            channel.hangup()
        self.h.clock.advance(0)

    def test_registered_dynamic_peer_is_poked_at_its_source(self):
        h = Harness(text="[general]\nrealm = txpbx.test\n[1001]\ntype=friend\nhost=dynamic\nsecret=right\nqualify=yes\n",
                    clock=None)
        self.addCleanup(h.stop)
        h.clock.advance(2)
        self.assertEqual(h.transport.requests("OPTIONS"), [])  # not registered: nothing to poke
        h.registerWithAuth()
        h.clock.advance(0)
        [(request, destination)] = h.transport.requests("OPTIONS")
        self.assertEqual((destination.host, destination.port), ("192.0.2.10", 5062))
        self.assertEqual(request.uri, "sip:1001@192.0.2.10:5062")


class ReachabilityMachineTests(TestCase):
    def test_states(self):
        r = PeerReachability(maxms=100)
        g = r.sent(10.0)
        self.assertEqual(r.deadline(), 10.2)
        self.assertIs(r.answered(g, 10.05), Reachability.REACHABLE)
        self.assertIsNone(r.answered(g, 10.06))  # a duplicate
        g = r.sent(20.0)
        self.assertIs(r.noAnswer(g), Reachability.UNREACHABLE)
        self.assertEqual(r.nextPokeDelay(60), 10.0)
        g = r.sent(30.0)
        self.assertIs(r.answered(g, 30.5), Reachability.LAGGED)
        self.assertEqual(r.statusText(), "LAGGED (500 ms)")
        self.assertIs(r.reset(), Reachability.UNKNOWN)
