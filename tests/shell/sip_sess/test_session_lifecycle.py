"""
Session supplements beyond the basics: lifecycle hooks reach supplements
whatever method they filter on, a claimed in-dialog request is answered on
its own server transaction, re-INVITE/UPDATE refreshes below Min-SE get 422
(RFC 4028 section 8.1), and a UAC sends its INVITE again after a 422 with the
raised Min-SE (section 7.4) through L{InviteSession.resendInvite}.
"""

from types import SimpleNamespace

import pytest

from channels.sip.interfaces import SessionSupplement
from channels.sip.wire.message import makeResponse
from channels.sip.driver.session import SessionError
from channels.sip.testing import OFFER, SIPSessionHarness, sipSource, sipInDialog, sipInvite
from channels.sip.testing import FakeServerTransaction
from plugins.res_sip_session_timers import COOKIE, SessionTimerSupplement


class Lifecycle(SessionSupplement):
    method = "INVITE"

    def __init__(self):
        self.log = []

    def sessionBegin(self, session):
        self.log.append("begin")

    def sessionEnd(self, session):
        self.log.append("end")

    def sessionDestroy(self, session):
        self.log.append("destroy")

    def incomingRequest(self, session, request):
        self.log.append(request.method)
        return False


class Owner:
    def __init__(self):
        self.failed = []
        self.answered = []
        self.terminated = []

    def sessionFailed(self, session, response):
        self.failed.append(response.status)

    def sessionAnswered(self, session, response):
        self.answered.append(response.status)

    def sessionTerminated(self, session, cause):
        self.terminated.append(cause)


def answeredUAS(h, headers=()):
    session, st = h.incoming(sipInvite(extraHeaders=headers))
    session.owner = Owner()
    session.answer()
    h.ack(session)
    return session, st


def test_lifecycleHooksReachMethodFilteredSupplements():
    """A supplement for INVITE sees begin, end and destroy, and no BYE."""
    h = SIPSessionHarness()
    supplement = Lifecycle()
    h.supplements.add(supplement)
    session, st = answeredUAS(h)
    h.inDialog(session, "BYE", 2)
    assert supplement.log == ["begin", "INVITE", "end", "destroy"]


def test_lifecycleHooksOnRejectedUAC():
    h = SIPSessionHarness()
    supplement = Lifecycle()
    h.supplements.add(supplement)
    session = h.manager.newSession("uac", sipSource())
    session.owner = Owner()
    session.startOutgoing("sip:bob@127.0.0.1:5070", "<sip:bob@127.0.0.1:5070>",
                          "<sip:100@127.0.0.1>")
    h.stack.transactions.sent[-1][2](makeResponse(h.sent[-1], 486, toTag="callee"))
    assert supplement.log == ["begin", "end", "destroy"]


class InfoClaimer(SessionSupplement):
    """Claims INFO and answers it later, as an asynchronous module would."""

    method = "INFO"

    def __init__(self):
        self.claimed = []

    def incomingRequest(self, session, request):
        self.claimed.append(request)
        return True


def test_claimedInDialogRequestAnsweredOnItsTransaction():
    h = SIPSessionHarness()
    claimer = InfoClaimer()
    h.supplements.add(claimer)
    session, inviteST = answeredUAS(h)
    before = list(inviteST.responses)
    infoST = h.inDialog(session, "INFO", 2, body=b"Signal=5\r\n",
                        extraHeaders=[("Content-Type", "application/dtmf-relay")])
    assert infoST.responses == []
    info = claimer.claimed[-1]
    assert session.serverTransaction(info) is infoST
    # Another request comes in before the claimer answers.
    optionsST = h.inDialog(session, "OPTIONS", 3)
    assert [r.status for r in optionsST.responses] == [200]
    session.respond(info, 200, "OK")
    assert [(r.status, r.cseq.method) for r in infoST.responses] == [(200, "INFO")]
    assert inviteST.responses == before
    assert session.serverTransaction(info) is None


def timersHarness():
    h = SIPSessionHarness()
    h.supplements.add(SessionTimerSupplement())
    return h


