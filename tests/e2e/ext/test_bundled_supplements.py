"""
The bundled SIP supplements on the wire: SIPp callers and callees around a
real PBX on loopback (chan_sip, res_sdp_rtp, Dial, Echo and the four
supplements), each test stating the headers sent and expected.
"""

import socket
import time

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests import scenarios
from tests.inprocess import modulesConf
from tests.e2e.sip_calls.support import check, freePort, sipp, startPBX

MODULES = modulesConf(
    "pbx_config", "chan_sip", "res_sdp_rtp", "app_dial", "app_echo", "res_sip_diversion",
    "res_sip_pai", "res_sip_header", "res_sip_session_timers")

# Its own sip.conf (not the shipped etc/): the bundled supplements are
# exercised against a SIPp callee peer at a test port with session-timer,
# diversion and header settings the sample's phones do not have.
SIP_CONF = """[general]
context = calls
allowguest = no
udpbindaddr = 127.0.0.1:0
useragent = txpbx-test

[open]
type = friend
host = dynamic
context = calls
disallow = all
allow = ulaw

[fast]
type = friend
host = dynamic
context = calls
disallow = all
allow = ulaw
session-expires = 2
session-minse = 1

[bob]
type = friend
host = 127.0.0.1
port = {bobPort}
context = calls
insecure = invite,port
disallow = all
allow = ulaw
sendrpid = pai
session-timers = originate
"""

EXTENSIONS = """[calls]
exten => divert,1,Set(GLOBAL(RDNIS)=${REDIRECTING(from-num)}/${REDIRECTING(reason)}/${REDIRECTING(count)})
 same => n,Dial(SIP/bob,10)
 same => n,Hangup()
exten => forward,1,Set(REDIRECTING(from-num)=3000)
 same => n,Set(REDIRECTING(reason)=no-answer)
 same => n,Set(REDIRECTING(count)=1)
 same => n,Dial(SIP/bob,10)
 same => n,Hangup()
exten => private,1,Dial(SIP/bob,10)
 same => n,Hangup()
exten => headers,1,SIPAddHeader(X-Echo: ${SIP_HEADER(X-Custom)})
 same => n,Set(SIP_ADDHEADER(X-Second)=${SIP_HEADER(X-Custom,2)})
 same => n,Set(GLOBAL(NOHEADER)=[${SIP_HEADER(X-Absent)}])
 same => n,Dial(SIP/bob,10)
 same => n,Hangup()
exten => echo,1,Answer()
 same => n,Echo()
"""


