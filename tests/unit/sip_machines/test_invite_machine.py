"""
The INVITE session machine, a UAC machine against a UAS machine over a
pretend wire (every message goes through bytes and the parser), with no
reactor and a hand-moved clock: every race of RFC 3261 §9.1, §13, §14.1,
§15, RFC 3262 and RFC 4028 as the two machines see it.
"""

import unittest

from channels.sip.wire.headers import Headers
from channels.sip.machines.invite import (
    AnswerReceived, Answered, CancelInvite, Ended, Failed, InviteMachine, Local, OfferAnswer,
    Progress, Resend, Ringing, SendAck, SendInvite, SendRequest, SendResponse, SessionTimer,
    State, glareDelay)
from channels.sip.wire.message import Request, newBranch
from channels.sip.wire.parser import parseMessage
from channels.sip.machines.transaction import makeCancel

OFFER = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
ANSWER = OFFER.replace(b"4000", b"5000")

A = Local(via="SIP/2.0/UDP 127.0.0.1:5061", contact="<sip:a@127.0.0.1:5061>", userAgent="a")
B = Local(via="SIP/2.0/UDP 127.0.0.1:5062", contact="<sip:b@127.0.0.1:5062>", userAgent="b",
          allow="INVITE, ACK, CANCEL, BYE, UPDATE, PRACK")


def invite(body=OFFER, headers=()):
    h = Headers()
    h.add("Via", f"{A.via};branch={newBranch()};rport")
    h.add("Max-Forwards", "70")
    h.add("From", "<sip:a@127.0.0.1>;tag=atag")
    h.add("To", "<sip:b@127.0.0.1>")
    h.add("Contact", A.contact)
    h.add("Call-ID", "call-1")
    h.add("CSeq", "102 INVITE")
    for name, value in headers:
        h.add(name, value)
    if body:
        h.add("Content-Type", "application/sdp")
    h.add("Content-Length", str(len(body)))
    return Request("INVITE", "sip:b@127.0.0.1:5062", h, body)


def wire(message):
    """Through bytes and the parser, as on a socket."""
    return parseMessage(message.toBytes())


class Pair:
    """
    Two machines and the messages in flight between them. C{hold} keeps
    messages on the wire until L{flush} (or L{drop}) so that tests cross them.
    """

    def __init__(self, rand=lambda: 0.5):
        self.now = 0.0
        self.uac = InviteMachine("uac", A, localTag="atag", rand=rand)
        self.uas = InviteMachine("uas", B, rand=rand)
        self.events = {"uac": [], "uas": []}
        self.sent = {"uac": [], "uas": []}
        self.inflight = []     # (to, message)
        self.hold = False
        self.autoAnswer = True  # the UAS answers in-dialog offers at once

    def name(self, machine):
        return "uac" if machine is self.uac else "uas"

    def other(self, machine):
        return self.uas if machine is self.uac else self.uac

    def run(self, machine, effects):
        for effect in effects:
            me = self.name(machine)
            if isinstance(effect, (SendInvite, SendRequest, SendAck, SendResponse, Resend)):
                message = effect.response if isinstance(effect, (SendResponse, Resend)) else effect.request
                self.sent[me].append(message)
                self.inflight.append((self.other(machine), wire(message)))
            elif isinstance(effect, CancelInvite):
                cancel = makeCancel(machine.invite)
                self.sent[me].append(cancel)
                self.inflight.append((self.other(machine), wire(cancel)))
            else:
                self.events[me].append(effect)
        if not self.hold:
            self.flush()

    def flush(self):
        while self.inflight:
            to, message = self.inflight.pop(0)
            self.deliver(to, message)

    def drop(self, predicate):
        self.inflight = [(to, m) for to, m in self.inflight if not predicate(m)]

    def deliver(self, machine, message):
        if not message.isRequest:
            return self.run(machine, machine.receiveResponse(message, self.now))
        method = message.method
        if method == "INVITE" and not message.toTag:
            return self.run(machine, machine.receiveInvite(message, self.now))
        if method == "ACK":
            return self.run(machine, machine.receiveAck(message, self.now))
        if method == "CANCEL":
            return self.run(machine, machine.receiveCancel(message, self.now))
        checked = machine.checkRequest(message, self.now)
        if checked is not None:
            return self.run(machine, checked)
        if method == "BYE":
            return self.run(machine, machine.receiveBye(message, self.now))
        if method == "PRACK":
            return self.run(machine, machine.receivePrack(message, self.now))
        if method in ("INVITE", "UPDATE") and self.autoAnswer:
            body = ANSWER if message.body else (OFFER if method == "INVITE" else b"")
            return self.run(machine, machine.respond(message, 200, body=body, now=self.now))
        if method != "INVITE":
            return self.run(machine, machine.respond(message, 200, now=self.now))

    def advance(self, to):
        """Move the clock to C{to}, firing each deadline on the way in order."""
        while True:
            due = [(m.nextDeadline(), i, m) for i, m in enumerate((self.uac, self.uas))
                   if m.nextDeadline() is not None and m.nextDeadline() <= to]
            if not due:
                break
            at, _, machine = min(due, key=lambda d: (d[0], d[1]))
            self.now = max(self.now, at)
            self.run(machine, machine.handleTimer(self.now))
        self.now = to

    # -- script steps ----------------------------------------------------------------

    def call(self, body=OFFER, headers=()):
        self.run(self.uac, self.uac.startInvite(invite(body, headers), self.now))

    def uasRespond(self, status, body=b"", headers=()):
        self.run(self.uas, self.uas.respond(self.uas.invite, status, headers=headers, body=body,
                                            now=self.now))

    def methods(self, side):
        return [m.method if m.isRequest else m.status for m in self.sent[side]]

    def kinds(self, side):
        return [type(e) for e in self.events[side]]


