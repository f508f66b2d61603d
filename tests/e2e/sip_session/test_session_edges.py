"""
INVITE sessions at the edges (issue 20, point 5), each a SIPp scenario
written here, played against a PBX on the shipped etc/ copied unchanged
(only its ports rewritten): the caller logs in as 1001 and calls the
sample dialplan's echo test, 100.
"""

import os

from twisted.internet import defer
from twisted.trial import unittest

from tests.e2e.sip_edges.support import sipp, startShippedPBX
from tests.e2e.sip_session import scenarios as s
from tests.sipp import check, writeScenario

BYE_ANSWER = """
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>"""


def byeWithReason(regexp):
    return f"""
  <recv request="BYE">{s.action([("Reason", regexp)], "r")}
  </recv>{BYE_ANSWER}"""


class SessionEdgeTests(unittest.TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def setUp(self):
        self.pbx, self.port = yield startShippedPBX(self)
        self.events = []
        self.pbx.events.subscribe(self.events.append)

    @defer.inlineCallbacks
    def play(self, name, body, service="100", extra=()):
        path = writeScenario(s.scenario(name, body), name.replace(" ", "_") + ".xml", self)
        result = yield sipp(path, self.port, service=service, extra=extra)
        check(self, result, name)
        return result[1]

    def hangups(self):
        return [dict(e.fields) for e in self.events if e.name == "Hangup"]

    # -- late offer -------------------------------------------------------------------

    @defer.inlineCallbacks
    def test_lateOfferAnswerInAck(self):
        """INVITE without SDP: the 200 carries our offer, the ACK the answer; the call goes on."""
        checks = [("body", "m=audio [0-9]+ RTP/AVP"), ("Content-Type", "application/sdp")]
        yield self.play("late offer", s.answered(sdp=False, checks=checks) + s.reference(checks)
                        + s.ack(2, body=s.SDP) + '\n  <pause milliseconds="300"/>'
                        + s.request("BYE", 3) + '\n  <recv response="200"/>')
        self.assertEqual(len(self.hangups()), 1)
        self.assertEqual(self.hangups()[0]["Cause"], "16")

    @defer.inlineCallbacks
    def test_lateOfferAckWithoutAnswer(self):
        """An ACK with no answer to the 200's offer: the PBX ends the call with BYE and a Reason."""
        yield self.play("late offer no answer", s.answered(sdp=False) + s.ack(2)
                        + byeWithReason("Q.850;cause=111") + s.reference([1], "r"))
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_lateOfferUnacceptableAnswer(self):
        """An answer with none of the offered formats: BYE with a Reason."""
        answer = s.SDP.replace("RTP/AVP 0", "RTP/AVP 18").replace("0 PCMU/8000", "18 G729/8000")
        yield self.play("late offer bad answer", s.answered(sdp=False) + s.ack(2, body=answer)
                        + byeWithReason("Q.850;cause=88") + s.reference([1], "r"))
        self.assertEqual(len(self.hangups()), 1)

    # -- after the end, races ---------------------------------------------------------

    @defer.inlineCallbacks
    def test_requestsAfterByeAre481(self):
        """Once the call is over, INFO and a second BYE in its dialog get 481."""
        yield self.play("after bye", s.answered() + s.ack(2) + '\n  <pause milliseconds="200"/>'
                        + s.request("BYE", 3) + '\n  <recv response="200"/>'
                        + s.request("INFO", 4) + '\n  <recv response="481"/>'
                        + s.request("BYE", 5) + '\n  <recv response="481"/>')
        self.assertEqual(len(self.hangups()), 1)

    @defer.inlineCallbacks
    def test_cancelAfter200HasNoEffect(self):
        """
        The caller's CANCEL crosses the 200: it is answered 200 and changes
        nothing (RFC 3261 §9.2); the caller ACKs and the call goes on to its BYE.
        """
        cancel = """
  <send>
    <![CDATA[
      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-5]
      """ + s.FROM + """
      """ + s.TO + """
      Call-ID: [call_id]
      CSeq: 2 CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>"""
        yield self.play("cancel after 200", s.answered() + cancel + s.ack(2)
                        + '\n  <pause milliseconds="300"/>' + s.request("BYE", 3)
                        + '\n  <recv response="200"/>')
        hangups = self.hangups()
        self.assertEqual(len(hangups), 1)
        self.assertEqual(hangups[0]["Cause"], "16")

    @defer.inlineCallbacks
    def test_reinviteBeforeAckIs491(self):
        """A re-INVITE that overtakes the ACK of the 200: 491 Request Pending (RFC 3261 §14.2)."""
        yield self.play("reinvite glare", s.answered()
                        + s.request("INVITE", 3, body=s.SDP) + '\n  <recv response="491"/>'
                        + s.ack(3) + s.ack(2) + '\n  <pause milliseconds="200"/>'
                        + s.request("INVITE", 4, body=s.SDP) + '\n  <recv response="200"/>'
                        + s.ack(4) + s.request("BYE", 5) + '\n  <recv response="200"/>')
        self.assertEqual(len(self.hangups()), 1)

    # -- RFC 3891 Replaces -------------------------------------------------------------

    @defer.inlineCallbacks
    def test_replacesNoSuchDialogIs481(self):
        replaces = ["Replaces: no-such-call@x;to-tag=a;from-tag=b"]
        yield self.play("replaces unknown", s.challenged(headers=replaces)
                        + '\n  <recv response="481"/>'
                        + s.ack(2, uri="sip:[service]@[remote_ip]:[remote_port]"))
        self.assertEqual([e for e in self.events if e.name == "Newchannel"], [])

    @defer.inlineCallbacks
    def test_twoReplacesAre400(self):
        """More than one Replaces: 400, before any challenge."""
        yield self.play("replaces twice", s.invite(1, auth=False, headers=[
            "Replaces: a@x;to-tag=a;from-tag=b", "Replaces: c@x;to-tag=c;from-tag=d"])
            + '\n  <recv response="100" optional="true"/>\n  <recv response="400"/>'
            + s.ack(1, uri="sip:[service]@[remote_ip]:[remote_port]"))

    def established(self):
        """The call to 100 up, the PBX's To tag in $pbxtag."""
        return s.answered().replace('<recv response="200" rrs="true">', """<recv response="200" rrs="true">
    <action>
      <ereg regexp=";tag=([^;>]+)" search_in="hdr" header="To:" assign_to="junk,pbxtag"/>
    </action>""") + s.ack(2) + '\n  <Reference variables="junk"/>'

    @defer.inlineCallbacks
    def test_replacesTakesOverAnEstablishedCall(self):
        """
        A second dialog's INVITE with Replaces naming the first (the end of
        an attended transfer, as the phone that completes it sends it): the
        new dialog is answered, the old one gets BYE, the channel stays up
        (one channel only) until the new dialog's BYE.
        """
        replaces = ["Replaces: [call_id];to-tag=[$pbxtag];from-tag=[pid]t[call_number]"]
        yield self.play("replaces takeover", self.established()
                        + s.challenged(headers=replaces, cseq=1, tag="[pid]r[call_number]")
                        + '\n  <recv response="200" rrs="true"/>'
                        + s.ack(2, tag="[pid]r[call_number]")
                        + '\n  <recv request="BYE"/>' + BYE_ANSWER
                        + '\n  <pause milliseconds="300"/>'
                        + s.request("BYE", 3, tag="[pid]r[call_number]") + '\n  <recv response="200"/>')
        channels = [e for e in self.events if e.name == "Newchannel"]
        self.assertEqual(len(channels), 1)
        hangups = self.hangups()
        self.assertEqual(len(hangups), 1)
        self.assertEqual(hangups[0]["Channel"], dict(channels[0].fields)["Channel"])

    @defer.inlineCallbacks
    def test_replacesEarlyOnlyOnAnEstablishedCallIs486(self):
        replaces = ["Replaces: [call_id];to-tag=[$pbxtag];from-tag=[pid]t[call_number];early-only"]
        yield self.play("replaces early-only", self.established()
                        + s.challenged(headers=replaces, cseq=1, tag="[pid]r[call_number]")
                        + '\n  <recv response="486"/>'
                        + s.ack(2, uri="sip:[service]@[remote_ip]:[remote_port]", tag="[pid]r[call_number]")
                        + s.request("BYE", 3, to=";tag=[$pbxtag]") + '\n  <recv response="200"/>')
        self.assertEqual(len([e for e in self.events if e.name == "Newchannel"]), 1)
