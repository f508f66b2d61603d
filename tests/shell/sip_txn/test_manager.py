"""TransactionManager on a Clock with an in-memory transport."""

import dataclasses

from twisted.internet.defer import fail, succeed
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from channels.sip.net.address import Address
from channels.sip.wire.message import makeResponse
from channels.sip.machines.transaction import State, Timers
from channels.sip.net.transactions import TransactionManager, TransportError
from tests.unit.sip_txn.helpers import UAC, UAC_TCP, UAS, request, response


class FakeTransport:
    """Records what is sent; can fail synchronously or through a Deferred."""

    def __init__(self):
        self.sent = []
        self.failWith = None  # None, "raise" or "deferred"
        self.returnDeferred = False

    def _send(self, message, address):
        if self.failWith == "raise":
            raise TransportError("connection refused")
        if self.failWith == "deferred":
            return fail(TransportError("no route"))
        self.sent.append((message, address))
        return succeed(None) if self.returnDeferred else None

    def send(self, message, destination):
        return self._send(message, destination)

    def sendResponse(self, response, source):
        return self._send(response, source)

    def requests(self, method=None):
        return [m for m, _ in self.sent if m.isRequest and (method is None or m.method == method)]

    def responses(self):
        return [m for m, _ in self.sent if not m.isRequest]


class RecordingUser:
    def __init__(self):
        self.requests = []
        self.acks = []
        self.strays = []
        self.failures = []

    def requestReceived(self, request, transaction):
        self.requests.append((request, transaction))

    def ackReceived(self, ack, source):
        self.acks.append((ack, source))

    def strayResponse(self, response, source):
        self.strays.append((response, source))

    def serverTransactionFailed(self, transaction, reason):
        self.failures.append((transaction, reason))


class CancelAwareUser(RecordingUser):
    def __init__(self):
        super().__init__()
        self.cancels = []

    def cancelReceived(self, cancel, transaction):
        self.cancels.append((cancel, transaction))


class ManagerTestCase(TestCase):
    userClass = RecordingUser

    def setUp(self):
        self.clock = Clock()
        self.transport = FakeTransport()
        self.user = self.userClass()
        self.manager = TransactionManager(self.transport, self.user, reactor=self.clock)
        self.responses = []

    def advanceTo(self, when):
        while self.clock.getDelayedCalls():
            nextCall = min(c.getTime() for c in self.clock.getDelayedCalls())
            if nextCall > when:
                break
            self.clock.advance(nextCall - self.clock.seconds())
        self.clock.advance(when - self.clock.seconds())


