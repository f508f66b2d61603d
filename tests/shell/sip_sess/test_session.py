"""
INVITE sessions on a Clock with the fake stack of pbxcore.testing: the UAC
side (200 crossing CANCEL, authentication, failures), 2xx retransmission
until the ACK, a bad SDP answer in the ACK, and the owner callbacks.
"""

from twisted.trial import unittest

from channels.sip.net.address import Address
from channels.sip.wire.message import makeResponse
from channels.sip.testing import OFFER, FakeServerTransaction, SIPSessionHarness, sipInDialog, sipInvite

DEST = Address("UDP", "127.0.0.1", 5080)


class Owner:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if not name.startswith("session"):
            raise AttributeError(name)
        return lambda session, *args: self.calls.append((name,) + args)


def answer(request, status, toTag="callee-1", body=b""):
    response = makeResponse(request, status, toTag=toTag)
    if status < 300 or toTag:
        response.headers.add("Contact", "<sip:bob@127.0.0.1:5080>")
    if body:
        response.headers.set("Content-Type", "application/sdp")
        response.headers.set("Content-Length", str(len(body)))
        response.body = body
    return response


class OutgoingTests(unittest.TestCase):
    def setUp(self):
        self.h = SIPSessionHarness()
        self.session = self.h.manager.newSession("uac", DEST)
        self.owner = Owner()
        self.session.owner = self.owner

    def start(self, credentials=None):
        self.session.startOutgoing("sip:bob@127.0.0.1:5080", "<sip:bob@127.0.0.1:5080>",
                                   "<sip:alice@127.0.0.1>", credentials=credentials)
        invite, destination, onResponse = self.h.stack.transactions.sent[-1]
        self.assertEqual(invite.method, "INVITE")
        self.assertEqual(destination, DEST)
        self.assertIn(b"m=audio", invite.body)
        return invite, onResponse

    def test_ringingThenAnswer(self):
        invite, onResponse = self.start()
        onResponse(answer(invite, 180))
        onResponse(answer(invite, 200, body=OFFER.encode()))
        self.assertEqual([c[0] for c in self.owner.calls], ["sessionRinging", "sessionAnswered"])
        self.assertEqual(len(self.h.stack.transactions.acks), 1)
        self.assertEqual(self.session.state, "confirmed")
        # A retransmitted 200 is ACKed again, nothing else happens.
        onResponse(answer(invite, 200, body=OFFER.encode()))
        self.assertEqual(len(self.h.stack.transactions.acks), 2)
        self.assertEqual(len(self.owner.calls), 2)

    def test_okCrossingCancelIsAckedThenByed(self):
        invite, onResponse = self.start()
        onResponse(answer(invite, 180))
        self.session.cancel()
        self.assertEqual(len(self.h.stack.transactions.cancelled), 1)
        onResponse(answer(invite, 200, body=OFFER.encode()))
        self.assertEqual(len(self.h.stack.transactions.acks), 1)
        self.assertEqual(self.h.sent[-1].method, "BYE")
        self.assertEqual(self.session.state, "terminated")
        self.assertNotIn("sessionAnswered", [c[0] for c in self.owner.calls])

    def test_failureEndsTheSession(self):
        invite, onResponse = self.start()
        onResponse(answer(invite, 486))
        self.assertEqual(self.owner.calls[0][0], "sessionFailed")
        self.assertEqual(self.owner.calls[0][1].status, 486)
        self.assertEqual(self.session.state, "terminated")
        self.assertEqual(self.h.manager.sessions, {})

    def test_challengeAnsweredOnce(self):
        invite, onResponse = self.start(credentials=("bob", "secret"))
        challenge = answer(invite, 407)
        challenge.headers.add("Proxy-Authenticate", 'Digest realm="far", nonce="n1", algorithm=MD5')
        onResponse(challenge)
        retry, _, onRetry = self.h.stack.transactions.sent[-1]
        self.assertEqual(retry.cseq.number, invite.cseq.number + 1)
        self.assertIn('username="bob"', retry.headers.get("Proxy-Authorization"))
        self.assertNotEqual(retry.topVia.branch, invite.topVia.branch)
        onRetry(answer(retry, 407))
        self.assertEqual(self.owner.calls[-1][0], "sessionFailed")

    def test_byeFromTheFarEnd(self):
        invite, onResponse = self.start()
        onResponse(answer(invite, 200, body=OFFER.encode()))
        bye = sipInDialog(self.session, "BYE", 1)
        # A BYE from the callee carries our tag in To and theirs in From.
        bye.headers.set("From", "<sip:bob@127.0.0.1:5080>;tag=callee-1")
        bye.headers.set("To", f"<sip:alice@127.0.0.1>;tag={self.session.localTag}")
        st = FakeServerTransaction(bye)
        self.assertTrue(self.h.manager.dialogRequest(bye, st))
        self.assertEqual(st.responses[-1].status, 200)
        self.assertEqual(self.owner.calls[-1], ("sessionTerminated", 16))