class BasicCallTests(unittest.TestCase):
    def test_offerInInviteAnswerIn2xx(self):
        p = Pair()
        p.call()
        self.assertEqual(p.uas.state, State.INCOMING)
        self.assertEqual(p.uas.offerAnswer, OfferAnswer.REMOTE_OFFER)
        p.uasRespond(180)
        self.assertEqual((p.uac.state, p.uas.state), (State.EARLY, State.EARLY))
        p.hold = True
        p.uasRespond(200, ANSWER)
        self.assertEqual(p.uas.state, State.WAIT_ACK)
        p.hold = False
        p.flush()
        self.assertEqual((p.uac.state, p.uas.state), (State.CONFIRMED, State.CONFIRMED))
        self.assertEqual((p.uac.offerAnswer, p.uas.offerAnswer), (OfferAnswer.STABLE, OfferAnswer.STABLE))
        self.assertEqual(p.kinds("uac"), [Ringing, AnswerReceived, Answered])
        self.assertEqual(p.events["uac"][1].body, ANSWER)
        self.assertIsNone(p.uas.nextDeadline())
        p.run(p.uac, p.uac.hangup(16, p.now))
        self.assertEqual((p.uac.state, p.uas.state), (State.TERMINATED, State.TERMINATED))
        self.assertEqual(p.events["uas"][-1], Ended(16, "remote BYE", True))
        self.assertEqual(p.events["uac"][-1], Ended(16, "hangup", False))
        self.assertEqual(p.methods("uac"), ["INVITE", "ACK", "BYE"])
        self.assertEqual(p.methods("uas"), [180, 200, 200])

    def test_failureEndsBoth(self):
        p = Pair()
        p.call()
        p.run(p.uas, p.uas.hangup(17, p.now, status=(486, "Busy Here")))
        self.assertEqual(p.kinds("uac"), [Failed, Ended])
        self.assertEqual(p.events["uac"][0].response.status, 486)
        self.assertTrue(p.uas.ended)

    def test_authRetry(self):
        """401 with a challenge: the INVITE again with Authorization, CSeq one higher, once."""
        p = Pair()
        p.uac = InviteMachine("uac", A, localTag="atag")
        p.run(p.uac, p.uac.startInvite(invite(), p.now, credentials=("a", "secret")))
        challenge = [("WWW-Authenticate", 'Digest realm="x", nonce="abc", algorithm=MD5')]
        p.uasRespond(401, headers=challenge)
        second = p.sent["uac"][-1]
        self.assertEqual(second.cseq.number, 103)
        self.assertIn('username="a"', second.headers.get("Authorization"))
        self.assertFalse(p.uac.ended)
        # the same UAS machine is done; a fresh one gets the retry and challenges again
        p.uas = InviteMachine("uas", B)
        p.run(p.uas, p.uas.receiveInvite(wire(second), p.now))
        p.uasRespond(401, headers=challenge)
        self.assertTrue(p.uac.ended)
        self.assertEqual(p.kinds("uac"), [Failed, Ended])