def portBound(port):
    """Whether something (SIPp) has bound UDP 127.0.0.1:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def waitBound(port, patience=20.0):
    deadline = time.monotonic() + patience
    while not portBound(port):
        if time.monotonic() > deadline:
            raise AssertionError(f"SIPp did not bind port {port}")
        time.sleep(0.05)


class BundledSupplementTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.bobPort = freePort()
        self.pbx, self.port = yield startPBX(self, extra={
            "modules.conf": MODULES,
            "sip.conf": SIP_CONF.format(bobPort=self.bobPort),
            "extensions.conf": EXTENSIONS,
        })
        for name in ("res_sip_diversion", "res_sip_pai", "res_sip_header",
                     "res_sip_session_timers"):
            self.assertIn(name, self.pbx.loader.modules)

    @defer.inlineCallbacks
    def twoLegs(self, exten, callerHeaders, calleeChecks, callerUser="open"):
        callee = sipp(scenarios.write(self, scenarios.callee(calleeChecks), "callee.xml"),
                      localPort=self.bobPort)
        yield threads.deferToThread(waitBound, self.bobPort)
        caller = yield sipp(scenarios.write(self, scenarios.caller(callerHeaders, user=callerUser),
                                            "caller.xml"), self.port, service=exten)
        callee = yield callee
        check(self, callee, "callee")
        check(self, caller, "caller")

    # -- res_sip_diversion -------------------------------------------------------

    @defer.inlineCallbacks
    def test_diversionInAndOut(self):
        yield self.twoLegs("divert", [
            ("Diversion", '"Desk" <sip:2000@127.0.0.1>;reason=user-busy;counter=2'),
        ], [
            ("Diversion", r'^"Desk" <sip:2000@127\.0\.0\.1>;reason=user-busy;counter=2$'),
            ("History-Info", r"^<sip:2000@127\.0\.0\.1>;index=1,<sip:divert@[^;]*;cause=486>;index=1\.1$"),
        ])
        self.assertEqual(self.pbx.globals["RDNIS"], "2000/user-busy/2")

    @defer.inlineCallbacks
    def test_historyInfoIn(self):
        yield self.twoLegs("divert", [
            ("History-Info", "<sip:alice@127.0.0.1>;index=1,"
                             "<sip:2001@127.0.0.1?Reason=SIP%3Bcause%3D408>;index=1.1"),
        ], [("Diversion", r"<sip:alice@127\.0\.0\.1>;reason=no-answer;counter=1")])
        self.assertEqual(self.pbx.globals["RDNIS"], "alice/no-answer/1")

    @defer.inlineCallbacks
    def test_dialplanRedirectingOut(self):
        yield self.twoLegs("forward", [], [
            ("Diversion", r"^<sip:3000@127\.0\.0\.1>;reason=no-answer;counter=1$")])

    # -- res_sip_pai -----------------------------------------------------------------

    @defer.inlineCallbacks
    def test_assertedIdentityAndPrivacy(self):
        yield self.twoLegs("private", [
            ("P-Asserted-Identity", '"Alice" <sip:5551000@127.0.0.1>'),
            ("Privacy", "id"),
        ], [
            ("P-Asserted-Identity", r'^"Alice" <sip:5551000@127\.0\.0\.1>$'),
            ("Privacy", "^id$"),
            ("From", r'^"Anonymous" <sip:anonymous@anonymous\.invalid>;tag='),
        ])

    @defer.inlineCallbacks
    def test_assertedIdentityWithoutPrivacy(self):
        yield self.twoLegs("private", [
            ("P-Asserted-Identity", '"Alice" <sip:5551000@127.0.0.1>'),
        ], [
            ("P-Asserted-Identity", r'^"Alice" <sip:5551000@127\.0\.0\.1>$'),
            ("From", r'^"Alice" <sip:5551000@'),
        ])

    # -- res_sip_header ----------------------------------------------------------------

    @defer.inlineCallbacks
    def test_readAndAddHeaders(self):
        yield self.twoLegs("headers", [("X-Custom", "first"), ("X-Custom", "second")], [
            ("X-Echo", "^first$"),
            ("X-Second", "^second$"),
        ])
        self.assertEqual(self.pbx.globals["NOHEADER"], "[]")

    # -- res_sip_session_timers ------------------------------------------------------------

    @defer.inlineCallbacks
    def test_intervalTooSmall422(self):
        scenario = scenarios.caller([("Supported", "timer"), ("Session-Expires", "30")],
                                    [("Min-SE", "^90$")], status=422)
        result = yield sipp(scenarios.write(self, scenario, "caller.xml"), self.port,
                            service="echo")
        check(self, result, "422")

    @defer.inlineCallbacks
    def test_pbxRefreshesWithUpdate(self):
        scenario = scenarios.caller(
            [("Supported", "timer"), ("Session-Expires", "2;refresher=uas"),
             ("Allow", "INVITE, ACK, CANCEL, BYE, UPDATE")],
            [("Session-Expires", "^2;refresher=uas$")],
            end="bye", user="fast",
            then=scenarios.inDialogAnswer("UPDATE", [("Session-Expires", "^2;refresher=uac$")],
                                          headers=[("Session-Expires", "2;refresher=uac")])
            + scenarios.inDialogAnswer("UPDATE", [("Session-Expires", "^2;refresher=uac$")],
                                       headers=[("Session-Expires", "2;refresher=uac")]))
        result = yield sipp(scenarios.write(self, scenario, "caller.xml"), self.port,
                            service="echo")
        check(self, result, "refreshed call")

    @defer.inlineCallbacks
    def test_pbxRefreshesWithReInvite(self):
        reinvite = """
  <recv request="INVITE">
    <action>
      <ereg regexp="^ *2;refresher=uac$" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="r"/>
    </action>
  </recv>
  <Reference variables="r"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:fast@[local_ip]:[local_port]>
      Session-Expires: 2;refresher=uac
      Content-Type: application/sdp
      Content-Length: [len]
""" + scenarios.SDP + """
    ]]>
  </send>
  <recv request="ACK"/>"""
        scenario = scenarios.caller(
            [("Supported", "timer"), ("Session-Expires", "2;refresher=uas"),
             ("Allow", "INVITE, ACK, CANCEL, BYE")],
            [("Session-Expires", "^2;refresher=uas$")], end="bye", user="fast", then=reinvite)
        result = yield sipp(scenarios.write(self, scenario, "caller.xml"), self.port,
                            service="echo")
        check(self, result, "re-INVITE refresh")

    @defer.inlineCallbacks
    def test_pbxHangsUpOnExpiry(self):
        scenario = scenarios.caller(
            [("Supported", "timer"), ("Session-Expires", "2;refresher=uac")],
            [("Session-Expires", "^2;refresher=uac$"), ("Require", "timer")],
            end="wait", user="fast")
        hangups = []
        self.pbx.events.subscribe(lambda e: hangups.append(e) if e.name == "Hangup" else None)
        result = yield sipp(scenarios.write(self, scenario, "caller.xml"), self.port,
                            service="echo")
        check(self, result, "expired call")
        self.assertEqual([e.get("Cause") for e in hangups], ["102"])

    @defer.inlineCallbacks
    def test_outgoingInviteOffersTimers(self):
        yield self.twoLegs("private", [], [
            ("Session-Expires", "^1800$"), ("Min-SE", "^90$"), ("Supported", "timer")])