class ServerSideTests(ManagerTestCase):
    def test_requestDeliveredOnceAndResponseResent(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        self.assertEqual(len(self.user.requests), 1)
        txn = self.user.requests[0][1]
        self.assertIs(txn.request, invite)
        self.assertEqual(txn.source, UAC)
        self.assertTrue(txn.respond(response(invite, 180)))
        self.manager.messageReceived(request(), UAC)
        self.manager.messageReceived(request(), UAC)
        self.assertEqual(len(self.user.requests), 1)
        self.assertEqual([r.status for r in self.transport.responses()], [180, 180, 180])
        self.assertEqual([a for _, a in self.transport.sent], [UAC] * 3)

    def test_hundredTryingWhenTheTUIsSlow(self):
        self.manager.messageReceived(request(), UAC)
        self.clock.advance(0.1)
        self.assertEqual(self.transport.sent, [])
        self.clock.advance(0.1)
        self.assertEqual([r.status for r in self.transport.responses()], [100])

    def test_noHundredTryingForNonInvite(self):
        self.manager.messageReceived(request("OPTIONS"), UAC)
        self.clock.advance(1)
        self.assertEqual(self.transport.sent, [])

    def test_finalRetransmittedUntilAckThenForgotten(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        busy = response(invite, 486)
        txn.respond(busy)
        self.advanceTo(4.0)  # G at 0.5, 1.5, 3.5
        self.assertEqual(len(self.transport.responses()), 4)
        self.manager.messageReceived(request("ACK", toTag="bobtag"), UAC)
        self.assertEqual(txn.state, State.CONFIRMED)
        self.assertEqual(self.user.acks, [])
        self.advanceTo(20.0)
        self.assertEqual(len(self.transport.responses()), 4)
        self.assertTrue(txn.terminated)
        self.assertEqual(self.manager.serverTransactions, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_timerHTellsTheTU(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        txn.respond(response(invite, 486))
        self.advanceTo(40)
        self.assertEqual(self.user.failures, [(txn, "Timer H fired")])
        self.assertEqual(self.manager.serverTransactions, [])

    def test_oneTimerForTheManager(self):
        for n in range(5):
            self.manager.messageReceived(request(branch=f"z9hG4bK{n}"), UAC)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        for _, txn in self.user.requests:
            txn.respond(response(txn.request, 404))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.manager.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_ackTo2xxGoesToTheTU(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        txn.respond(response(invite, 200))
        self.assertEqual(txn.state, State.ACCEPTED)
        # The retransmitted INVITE is absorbed.
        self.manager.messageReceived(request(), UAC)
        self.assertEqual(len(self.user.requests), 1)
        self.assertEqual(len(self.transport.responses()), 1)
        ack = request("ACK", branch="z9hG4bKack", toTag="bobtag")
        self.manager.messageReceived(ack, UAC)
        self.assertEqual(self.user.acks, [(ack, UAC)])
        self.advanceTo(40)
        self.assertEqual(self.manager.serverTransactions, [])

    def test_refusedResponse(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        self.assertTrue(txn.respond(response(invite, 486)))
        self.assertFalse(txn.respond(response(invite, 200)))
        self.assertEqual(len(self.transport.responses()), 1)

    def test_tuErrorAnswers500(self):
        def explode(request, transaction):
            raise RuntimeError("bug in the TU")

        self.user.requestReceived = explode
        self.manager.messageReceived(request("MESSAGE"), UAC)
        self.assertEqual([r.status for r in self.transport.responses()], [500])
        self.assertTrue(self.transport.responses()[0].toTag)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_malformedMessageIsLoggedNotRaised(self):
        bad = request()
        bad.headers.remove("Via")
        self.manager.messageReceived(bad, UAC)
        self.assertEqual(self.user.requests, [])
        badResponse = response(request(), 200)
        badResponse.headers.set("CSeq", "not a cseq")
        self.manager.messageReceived(badResponse, UAS)
        self.assertEqual(self.user.strays, [])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_reliableTransportNoRetransmissions(self):
        options = request("OPTIONS", transport="TCP")
        self.manager.messageReceived(options, UAC_TCP)
        txn = self.user.requests[0][1]
        txn.respond(response(options, 200))
        self.assertEqual(self.manager.serverTransactions, [])
        invite = request(branch="z9hG4bKtcp", transport="TCP")
        self.manager.messageReceived(invite, UAC_TCP)
        txn = self.user.requests[1][1]
        txn.respond(response(invite, 486))
        self.advanceTo(10)
        self.assertEqual(len(self.transport.responses()), 2)

    def test_serverTransportErrorNotifiedByDestination(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        txn.respond(response(invite, 486))
        self.manager.transportError(UAC, Failure(TransportError("connect failed")))
        self.assertTrue(txn.terminated)
        self.assertEqual(self.user.failures, [(txn, "connect failed")])

    def test_serverTransportErrorTellsTheTU(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        self.transport.failWith = "raise"
        txn.respond(response(invite, 486))
        self.assertTrue(txn.terminated)
        self.assertEqual(self.user.failures, [(txn, "connection refused")])
        self.assertEqual(self.manager.serverTransactions, [])


class CancelTests(ManagerTestCase):
    userClass = CancelAwareUser

    def test_cancelAnsweredAndTUTold(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        txn.respond(response(invite, 180, toTag="uastag"))
        cancel = request("CANCEL")
        self.manager.messageReceived(cancel, UAC)
        ok = self.transport.responses()[-1]
        self.assertEqual((ok.status, ok.cseq.method, ok.toTag), (200, "CANCEL", "uastag"))
        self.assertEqual(self.user.cancels, [(cancel, txn)])
        self.assertTrue(txn.cancelled)
        # The CANCEL never reaches requestReceived.
        self.assertEqual(len(self.user.requests), 1)
        txn.respond(response(invite, 487, toTag="uastag"))
        # A retransmitted CANCEL gets the 200 again without bothering the TU.
        self.manager.messageReceived(request("CANCEL"), UAC)
        self.assertEqual(len(self.user.cancels), 1)
        statuses = [(r.status, r.cseq.method) for r in self.transport.responses()]
        self.assertEqual(
            statuses, [(180, "INVITE"), (200, "CANCEL"), (487, "INVITE"), (200, "CANCEL")]
        )

    def test_cancelWithoutMatch481(self):
        self.manager.messageReceived(request("CANCEL"), UAC)
        (reply,) = self.transport.responses()
        self.assertEqual(reply.status, 481)
        self.assertTrue(reply.toTag)
        self.assertEqual(self.user.cancels, [])

    def test_cancelAfterFinalStill200(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        txn.respond(response(invite, 486))
        self.manager.messageReceived(request("CANCEL"), UAC)
        self.assertEqual(self.transport.responses()[-1].status, 200)
        self.assertEqual(self.user.cancels, [])
        self.assertFalse(txn.cancelled)


class DefaultCancelTests(ManagerTestCase):
    def test_without_cancelReceived_the_manager_answers_487(self):
        invite = request()
        self.manager.messageReceived(invite, UAC)
        txn = self.user.requests[0][1]
        self.manager.messageReceived(request("CANCEL"), UAC)
        self.assertEqual([r.status for r in self.transport.responses()], [200, 487])
        self.assertTrue(txn.cancelled)
        ok, terminated = self.transport.responses()
        self.assertTrue(ok.toTag)
        self.assertEqual(ok.toTag, terminated.toTag)
        self.assertEqual(txn.state, State.COMPLETED)
        # The ACK for the 487 completes the transaction.
        self.manager.messageReceived(request("ACK", toTag=self.transport.responses()[1].toTag), UAC)
        self.assertEqual(txn.state, State.CONFIRMED)


class ClientSideTests(ManagerTestCase):
    def send(self, req, destination=UAS):
        return self.manager.sendRequest(req, destination, self.responses.append)

    def test_timeoutDeliveredAs408(self):
        options = request("OPTIONS")
        txn = self.send(options)
        self.assertIs(txn.request, options)
        self.assertEqual(txn.destination, UAS)
        self.advanceTo(31.9)
        self.assertEqual(self.responses, [])
        self.assertEqual(len(self.transport.requests("OPTIONS")), 11)
        self.advanceTo(32.0)
        (timeout,) = self.responses
        self.assertEqual(timeout.status, 408)
        self.assertIs(timeout.local, True)
        self.assertEqual(timeout.callId, options.callId)
        self.assertEqual(str(timeout.cseq), "1 OPTIONS")
        self.assertEqual(self.manager.clientTransactions, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_inviteRetransmissionsWithTimerA(self):
        self.send(request())
        self.advanceTo(31.9)
        self.assertEqual(len(self.transport.requests("INVITE")), 7)
        self.advanceTo(32)
        self.assertEqual([r.status for r in self.responses], [408])

    def test_responsesDeliveredAndRetransmittedFinalAbsorbed(self):
        invite = request()
        self.send(invite)
        self.manager.messageReceived(response(invite, 100), UAS)
        self.manager.messageReceived(response(invite, 180), UAS)
        busy = response(invite, 486)
        self.manager.messageReceived(busy, UAS)
        self.manager.messageReceived(response(invite, 486), UAS)
        self.assertEqual([r.status for r in self.responses], [100, 180, 486])
        self.assertFalse(getattr(self.responses[-1], "local", False))
        acks = self.transport.requests("ACK")
        self.assertEqual(len(acks), 2)
        self.assertEqual(acks[0].toTag, "bobtag")
        self.assertEqual(self.transport.sent[-1][1], UAS)

    def test_strayResponse(self):
        invite = request()
        self.send(invite)
        ok = response(invite, 200)
        self.manager.messageReceived(ok, UAS)
        self.advanceTo(40)
        self.manager.messageReceived(ok, UAS)
        self.assertEqual(self.user.strays, [(ok, UAS)])
        self.assertEqual([r.status for r in self.responses], [200])

    def test_2xxRetransmissionsReachTheTUWhileAccepted(self):
        invite = request()
        self.send(invite)
        ok = response(invite, 200)
        self.manager.messageReceived(ok, UAS)
        self.manager.messageReceived(ok, UAS)
        self.assertEqual([r.status for r in self.responses], [200, 200])
        self.assertEqual(self.user.strays, [])
        self.assertEqual(self.transport.requests("ACK"), [])

    def test_transportErrorDeliveredAs503(self):
        self.transport.failWith = "raise"
        self.send(request("OPTIONS"))
        (failed,) = self.responses
        self.assertEqual((failed.status, failed.local), (503, True))
        self.assertEqual(self.manager.clientTransactions, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_deferredTransportErrorDeliveredAs503(self):
        self.transport.failWith = "deferred"
        self.send(request("OPTIONS"))
        self.assertEqual([(r.status, r.local) for r in self.responses], [(503, True)])
        self.assertEqual(self.manager.clientTransactions, [])

    def test_transportErrorNotifiedByDestination(self):
        """
        A transport that handles its own Deferred failures reports them as
        transportError(destination, failure): pending transactions to that
        destination fail, others carry on.
        """
        other = Address("UDP", "192.0.2.99", 5060)
        waiting = self.send(request("OPTIONS"))
        answered = self.send(request("INVITE", branch="z9hG4bKanswered"))
        elsewhere = self.send(request("OPTIONS", branch="z9hG4bKelse"), other)
        self.manager.messageReceived(response(answered.request, 180), UAS)
        self.manager.transportError(UAS, Failure(TransportError("no such host")))
        self.assertTrue(waiting.terminated)
        self.assertFalse(answered.terminated)
        self.assertFalse(elsewhere.terminated)
        self.assertEqual([(r.status, getattr(r, "local", False)) for r in self.responses],
                         [(180, False), (503, True)])

    def test_tcpClientDoesNotRetransmit(self):
        self.send(request("OPTIONS", transport="TCP"), Address("TCP", "192.0.2.2", 5060))
        self.advanceTo(31)
        self.assertEqual(len(self.transport.requests()), 1)
        self.advanceTo(32)
        self.assertEqual([r.status for r in self.responses], [408])

    def test_requestMovedToTCPIsNotRetransmitted(self):
        """
        A transport that sends a large UDP request over TCP rewrites its top
        Via; the transaction then behaves as over a reliable transport.
        """
        from channels.sip.net.transport import replaceTopVia

        send = self.transport.send

        def sendOverTCP(message, destination):
            if message.isRequest:
                replaceTopVia(message, dataclasses.replace(message.topVia, transport="TCP"))
            return send(message, destination)

        self.transport.send = sendOverTCP
        self.send(request())
        self.advanceTo(31)
        self.assertEqual(len(self.transport.requests()), 1)
        self.advanceTo(32)
        self.assertEqual([r.status for r in self.responses], [408])

    def test_ackIsNotATransaction(self):
        self.assertRaises(ValueError, self.send, request("ACK"))
        ack = request("ACK", toTag="x")
        self.manager.sendAck(ack, UAS)
        self.assertEqual(self.transport.sent, [(ack, UAS)])
        self.assertEqual(self.manager.clientTransactions, [])

    def test_duplicateBranchRefused(self):
        self.send(request("OPTIONS"))
        self.assertRaises(ValueError, self.send, request("OPTIONS"))

    def test_callbackErrorLogged(self):
        def explode(response):
            raise RuntimeError("TU bug")

        invite = request()
        self.manager.sendRequest(invite, UAS, explode)
        self.manager.messageReceived(response(invite, 180), UAS)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class ClientCancelTests(ManagerTestCase):
    def test_cancelWaitsForAProvisional(self):
        invite = request()
        txn = self.manager.sendRequest(invite, UAS, self.responses.append)
        cancelResponses = []
        self.assertIsNone(self.manager.cancel(txn, cancelResponses.append))
        self.assertTrue(txn.cancelPending)
        self.assertEqual(self.transport.requests("CANCEL"), [])
        self.manager.messageReceived(response(invite, 180), UAS)
        (cancel,) = self.transport.requests("CANCEL")
        self.assertEqual(cancel.topVia.branch, invite.topVia.branch)
        self.assertEqual(str(cancel.cseq), "1 CANCEL")
        self.assertIsNotNone(txn.cancelTransaction)
        self.manager.messageReceived(makeResponse(cancel, 200, toTag="bobtag"), UAS)
        self.assertEqual([r.status for r in cancelResponses], [200])
        self.manager.messageReceived(response(invite, 487), UAS)
        self.assertEqual([r.status for r in self.responses], [180, 487])
        self.assertEqual(len(self.transport.requests("ACK")), 1)

    def test_cancelAfterProvisionalGoesAtOnce(self):
        invite = request()
        txn = self.manager.sendRequest(invite, UAS, self.responses.append)
        self.manager.messageReceived(response(invite, 183), UAS)
        cancelTxn = self.manager.cancel(txn)
        self.assertIs(self.manager.cancel(txn), cancelTxn)
        self.assertEqual(len(self.transport.requests("CANCEL")), 1)
        self.assertEqual(cancelTxn.request.method, "CANCEL")

    def test_pendingCancelDroppedOnFinal(self):
        invite = request()
        txn = self.manager.sendRequest(invite, UAS, self.responses.append)
        self.manager.cancel(txn)
        self.manager.messageReceived(response(invite, 486), UAS)
        self.assertFalse(txn.cancelPending)
        self.assertEqual(self.transport.requests("CANCEL"), [])

    def test_unansweredCancelGivesUp(self):
        invite = request()
        txn = self.manager.sendRequest(invite, UAS, self.responses.append)
        self.manager.messageReceived(response(invite, 180), UAS)
        self.manager.cancel(txn)
        self.advanceTo(100)
        self.assertEqual([(r.status, getattr(r, "local", False)) for r in self.responses],
                         [(180, False), (408, True)])
        self.assertEqual(self.manager.clientTransactions, [])

    def test_onlyInvitesCanBeCancelled(self):
        txn = self.manager.sendRequest(request("OPTIONS"), UAS, self.responses.append)
        self.assertRaises(ValueError, self.manager.cancel, txn)


class TimersTests(ManagerTestCase):
    def test_customTimers(self):
        manager = TransactionManager(
            self.transport, self.user, reactor=self.clock, timers=Timers(t1=0.1, t2=0.4)
        )
        manager.sendRequest(request("OPTIONS"), UAS, self.responses.append)
        self.advanceTo(6.4)
        self.assertEqual([r.status for r in self.responses], [408])