class LateOfferTests(unittest.TestCase):
    def test_offerIn2xxAnswerInAck(self):
        p = Pair()
        p.call(body=b"")
        self.assertEqual(p.uas.offerAnswer, OfferAnswer.NONE)
        p.hold = True
        p.uasRespond(200, OFFER)
        self.assertEqual(p.uas.offerAnswer, OfferAnswer.LOCAL_OFFER)
        p.inflight.clear()
        p.run(p.uas, p.uas.receiveAck(ack(p, ANSWER), p.now))
        self.assertEqual(p.uas.offerAnswer, OfferAnswer.STABLE)
        self.assertEqual(p.kinds("uas"), [AnswerReceived])

    def test_ackWithoutAnswerEndsWithReason(self):
        p = Pair()
        p.call(body=b"")
        p.hold = True
        p.uasRespond(200, OFFER)
        p.inflight.clear()
        p.run(p.uas, p.uas.receiveAck(ack(p, b""), p.now))
        bye = p.sent["uas"][-1]
        self.assertEqual(bye.method, "BYE")
        self.assertIn("Q.850;cause=111", bye.headers.get("Reason"))
        self.assertEqual(p.events["uas"][-1].cause, 111)
        self.assertTrue(p.uas.ended)

    def test_unusableAnswerEndsWithReason(self):
        p = Pair()
        p.call(body=b"")
        p.hold = True
        p.uasRespond(200, OFFER)
        p.inflight.clear()
        p.run(p.uas, p.uas.receiveAck(ack(p, b"garbage"), p.now))
        self.assertEqual(p.kinds("uas"), [AnswerReceived])
        p.run(p.uas, p.uas.answerRejected(p.now, "Incompatible SDP answer"))
        self.assertIn('text="Incompatible SDP answer"', p.sent["uas"][-1].headers.get("Reason"))
        self.assertTrue(p.uas.ended)


def ack(p, body):
    """An ACK for the UAS's 2xx, as the caller would send it (maybe with a body)."""
    ok = p.uas._pending.response
    h = Headers()
    h.add("Via", f"{A.via};branch={newBranch()}")
    h.add("From", "<sip:a@127.0.0.1>;tag=atag")
    h.add("To", ok.headers.get("To"))
    h.add("Call-ID", "call-1")
    h.add("CSeq", "102 ACK")
    if body:
        h.add("Content-Type", "application/sdp")
    h.add("Content-Length", str(len(body)))
    return wire(Request("ACK", "sip:b@127.0.0.1:5062", h, body))


