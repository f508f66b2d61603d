"""
The manager's single timer and the absorbing records that replace
completed non-INVITE server transactions.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from channels.sip.machines.transaction import State
from channels.sip.net.transactions import TransactionManager
from tests.shell.sip_txn.test_manager import FakeTransport, RecordingUser
from tests.unit.sip_txn.helpers import UAC, UAC_TCP, request, response


class AbsorbingTests(TestCase):
    def setUp(self):
        self.clock = Clock()
        self.transport = FakeTransport()
        self.user = RecordingUser()
        self.manager = TransactionManager(self.transport, self.user, reactor=self.clock)

    def answer(self, method="OPTIONS", status=200, **kw):
        req = request(method, **kw)
        self.manager.messageReceived(req, UAC)
        txn = self.user.requests[-1][1]
        txn.respond(response(req, status))
        return txn

    def test_completedNonInviteKeepsOnlyBytes(self):
        txn = self.answer()
        self.assertEqual(self.manager.serverTransactions, [])
        self.assertEqual(txn.state, State.COMPLETED)
        sent = self.transport.responses()[0].toBytes()
        self.manager.messageReceived(request("OPTIONS"), UAC)
        self.manager.messageReceived(request("OPTIONS"), UAC)
        again = self.transport.responses()
        self.assertEqual(len(again), 3)
        self.assertEqual([r.toBytes() for r in again[1:]], [sent, sent])
        self.assertEqual([a for _, a in self.transport.sent], [UAC] * 3)
        self.assertEqual(len(self.user.requests), 1)

    def test_timerJForgetsTheRecord(self):
        txn = self.answer()
        self.clock.advance(31.9)
        self.assertFalse(txn.terminated)
        self.clock.advance(0.1)
        self.assertTrue(txn.terminated)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.manager.messageReceived(request("OPTIONS"), UAC)
        # After Timer J the same branch is a new request for the TU.
        self.assertEqual(len(self.user.requests), 2)

    def test_reliableTransportAbsorbsNothing(self):
        req = request("OPTIONS", transport="TCP")
        self.manager.messageReceived(req, UAC_TCP)
        self.user.requests[0][1].respond(response(req, 200))
        self.manager.messageReceived(request("OPTIONS", transport="TCP"), UAC_TCP)
        self.assertEqual(len(self.user.requests), 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_oneReactorCallForManyTransactions(self):
        for n in range(50):
            self.answer(branch=f"z9hG4bKn{n}")
            self.clock.advance(0.01)
        invite = request("INVITE", branch="z9hG4bKinv")
        self.manager.messageReceived(invite, UAC)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        # The earliest deadline (the INVITE's 100 Trying) is the one armed.
        self.clock.advance(0.2)
        self.assertEqual(self.transport.responses()[-1].status, 100)
        self.clock.advance(40)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.manager._absorbing, {})

    def test_supersededDeadlinesCauseNoWork(self):
        invite = request("INVITE")
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        txn.respond(response(invite, 200))  # Trying disarmed, Timer L armed
        self.clock.advance(1)
        self.assertEqual([r.status for r in self.transport.responses()], [200])
        self.assertEqual(txn.state, State.ACCEPTED)
        self.clock.advance(31)
        self.assertTrue(txn.terminated)
        self.assertEqual(self.manager.serverTransactions, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
