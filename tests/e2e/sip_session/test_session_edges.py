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
