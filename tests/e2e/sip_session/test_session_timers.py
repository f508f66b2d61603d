"""
RFC 4028 session timers end to end: SIPp callers against a PBX on the
shipped etc/ copied unchanged (only its ports rewritten), whose
res_sip_session_timers accepts timers with chan_sip's defaults (Min-SE 90).
The shortest interval the PBX accepts is 90 s, so these tests wait for the
PBX's refresh (45 s) or its expiry (60 s): each takes about a minute.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.e2e.sip_edges.support import sipp, startShippedPBX
from tests.e2e.sip_session import scenarios as s
from tests.e2e.sip_session.test_session_edges import BYE_ANSWER
from tests.sipp import check, writeScenario

WAIT = 'timeout="75000"'


class SessionTimerTests(unittest.TestCase):
    timeout = 150

    @defer.inlineCallbacks
    def setUp(self):
        self.pbx, self.port = yield startShippedPBX(self)
        self.events = []
        self.pbx.events.subscribe(self.events.append)

    @defer.inlineCallbacks
    def play(self, name, body):
        path = writeScenario(s.scenario(name, body), name.replace(" ", "_") + ".xml", self)
        result = yield sipp(path, self.port, service="100", timeout=110)
        check(self, result, name)

    def hangups(self):
        return [dict(e.fields) for e in self.events if e.name == "Hangup"]

    @defer.inlineCallbacks
    def test_uacRefreshesThenTheSessionExpires(self):
        """
        Session-Expires below Min-SE: 422 with Min-SE (Require: timer never
        gets 420); again with 90 and refresher=uac: 200 with Session-Expires
        naming the caller as refresher and Require: timer; the caller
        refreshes once by UPDATE (200 with Session-Expires), then falls
        silent: the PBX ends the call with BYE and a Reason.
        """
        small = ["Supported: timer", "Require: timer", "Session-Expires: 60", "Min-SE: 60"]
        fine = ["Supported: timer", "Require: timer", "Session-Expires: 90;refresher=uac", "Min-SE: 90"]
        okChecks = [("Session-Expires", "^90;refresher=uac"), ("Require", "timer")]
        body = (s.challenged(headers=small) + f"""
  <recv response="422">{s.action([("Min-SE", "^90")], "m")}
  </recv>{s.reference([1], "m")}""" + s.ack(2, uri="sip:[service]@[remote_ip]:[remote_port]")
                + s.invite(3, headers=fine) + f"""
  <recv response="100" optional="true"/>
  <recv response="401" optional="true" auth="true" next="again"/>
  <recv response="200" rrs="true">{s.action(okChecks, "o")}
  </recv>{s.reference(okChecks, "o")}
  <label id="again"/>""" + s.ack(3)
                + s.request("UPDATE", 4, headers=["Session-Expires: 90;refresher=uac", "Supported: timer"])
                + f"""
  <recv response="200">{s.action([("Session-Expires", "^90;refresher=uac")], "u")}
  </recv>{s.reference([1], "u")}
  <recv request="BYE" {WAIT}>{s.action([("Reason", "cause=102")], "r")}
  </recv>{s.reference([1], "r")}""" + BYE_ANSWER)
        yield self.play("timer expiry", body)
        hangups = self.hangups()
        self.assertEqual(len(hangups), 1)
        self.assertEqual(hangups[0]["Cause"], "102")

    @defer.inlineCallbacks
    def test_pbxRefreshesAndBacksOffOnGlare(self):
        """
        refresher=uas and no UPDATE in the caller's Allow: at half the
        interval the PBX refreshes with a re-INVITE. The caller's own
        re-INVITE crosses it: the PBX answers 491, the caller answers the
        PBX's with 491 too; the PBX tries again after RFC 3261 §14.1's
        back-off (0 to 2 s for the side that did not make the Call-ID), and
        that one is answered 200.
        """
        headers = ["Supported: timer", "Session-Expires: 90;refresher=uas",
                   "Allow: INVITE, ACK, CANCEL, BYE"]
        grab = "".join(
            f'\n      <ereg regexp=".*" search_in="hdr" header="{h}:" assign_to="p{i}"/>'
            for i, h in enumerate(("Via", "From", "To", "CSeq")))
        answer491 = """
  <send>
    <![CDATA[
      SIP/2.0 491 Request Pending
      Via:[$p0]
      From:[$p1]
      To:[$p2]
      Call-ID: [call_id]
      CSeq:[$p3]
      Content-Length: 0
    ]]>
  </send>"""
        answer200 = """
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:1001@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]
""" + s.SDP + """
    ]]>
  </send>"""
        checks = [("Session-Expires", "^90;refresher=uas")]
        answered = s.answered(headers=headers, checks=checks).replace(
            "<action>", '<action>\n      <ereg regexp=";tag=([^;>]+)" search_in="hdr" header="To:" assign_to="junk,pbxtag"/>')
        body = (answered + s.reference(checks) + '\n  <Reference variables="junk"/>' + s.ack(2) + f"""
  <recv request="INVITE" {WAIT}>
    <action>{grab}
    </action>
  </recv>
  <Reference variables="p0,p1,p2,p3"/>""" + s.request("INVITE", 3, body=s.SDP, to=";tag=[$pbxtag]") + """
  <recv response="100" optional="true"/>
  <recv response="491"/>""" + s.ack(3) + answer491 + """
  <recv request="ACK"/>
  <recv request="INVITE" timeout="5000"/>""" + answer200 + """
  <recv request="ACK"/>""" + s.request("BYE", 4, to=";tag=[$pbxtag]") + '\n  <recv response="200"/>')
        yield self.play("timer glare", body)
        self.assertEqual(len(self.hangups()), 1)