class RetransmissionTests(unittest.TestCase):
    def test_2xxResentUntilAck(self):
        """§13.3.1.4: T1, then doubling up to T2; the ACK stops it."""
        p = Pair()
        p.call()
        p.hold = True
        p.uasRespond(200, ANSWER)
        p.drop(lambda m: True)  # the 200 is lost
        resent = []
        for t in (0.4, 0.5, 1.5, 3.5, 7.5, 11.5):
            p.advance(t)
            resent.append(sum(1 for e in p.sent["uas"] if not e.isRequest and e.status == 200) - 1)
            p.drop(lambda m: True)
        self.assertEqual(resent, [0, 1, 2, 3, 4, 5])
        p.hold = False
        p.advance(15.5)  # this one gets through: ACK
        self.assertEqual(p.uas.state, State.CONFIRMED)
        self.assertIsNone(p.uas.nextDeadline())

    def test_noAckEndsWithBye(self):
        p = Pair()
        p.call()
        p.hold = True
        p.uasRespond(200, ANSWER)
        p.drop(lambda m: True)
        p.advance(31.9)
        p.drop(lambda m: True)
        self.assertFalse(p.uas.ended)
        p.advance(32.0)
        self.assertEqual(p.events["uas"][-1], Ended(102, "no ACK", True))
        self.assertEqual(p.sent["uas"][-1].method, "BYE")

    def test_reliableTransportSendsOnce(self):
        p = Pair()
        p.uas = InviteMachine("uas", Local(reliable=True))
        p.call()
        p.hold = True
        p.uasRespond(200, ANSWER)
        p.drop(lambda m: True)
        self.assertEqual(p.uas.nextDeadline(), 32.0)
        p.advance(31)
        self.assertEqual(p.methods("uas"), [200])

    def test_hangupBeforeAckWaitsForIt(self):
        p = Pair()
        p.call()
        p.hold = True
        p.uasRespond(200, ANSWER)
        self.assertEqual(p.uas.hangup(16, p.now), [])
        p.flush()
        self.assertEqual(p.methods("uas"), [200, "BYE"])
        self.assertTrue(p.uac.ended)
        self.assertTrue(p.uas.ended)


class CancelTests(unittest.TestCase):
    def test_cancelWhileRinging(self):
        p = Pair()
        p.call()
        p.uasRespond(180)
        p.run(p.uac, p.uac.cancel(p.now))
        self.assertEqual(p.methods("uas"), [180, 487])
        self.assertEqual(p.events["uas"][-1], Ended(16, "cancelled", True))
        self.assertEqual(p.events["uac"][-1], Ended(16, "cancelled", False))

    def test_cancelCrosses200(self):
        """§9.1: the 200 and the CANCEL cross; the caller ACKs and BYEs once."""
        p = Pair()
        p.call()
        p.hold = True
        p.uasRespond(200, ANSWER)
        ok = p.inflight.pop()
        p.run(p.uac, p.uac.cancel(p.now))
        p.flush()  # the CANCEL reaches an answered UAS: nothing happens
        self.assertEqual(p.uas.state, State.WAIT_ACK)
        p.inflight.append(ok)
        p.inflight.append(ok)  # and a retransmission
        p.flush()
        self.assertEqual(p.methods("uac"), ["INVITE", "CANCEL", "ACK", "BYE", "ACK"])
        self.assertTrue(p.uas.ended)
        self.assertEqual(p.events["uas"][-1].reason, "remote BYE")


class ByeTests(unittest.TestCase):
    def confirmed(self):
        p = Pair()
        p.call()
        p.uasRespond(200, ANSWER)
        return p

    def test_byesCross(self):
        p = self.confirmed()
        p.hold = True
        p.run(p.uac, p.uac.hangup(16, p.now))
        p.run(p.uas, p.uas.hangup(16, p.now))
        p.flush()
        self.assertEqual(p.methods("uac")[-1], 200)
        self.assertEqual(p.methods("uas")[-1], 200)
        self.assertTrue(p.uac.ended and p.uas.ended)

    def test_requestAfterByeIs481(self):
        p = self.confirmed()
        p.run(p.uac, p.uac.hangup(16, p.now))
        info = p.uac.request("INFO")
        self.assertEqual(p.uas.checkRequest(wire(info), p.now)[0].response.status, 481)

    def test_oldCSeqIs500(self):
        p = self.confirmed()
        first = p.uac.request("INFO")
        second = p.uac.request("INFO")
        self.assertIsNone(p.uas.checkRequest(wire(second), p.now))
        answer = p.uas.checkRequest(wire(first), p.now)[0].response
        self.assertEqual((answer.status, answer.headers.get("Retry-After")), (500, "1"))