@pytest.mark.parametrize("method", ["INVITE", "UPDATE"])
def test_refreshBelowMinSEGets422(method):
    h = timersHarness()
    session, inviteST = answeredUAS(h, [("Supported", "timer"), ("Session-Expires", "120")])
    state = session.getCookie(COOKIE)
    body = OFFER.encode() if method == "INVITE" else b""
    headers = [("Session-Expires", "30;refresher=uac"), ("Supported", "timer")]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    st = h.inDialog(session, method, 2, extraHeaders=headers, body=body)
    assert [r.status for r in st.responses] == [422]
    assert st.responses[0].headers.get("Min-SE") == "90"
    assert st.responses[0].cseq.method == method
    assert session.state == "confirmed"
    assert state.interval == 120
    # A refresh at or above Min-SE is accepted and taken.
    headers[0] = ("Session-Expires", "100;refresher=uac")
    st = h.inDialog(session, method, 3, extraHeaders=headers, body=body)
    assert [r.status for r in st.responses] == [200]
    assert state.interval == 100


def uacCall(h, extra=None):
    session = h.manager.newSession("uac", sipSource())
    session.owner = Owner()
    if extra is not None:
        session.peer = SimpleNamespace(extra=extra)
    session.startOutgoing("sip:bob@127.0.0.1:5070", "<sip:bob@127.0.0.1:5070>",
                          "<sip:100@127.0.0.1>")
    return session


def answer(h, request, status, headers=(), toTag="callee"):
    response = makeResponse(request, status, toTag=toTag)
    for name, value in headers:
        response.headers.add(name, value)
    if status == 200:
        response.headers.add("Contact", "<sip:bob@127.0.0.1:5070>")
        response.headers.set("Content-Type", "application/sdp")
        response.body = OFFER.encode()
        response.headers.set("Content-Length", str(len(response.body)))
    onResponse = [cb for r, _, cb in h.stack.transactions.sent if r is request][-1]
    onResponse(response)


ORIGINATE = {"session-timers": ["originate"], "session-expires": ["100"],
             "session-minse": ["90"]}


def test_uacSendsInviteAgainAfter422():
    h = timersHarness()
    session = uacCall(h, ORIGINATE)
    first = h.sent[-1]
    assert first.headers.get("Session-Expires") == "100"
    answer(h, first, 422, [("Min-SE", "600")])
    assert session.owner.failed == []
    assert session.state == "calling"
    second = h.sent[-1]
    assert second is not first and second.method == "INVITE"
    assert second.headers.get("Min-SE") == "600"
    assert second.headers.get("Session-Expires") == "600"
    assert second.cseq.number == first.cseq.number + 1
    assert second.callId == first.callId
    assert second.headers.get("From") == first.headers.get("From")
    assert second.headers.get("Via") != first.headers.get("Via")
    assert session.invite is second
    answer(h, second, 200, [("Session-Expires", "600;refresher=uac")])
    assert session.state == "confirmed"
    assert session.owner.answered == [200]
    assert session.getCookie(COOKIE).interval == 600


def test_uacGivesUpWhen422AsksForNothingNew():
    h = timersHarness()
    session = uacCall(h, ORIGINATE)
    answer(h, h.sent[-1], 422, [("Min-SE", "600")])
    answer(h, h.sent[-1], 422, [("Min-SE", "600")])
    assert len(h.sent) == 2
    assert session.owner.failed == [422]
    assert session.state == "terminated"


def test_uac422WithoutMinSEFails():
    h = timersHarness()
    session = uacCall(h, ORIGINATE)
    answer(h, h.sent[-1], 422)
    assert len(h.sent) == 1
    assert session.owner.failed == [422]


def test_resendInviteReplacesAndRemovesHeaders():
    h = SIPSessionHarness()
    session = uacCall(h)
    first = h.sent[-1]
    second = session.resendInvite(headers=[("X-Try", "2"), ("Max-Forwards", "69")],
                                  remove=["User-Agent"])
    assert h.sent[-1] is second
    assert session.inviteTransaction is second  # the fake transaction layer returns the request
    assert second.headers.get("X-Try") == "2"
    assert second.headers.getall("Max-Forwards") == ["69"]
    assert second.headers.get("User-Agent") is None
    assert second.body == first.body
    assert second.cseq.number == first.cseq.number + 1
    answer(h, second, 200)
    assert session.state == "confirmed"
    with pytest.raises(SessionError):
        session.resendInvite()


def test_resendInviteRefusedForUAS():
    h = SIPSessionHarness()
    session, st = h.incoming(sipInvite())
    with pytest.raises(SessionError):
        session.resendInvite()


def test_unusedFakeTransaction():
    """Requests a session never saw have no server transaction in it."""
    h = SIPSessionHarness()
    session, st = h.incoming(sipInvite())
    other = sipInDialog(session, "INFO", 5)
    FakeServerTransaction(other)
    assert session.serverTransaction(other) is None
    assert session.serverTransaction(session.invite) is st
