"""
Session supplements and SDP handlers as modules see them: priority order,
the first claimer stops the chain, each session keeps the supplements it
began with, cookies are destroyed when the call ends, SDP handlers chain
per media type and an unclaimed stream is refused with port 0.
"""

from channels.sip.interfaces import SDPHandler, SessionSupplement
from channels.sip.wire.sdp import Media, parseSDP

from tests.shell.ext.harness import OFFER, SessionHarness, invite


class Recorder(SessionSupplement):
    def __init__(self, name, log, priority=0, method=None, claim=None):
        self.name = name
        self.log = log
        self.priority = priority
        self.method = method
        self.claim = claim

    def sessionBegin(self, session):
        self.log.append((self.name, "begin"))

    def sessionEnd(self, session):
        self.log.append((self.name, "end"))

    def sessionDestroy(self, session):
        self.log.append((self.name, "destroy"))

    def incomingRequest(self, session, request):
        self.log.append((self.name, request.method))
        if self.claim is not None and request.method == "INVITE":
            session.respond(request, self.claim, "Forbidden")
            return True
        return False

    def outgoingResponse(self, session, response):
        self.log.append((self.name, response.status))


def answered(h, request=None):
    session, st = h.incoming(request or invite())
    session.answer()
    h.ack(session)
    return session, st


def test_priorityOrder():
    h = SessionHarness()
    log = []
    h.supplements.add(Recorder("late", log, priority=20))
    h.supplements.add(Recorder("early", log, priority=5))
    h.supplements.add(Recorder("middle", log, priority=10))
    h.incoming(invite())
    assert [n for n, what in log if what == "INVITE"] == ["early", "middle", "late"]
    assert [n for n, what in log if what == "begin"] == ["early", "middle", "late"]


def test_firstClaimerStopsTheChain():
    h = SessionHarness()
    log = []
    h.supplements.add(Recorder("gate", log, priority=1, claim=403))
    h.supplements.add(Recorder("after", log, priority=2))
    session, st = h.incoming(invite())
    assert ("gate", "INVITE") in log
    assert ("after", "INVITE") not in log
    assert [r.status for r in st.responses] == [403]
    assert session.state == "terminated"
    # The claimer's response still went through every supplement's outgoingResponse.
    assert ("after", 403) in log
    assert ("after", "destroy") in log


def test_methodFilter():
    h = SessionHarness()
    log = []
    h.supplements.add(Recorder("invites", log, method="INVITE"))
    session, _ = answered(h)
    h.inDialog(session, "BYE", 2)
    assert ("invites", "INVITE") in log
    assert ("invites", "BYE") not in log


def test_perSessionSnapshot():
    h = SessionHarness()
    log = []
    h.supplements.add(Recorder("first", log))
    session, _ = answered(h)
    h.supplements.add(Recorder("second", log))
    st = h.inDialog(session, "BYE", 2)
    assert st.responses[-1].status == 200
    assert ("first", "BYE") in log
    assert not [e for e in log if e[0] == "second"]
    # A session that begins now takes both.
    other, _ = h.incoming(invite(callId="call-2", fromTag="from-2"))
    assert ("second", "INVITE") in log
    assert other.supplements[-1].name == "second"


def test_snapshotSurvivesRemoval():
    h = SessionHarness()
    log = []
    supplement = Recorder("gone", log)
    h.supplements.add(supplement)
    session, _ = answered(h)
    h.supplements.remove(supplement)
    h.inDialog(session, "BYE", 2)
    assert ("gone", "BYE") in log and ("gone", "destroy") in log


def test_cookieDestroyedOnHangup():
    h = SessionHarness()
    destroyed = []

    class Cookie(SessionSupplement):
        def sessionBegin(self, session):
            session.addCookie("example", {"calls": 1}, destroyed.append)

    h.supplements.add(Cookie())
    session, _ = answered(h)
    assert session.getCookie("example") == {"calls": 1}
    assert destroyed == []
    h.inDialog(session, "BYE", 2)
    assert destroyed == [{"calls": 1}]
    assert session.getCookie("example") is None


def test_cookieReplacedAndRemoved():
    h = SessionHarness()
    session, _ = h.incoming(invite())
    destroyed = []
    session.addCookie("c", 1, destroyed.append)
    session.addCookie("c", 2, destroyed.append)
    assert destroyed == [1]
    assert session.removeCookie("c") == 2
    assert destroyed == [1, 2]


class Audio(SDPHandler):
    mediaType = "audio"

    def __init__(self, name, port, log):
        self.name = name
        self.port = port
        self.log = log

    def negotiateIncomingStream(self, session, stream, offer, media):
        self.log.append(self.name)
        if self.port is None:
            return None
        return Media("audio", self.port, media.proto, ("0",),
                     attributes=(("rtpmap", "0 PCMU/8000"),))

    def applyNegotiatedStream(self, session, stream, local, remote):
        self.log.append((self.name, "apply", local.port, remote.port))

    def streamDestroy(self, session, stream):
        self.log.append((self.name, "destroy"))


def test_sdpHandlerChain():
    h = SessionHarness(audio=False)
    log = []
    h.sdpHandlers.add(Audio("decliner", None, log))
    h.sdpHandlers.add(Audio("claimer", 41000, log))
    session, _ = answered(h)
    assert log[:2] == ["decliner", "claimer"]
    assert ("claimer", "apply", 41000, 40000) in log
    assert session.streams[0].handler.name == "claimer"
    answer = parseSDP(session.localSDP.toBytes())
    assert answer.media[0].port == 41000
    h.inDialog(session, "BYE", 2)
    assert ("claimer", "destroy") in log


def test_unknownMediaTypeRefused():
    h = SessionHarness(audio=False)
    log = []
    h.sdpHandlers.add(Audio("audio", 41000, log))
    body = OFFER + "m=application 40002 UDP/BFCP *\r\nm=video 40004 RTP/AVP 96\r\n"
    session, st = h.incoming(invite(body=body))
    session.answer()
    answer = parseSDP(st.responses[-1].body)
    assert [(m.mediaType, m.port) for m in answer.media] == [
        ("audio", 41000), ("application", 0), ("video", 0)]


def test_noStreamAccepted488():
    h = SessionHarness(audio=False)
    log = []
    h.sdpHandlers.add(Audio("decliner", None, log))
    session, st = h.incoming(invite())
    assert st.responses[-1].status == 488
    assert session.state == "terminated"