class GlareTests(unittest.TestCase):
    def test_reinvitesCrossBothBackOff(self):
        """§14.1: both get 491; the UAS (not the Call-ID owner) retries first, then the UAC."""
        p = Pair(rand=lambda: 0.5)
        p.call()
        p.uasRespond(200, ANSWER)
        p.hold = True
        p.run(p.uac, p.uac.reinvite(p.now, OFFER))
        p.run(p.uas, p.uas.reinvite(p.now, OFFER))
        p.flush()
        self.assertEqual(p.methods("uac")[-1], 491)
        self.assertEqual(p.methods("uas")[-1], 491)
        self.assertEqual(p.uas.nextDeadline(), glareDelay(False, lambda: 0.5))
        self.assertEqual(p.uac.nextDeadline(), glareDelay(True, lambda: 0.5))
        p.hold = False
        p.advance(1.0)
        self.assertEqual(p.methods("uas")[-2:], ["INVITE", "ACK"])
        self.assertEqual(p.uac.nextDeadline(), 3.05)
        p.advance(3.05)
        self.assertEqual(p.methods("uac")[-2:], ["INVITE", "ACK"])
        self.assertEqual((p.uac.offerAnswer, p.uas.offerAnswer), (OfferAnswer.STABLE, OfferAnswer.STABLE))
        self.assertIsNone(p.uac.nextDeadline())

    def test_reinviteBeforeAckIs491(self):
        p = Pair()
        p.call()
        p.hold = True
        p.uasRespond(200, ANSWER)
        p.inflight.clear()
        early = p.uas.dialog  # a re-INVITE from the caller that overtakes its ACK
        h = Headers()
        h.add("Via", f"{A.via};branch={newBranch()}")
        h.add("From", "<sip:a@127.0.0.1>;tag=atag")
        h.add("To", f"<sip:b@127.0.0.1>;tag={early.localTag}")
        h.add("Call-ID", "call-1")
        h.add("CSeq", "103 INVITE")
        h.add("Contact", A.contact)
        h.add("Content-Length", "0")
        reinvite = wire(Request("INVITE", "sip:b@127.0.0.1:5062", h))
        self.assertEqual(p.uas.checkRequest(reinvite, p.now)[0].response.status, 491)

    def test_glareDelays(self):
        self.assertEqual(glareDelay(True, lambda: 0.0), 2.1)
        self.assertEqual(glareDelay(True, lambda: 1.0), 4.0)
        self.assertEqual(glareDelay(False, lambda: 1.0), 2.0)


