"""
res_sip_session_timers on a Clock: the refresher sends UPDATE at half the
interval (re-INVITE when the far end does not allow UPDATE), the other side
hangs up when no refresh comes, 422 below Min-SE, timers die with the call.
"""

from channels.sip.wire.message import makeResponse
from plugins.res_sip_session_timers import SessionTimerSupplement

from tests.shell.ext.harness import OFFER, SOURCE, SessionHarness, invite


class Owner:
    def __init__(self):
        self.terminated = []

    def sessionTerminated(self, session, cause):
        self.terminated.append(cause)


def harness():
    h = SessionHarness()
    h.supplements.add(SessionTimerSupplement())
    return h


def answeredUAS(h, headers):
    session, st = h.incoming(invite(extraHeaders=headers))
    session.owner = Owner()
    session.answer()
    h.ack(session)
    return session, st


def test_uasRefreshesWithUpdate():
    h = harness()
    session, st = answeredUAS(h, [("Supported", "timer"), ("Session-Expires", "120"),
                                  ("Allow", "INVITE, ACK, BYE, UPDATE")])
    assert st.responses[-1].headers.get("Session-Expires") == "120;refresher=uas"
    assert st.responses[-1].headers.get("Require") is None
    h.clock.advance(59)
    assert [r.method for r in h.sent] == []
    h.clock.advance(1)
    update = h.sent[-1]
    assert update.method == "UPDATE"
    assert update.headers.get("Session-Expires") == "120;refresher=uac"
    # The 200 re-arms: the next refresh comes 60 s later.
    onResponse = h.stack.transactions.sent[-1][2]
    onResponse(makeResponse(update, 200, toTag="x"))
    h.clock.advance(60)
    assert [r.method for r in h.sent] == ["UPDATE", "UPDATE"]


def test_uasRefreshesWithReInviteWithoutUpdate():
    h = harness()
    session, st = answeredUAS(h, [("Supported", "timer"), ("Session-Expires", "90;refresher=uas")])
    h.clock.advance(45)
    reinvite = h.sent[-1]
    assert reinvite.method == "INVITE" and reinvite.body
    onResponse = h.stack.transactions.sent[-1][2]
    onResponse(makeResponse(reinvite, 200, toTag="x"))
    assert h.stack.transactions.acks[-1].cseq.number == reinvite.cseq.number


def test_expiryHangsUp():
    h = harness()
    session, st = answeredUAS(h, [("Supported", "timer"), ("Session-Expires", "90;refresher=uac")])
    ok = st.responses[-1]
    assert ok.headers.get("Session-Expires") == "90;refresher=uac"
    assert ok.headers.get("Require") == "timer"
    h.clock.advance(59)
    assert session.state == "confirmed"
    # A refresh from the caller re-arms the expiry.
    h.inDialog(session, "UPDATE", 2, extraHeaders=[("Session-Expires", "90;refresher=uac")])
    h.clock.advance(59)
    assert session.state == "confirmed"
    h.clock.advance(1)
    assert session.state == "terminated"
    assert h.sent[-1].method == "BYE"
    assert session.owner.terminated == [102]


def test_422BelowMinSE():
    h = harness()
    session, st = h.incoming(invite(extraHeaders=[("Session-Expires", "30")]))
    assert [r.status for r in st.responses] == [422]
    assert st.responses[-1].headers.get("Min-SE") == "90"
    assert session.state == "terminated"


def test_noTimersUnlessAsked():
    h = harness()
    session, st = answeredUAS(h, [])
    assert st.responses[-1].headers.get("Session-Expires") is None
    h.clock.advance(4000)
    assert session.state == "confirmed" and h.sent == []


def test_timersCancelledAtHangup():
    h = harness()
    session, st = answeredUAS(h, [("Supported", "timer"), ("Session-Expires", "90")])
    h.inDialog(session, "BYE", 2)
    assert h.clock.getDelayedCalls() == [] or all(
        not c.active() for c in h.clock.getDelayedCalls())


def test_uacTakesTimersFromThe200():
    h = harness()
    session = h.manager.newSession("uac", SOURCE)
    session.owner = Owner()
    session.startOutgoing("sip:bob@127.0.0.1:5070", "<sip:bob@127.0.0.1:5070>",
                          "<sip:100@127.0.0.1>")
    sent = h.sent[-1]
    assert "timer" in sent.headers.get("Supported")
    assert sent.headers.get("Session-Expires") is None   # accept mode does not ask
    ok = makeResponse(sent, 200, toTag="callee")
    ok.headers.add("Contact", "<sip:bob@127.0.0.1:5070>")
    ok.headers.add("Session-Expires", "100;refresher=uac")
    ok.headers.add("Allow", "INVITE, ACK, BYE, UPDATE")
    ok.headers.set("Content-Type", "application/sdp")
    ok.body = OFFER.encode()
    ok.headers.set("Content-Length", str(len(ok.body)))
    h.stack.transactions.sent[-1][2](ok)
    assert session.state == "confirmed"
    h.clock.advance(50)
    assert h.sent[-1].method == "UPDATE"
