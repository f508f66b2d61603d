"""
RFC 3262 reliable provisional responses and RFC 4028 timers on the PBX's
outgoing leg, end to end on the shipped etc/ copied unchanged (only its
ports rewritten): SIPp registers as 1002 and answers as its phone, SIPp as
1001 calls 1002 through the sample dialplan (Dial(SIP/1002)).

The callee answers with Session-Expires: 90;refresher=uac, so the PBX (the
UAC of that leg) must refresh at 45 s: the test takes about a minute.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests import scenarios as common
from tests.e2e.sip_edges.support import sipp, startShippedPBX
from tests.e2e.sip_session import scenarios as s
from tests.sipp import check, freePort, runDeferred, sippArgs, writeScenario

GRAB = "".join(
    f'\n      <ereg regexp=".*" search_in="hdr" header="{h}:" assign_to="{v}"/>'
    for h, v in (("Via", "iv"), ("From", "remote"), ("To", "it"), ("CSeq", "ic")))

CALLEE = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="1002 answers with a reliable 180 and a session timer">
  <recv request="INVITE" rrs="true">
    <action>""" + GRAB + """
      <ereg regexp="100rel" search_in="hdr" header="Supported:" check_it="true" assign_to="k0"/>
      <ereg regexp="timer" search_in="hdr" header="Supported:" check_it="true" assign_to="k1"/>
    </action>
  </recv>
  <Reference variables="iv,it,ic,k0,k1"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]b[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:1002@[local_ip]:[local_port]>
      Require: 100rel
      RSeq: 1
      Content-Length: 0
    ]]>
  </send>
  <recv request="PRACK">
    <action>
      <ereg regexp="^ *1 [0-9]+ INVITE" search_in="hdr" header="RAck:" check_it="true" assign_to="k2"/>
    </action>
  </recv>
  <Reference variables="k2"/>
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
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      Via:[$iv]
      From:[$remote]
      To:[$it];tag=[pid]b[call_number]
      Call-ID: [call_id]
      CSeq:[$ic]
      Contact: <sip:1002@[local_ip]:[local_port]>
      Allow: INVITE, ACK, CANCEL, BYE, UPDATE, PRACK
      Session-Expires: 90;refresher=uac
      Require: timer
      Content-Type: application/sdp
      Content-Length: [len]
""" + s.SDP + """
    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="UPDATE" timeout="75000">
    <action>
      <ereg regexp="^ *90;refresher=uac" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="k3"/>
    </action>
  </recv>
  <Reference variables="k3"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Session-Expires: 90;refresher=uac
      Require: timer
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1002@[local_ip]:[local_port]>;tag=[pid]b[call_number]
      To:[$remote]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""

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


def caller():
    require = ["Supported: 100rel", "Require: 100rel"]
    body = s.challenged(headers=require) + """
  <recv response="180" rrs="true">
    <action>
      <ereg regexp="100rel" search_in="hdr" header="Require:" check_it="true" assign_to="c0"/>
      <ereg regexp="[0-9]+" search_in="hdr" header="RSeq:" check_it="true" assign_to="rseq"/>
    </action>
  </recv>
  <Reference variables="c0"/>""" + s.request("PRACK", 3, headers=["RAck: [$rseq] 2 INVITE"]) + """
  <recv response="200"/>
  <recv response="200" rrs="true"/>""" + s.ack(2) + """
  <recv request="BYE" timeout="75000"/>""" + BYE_ANSWER
    return s.scenario("1001 requires 100rel", body)


class ReliableProvisionalTests(unittest.TestCase):
    timeout = 150

    @defer.inlineCallbacks
    def test_reliableProvisionalsBothWaysAndOutgoingTimer(self):
        """
        1001 requires 100rel: the PBX's 180 carries Require: 100rel and RSeq,
        the PRACK is answered and the 200 follows it. 1002's reliable 180 is
        PRACKed by the PBX (whose INVITE says Supported: 100rel, timer);
        1002's 200 asks the PBX to refresh, which it does by UPDATE at half
        the interval; 1002 hangs up and the PBX hangs up 1001.
        """
        pbx, port = yield startShippedPBX(self)
        events = []
        pbx.events.subscribe(events.append)
        phonePort = freePort()
        register = common.register(
            user="1002", authentication="[authentication username=1002 password=change-me-1002]",
            headers=[f"Contact: <sip:1002@127.0.0.1:{phonePort}>", "Expires: 300"])
        # From the phone's own port: the sample's nat = comedia answers to the source.
        result = yield runDeferred(sippArgs(writeScenario(register, "register.xml", self), port,
                                            localPort=phonePort))
        check(self, result, "REGISTER 1002")
        callee = runDeferred(sippArgs(writeScenario(CALLEE, "callee.xml", self), None,
                                      localPort=phonePort, timeout=110, extra=("-aa",)))
        result = yield sipp(writeScenario(caller(), "caller.xml", self), port, service="1002",
                            timeout=110)
        check(self, result, "caller 1001")
        check(self, (yield callee), "callee 1002")
        hangups = [dict(e.fields) for e in events if e.name == "Hangup"]
        self.assertEqual(len(hangups), 2)


CALLEE_422 = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="1002 wants a longer session interval">
  <recv request="INVITE">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 422 Session Interval Too Small
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]x[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Min-SE: 120
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp="^ *1[2-9][0-9]|^ *[2-9][0-9][0-9]|^ *[0-9]{4,}" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="k0"/>
      <ereg regexp="^ *120" search_in="hdr" header="Min-SE:" check_it="true" assign_to="k1"/>
    </action>
  </recv>
  <Reference variables="k0,k1"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]b[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:1002@[local_ip]:[local_port]>
      Session-Expires: 120;refresher=uas
      Content-Type: application/sdp
      Content-Length: [len]
""" + s.SDP + """
    ]]>
  </send>
  <recv request="ACK"/>
  <pause milliseconds="300"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1002@[local_ip]:[local_port]>;tag=[pid]b[call_number]
      To:[$remote]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


def plainCaller():
    body = s.challenged() + """
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>""" + s.ack(2) + """
  <recv request="BYE"/>""" + BYE_ANSWER
    return s.scenario("1001 calls 1002", body)


class OutgoingTimerTests(unittest.TestCase):
    timeout = 90

    @defer.inlineCallbacks
    def test_422FromTheCalleeIsRetriedWithItsMinSE(self):
        """
        RFC 4028 §7.4 as UAC: the callee answers the PBX's INVITE 422 with
        Min-SE: 120; the PBX sends it again with Session-Expires of at least
        120 and Min-SE: 120, and that one is answered.
        """
        pbx, port = yield startShippedPBX(self)
        events = []
        pbx.events.subscribe(events.append)
        phonePort = freePort()
        register = common.register(
            user="1002", authentication="[authentication username=1002 password=change-me-1002]",
            headers=[f"Contact: <sip:1002@127.0.0.1:{phonePort}>", "Expires: 300"])
        result = yield runDeferred(sippArgs(writeScenario(register, "register.xml", self), port,
                                            localPort=phonePort))
        check(self, result, "REGISTER 1002")
        callee = runDeferred(sippArgs(writeScenario(CALLEE_422, "callee422.xml", self), None,
                                      localPort=phonePort, timeout=40, extra=("-aa",)))
        result = yield sipp(writeScenario(plainCaller(), "caller.xml", self), port, service="1002",
                            timeout=40)
        check(self, result, "caller 1001")
        check(self, (yield callee), "callee 1002")
        self.assertEqual(len([e for e in events if e.name == "Hangup"]), 2)