class IncomingTests(unittest.TestCase):
    def setUp(self):
        self.h = SIPSessionHarness()

    def test_okRetransmittedUntilAck(self):
        session, st = self.h.incoming(sipInvite())
        session.answer()
        self.assertEqual([r.status for r in st.responses], [200])
        self.h.clock.advance(0.5)
        self.h.clock.advance(1.0)
        self.assertEqual([r.status for r in st.responses], [200, 200, 200])
        self.h.ack(session)
        self.h.clock.advance(10)
        self.assertEqual(len(st.responses), 3)
        self.assertEqual(session.state, "confirmed")

    def test_noAckEndsTheCallWithBye(self):
        session, st = self.h.incoming(sipInvite())
        owner = Owner()
        session.owner = owner
        session.answer()
        self.h.clock.advance(40)
        self.assertEqual(self.h.sent[-1].method, "BYE")
        self.assertEqual(session.state, "terminated")
        self.assertEqual(owner.calls[-1][0], "sessionTerminated")

    def test_lateOfferBadAnswerInAck(self):
        session, st = self.h.incoming(sipInvite(body=""))
        owner = Owner()
        session.owner = owner
        session.answer()
        self.assertIn(b"m=audio", st.responses[-1].body)
        ack = sipInDialog(session, "ACK", 1, extraHeaders=[("Content-Type", "application/sdp")],
                          body=b"this is not SDP")
        self.h.manager.dialogRequest(ack, None)
        self.assertEqual(self.h.sent[-1].method, "BYE")
        self.assertEqual(owner.calls[-1], ("sessionTerminated", 111))

    def test_hangupBeforeAckWaitsForIt(self):
        session, st = self.h.incoming(sipInvite())
        session.answer()
        session.end(16)
        self.assertEqual(self.h.sent, [])
        self.h.ack(session)
        self.assertEqual(self.h.sent[-1].method, "BYE")
        self.assertEqual(session.state, "terminated")

    def test_rejectMapsTheCause(self):
        session, st = self.h.incoming(sipInvite())
        session.end(17)
        self.assertEqual(st.responses[-1].status, 486)
        session, st = self.h.incoming(sipInvite(callId="call-2"))
        session.end(1)
        self.assertEqual(st.responses[-1].status, 404)

    def test_cookiesDestroyedAtTheEnd(self):
        session, st = self.h.incoming(sipInvite())
        destroyed = []
        session.addCookie("a", 1, destroyed.append)
        session.addCookie("b", 2, destroyed.append)
        self.assertEqual(session.getCookie("a"), 1)
        self.assertEqual(session.removeCookie("a"), 1)
        self.assertEqual(destroyed, [1])
        session.end(16)
        self.assertEqual(destroyed, [1, 2])
        self.assertIsNone(session.getCookie("b"))
