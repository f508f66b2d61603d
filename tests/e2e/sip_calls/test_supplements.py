"""
Session supplements on a real call: a test supplement registered in the
running PBX's "sip.supplement" registry sees every request and response of
an incoming call in order, claims INFO, and its cookie is destroyed at hangup.
"""

from twisted.internet import defer
from twisted.trial import unittest

from channels.sip.interfaces import SessionSupplement
from tests.e2e.sip_calls.support import check, sipp, startPBX


class Recorder(SessionSupplement):
    priority = 10

    def __init__(self, claim=()):
        self.seen = []
        self.destroyed = []
        self.claim = claim

    def sessionBegin(self, session):
        self.seen.append(("begin",))
        session.addCookie("recorder", session.callId, self.destroyed.append)

    def sessionEnd(self, session):
        self.seen.append(("end",))

    def incomingRequest(self, session, request):
        self.seen.append(("in", request.method))
        if request.method in self.claim:
            session.respond(request, 200, "Claimed")
            return True
        return False


    def incomingResponse(self, session, response):
        self.seen.append(("in", response.status))

    def outgoingRequest(self, session, request):
        self.seen.append(("out", request.method))

    def outgoingResponse(self, session, response):
        self.seen.append(("out", response.status, response.cseq.method))


class Later(Recorder):
    priority = 20


class SupplementTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_supplementSeesTheWholeCall(self):
        pbx, port = yield startPBX(self)
        recorder = Recorder(claim=("INFO",))
        later = Later()
        registry = pbx.registry("sip.supplement")
        registry.add(later)
        registry.add(recorder)
        events = []
        pbx.events.subscribe(events.append)
        result = yield sipp("in_dialog.xml", port, service="echo")
        check(self, result, "in_dialog.xml")
        self.assertEqual(recorder.seen, [
            ("begin",),
            ("in", "INVITE"),
            ("out", 100, "INVITE"),
            ("out", 200, "INVITE"),
            ("in", "ACK"),
            ("in", "OPTIONS"),
            ("out", 200, "OPTIONS"),
            ("in", "INFO"),
            ("out", 200, "INFO"),
            ("in", "INFO"),
            ("out", 200, "INFO"),
            ("in", "BYE"),
            ("out", 200, "BYE"),
            ("end",),
        ])
        # The lower priority ran first and claimed both INFOs: the later one never saw them,
        # and no DTMF reached the channel.
        self.assertNotIn(("in", "INFO"), later.seen)
        self.assertEqual([e for e in events if e.name == "DTMFEnd"], [])
        self.assertEqual(len(recorder.destroyed), 1)