class ReliableProvisionalTests(unittest.TestCase):
    def test_prackStopsRetransmission(self):
        p = Pair()
        p.call(headers=[("Require", "100rel"), ("Supported", "100rel")])
        self.assertTrue(p.uas.reliableProvisionals)
        p.hold = True
        p.uasRespond(183, ANSWER)
        p.drop(lambda m: True)  # lost
        p.advance(0.5)          # resent
        p.flush()               # PRACK, 200 PRACK
        provisional = [m for m in p.sent["uas"] if not m.isRequest and m.status == 183]
        self.assertEqual(len(provisional), 2)
        self.assertEqual(provisional[0].headers.get("Require"), "100rel")
        rseq = provisional[0].headers.get("RSeq")
        prack = [m for m in p.sent["uac"] if m.isRequest and m.method == "PRACK"]
        self.assertEqual(len(prack), 1)
        self.assertEqual(prack[0].headers.get("RAck"), f"{rseq} 102 INVITE")
        self.assertIsNone(p.uas.nextDeadline())
        self.assertEqual(p.uac.offerAnswer, OfferAnswer.STABLE)
        p.hold = False
        p.uasRespond(200)
        self.assertEqual(p.uac.state, State.CONFIRMED)
        self.assertEqual(p.kinds("uac"), [AnswerReceived, Progress, Answered])

    def test_secondReliableWaitsForPrack(self):
        p = Pair()
        p.call(headers=[("Require", "100rel")])
        p.hold = True
        p.uasRespond(180)
        p.uasRespond(183)
        self.assertEqual([m.status for _, m in p.inflight], [180])
        p.flush()
        statuses = [m.status for m in p.sent["uas"] if not m.isRequest]
        self.assertEqual(statuses, [180, 200, 183, 200])
        rseqs = [int(m.headers.get("RSeq")) for m in p.sent["uas"] if not m.isRequest and m.status > 100
                 and m.cseq.method == "INVITE"]
        self.assertEqual(rseqs[1], rseqs[0] + 1)

    def test_2xxWaitsForThePrack(self):
        """RFC 3262 §3: the answer comes after the PRACK of the reliable provisional."""
        p = Pair()
        p.call(headers=[("Require", "100rel")])
        p.hold = True
        p.uasRespond(180)
        p.uasRespond(200, ANSWER)
        self.assertEqual([m.status for _, m in p.inflight], [180])
        self.assertEqual(p.uas.state, State.EARLY)
        p.hold = False
        p.flush()
        self.assertEqual([m.status for m in p.sent["uas"] if not m.isRequest], [180, 200, 200])
        self.assertEqual(p.sent["uas"][-1].cseq.method, "INVITE")
        self.assertEqual((p.uac.state, p.uas.state), (State.CONFIRMED, State.CONFIRMED))

    def test_noPrackRejects(self):
        p = Pair()
        p.call(headers=[("Require", "100rel")])
        p.hold = True
        p.uasRespond(180)
        p.drop(lambda m: True)
        for t in (0.5, 1.5, 3.5, 7.5, 15.5, 31.5):
            p.advance(t)
            p.drop(lambda m: True)
        p.hold = False
        p.advance(32)
        self.assertEqual(p.methods("uas")[-1], 504)
        self.assertTrue(p.uas.ended)
        self.assertEqual(p.events["uas"][-1], Ended(16, "no PRACK", True))

    def test_unreliableWithoutRequire(self):
        p = Pair()
        p.call(headers=[("Supported", "100rel")])
        p.uasRespond(180)
        self.assertIsNone(p.sent["uas"][0].headers.get("RSeq"))
        self.assertEqual(p.methods("uac"), ["INVITE"])

    def test_strayPrackIs481(self):
        p = Pair()
        p.call(headers=[("Require", "100rel")])
        p.uasRespond(180)
        prack = p.uac.request("PRACK", headers=[("RAck", "999 102 INVITE")])
        self.assertEqual(p.uas.receivePrack(wire(prack), p.now)[0].response.status, 481)


class SessionTimerTests(unittest.TestCase):
    def confirmed(self):
        p = Pair()
        p.call()
        p.uasRespond(200, ANSWER)
        return p

    def test_refresherRefreshesAtHalf(self):
        p = self.confirmed()
        p.uac.startSessionTimer(SessionTimer(90, weRefresh=True, useUpdate=True), p.now)
        p.uas.startSessionTimer(SessionTimer(90, weRefresh=False), p.now)
        self.assertEqual(p.uac.nextDeadline(), 45)
        self.assertEqual(p.uas.nextDeadline(), 60)
        p.advance(45)
        self.assertEqual(p.methods("uac")[-1], "UPDATE")
        self.assertIn("refresher=uac", p.sent["uac"][-1].headers.get("Session-Expires"))
        p.advance(200)
        self.assertFalse(p.uas.ended)
        self.assertEqual(p.methods("uac").count("UPDATE"), 4)

    def test_reinviteRefreshCarriesTheSDP(self):
        p = self.confirmed()
        p.uac.startSessionTimer(SessionTimer(90, weRefresh=True), p.now)
        p.advance(45)
        refresh = [m for m in p.sent["uac"] if m.isRequest and m.method == "INVITE"][-1]
        self.assertEqual(refresh.body, OFFER)
        self.assertEqual(p.methods("uac")[-1], "ACK")

    def test_expiryEndsWithBye(self):
        p = self.confirmed()
        p.uas.startSessionTimer(SessionTimer(90, weRefresh=False), p.now)
        p.advance(59.9)
        self.assertFalse(p.uas.ended)
        p.advance(60)
        bye = p.sent["uas"][-1]
        self.assertEqual(bye.method, "BYE")
        self.assertIn("cause=102", bye.headers.get("Reason"))
        self.assertEqual(p.events["uac"][-1].reason, "remote BYE")
        self.assertEqual(p.events["uas"][-1], Ended(102, "session expired", True))


if __name__ == "__main__":
    unittest.main()
