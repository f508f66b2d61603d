"""
REFER blind transfer: A calls B through the PBX, B REFERs A to C (carol);
B gets 202 and the NOTIFYs, A ends up talking to C.
"""

from twisted.internet import defer
from twisted.trial import unittest

from tests.e2e.sip_calls.support import check, freePort, sipp, startPBX, waitBound


class BlindTransferTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_referSendsTheCallerToCarol(self):
        bobPort, carolPort = freePort(), freePort()
        pbx, port = yield startPBX(self, bobPort=bobPort, carolPort=carolPort)
        events = []
        pbx.events.subscribe(events.append)
        bob = sipp("uas_refer.xml", localPort=bobPort)
        carol = sipp("uas_answer.xml", localPort=carolPort)
        yield waitBound(bobPort)
        yield waitBound(carolPort)
        alice = yield sipp("uac_call_long.xml", port, service="bob")
        check(self, alice, "caller A")
        check(self, (yield bob), "transferor B")
        check(self, (yield carol), "transfer target C")
        bridged = [dict(e.fields)["Channel"] for e in events if e.name == "BridgeEnter"]
        self.assertTrue(any(name.startswith("SIP/carol-") for name in bridged), bridged)
        # A's call moved to a new channel that was bridged with carol.
        callers = [name for name in bridged if name.startswith("SIP/open-")]
        self.assertEqual(len(set(callers)), 2, bridged)
