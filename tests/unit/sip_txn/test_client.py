"""The client machines of RFC 3261 section 17.1, driven by numbers."""

import pytest

from channels.sip.machines.transaction import (
    Deliver,
    InviteClientTransaction,
    NonInviteClientTransaction,
    SendRequest,
    State,
    Terminated,
    TimedOut,
    Timers,
    TransportFailed,
)

from .helpers import UAS, kinds, request, response


def runUntil(machine, end):
    """
    Step a machine through its deadlines up to C{end}; return
    (time, effect) pairs.
    """
    out = []
    while True:
        deadline = machine.nextDeadline()
        if deadline is None or deadline > end:
            return out
        out.extend((deadline, e) for e in machine.handleTimer(deadline))


def retransmitTimes(events):
    return [t for t, e in events if isinstance(e, SendRequest) and e.retransmission]


def test_inviteTimerADoublesUntilTimerB():
    invite = request()
    machine = InviteClientTransaction(invite, UAS, 0.0)
    assert machine.start(0.0) == [SendRequest(invite, UAS)]
    assert machine.deadlines() == {"A": 0.5, "B": 32.0}
    events = runUntil(machine, 100)
    # Intervals 0.5, 1, 2, 4, 8, 16: no cap at T2 for INVITE.
    assert retransmitTimes(events) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert [(t, type(e).__name__) for t, e in events[-2:]] == [
        (32.0, "TimedOut"),
        (32.0, "Terminated"),
    ]
    assert events[-2][1] == TimedOut("B")
    assert machine.state is State.TERMINATED
    assert machine.nextDeadline() is None


def test_nonInviteTimerECappedAtT2():
    options = request("OPTIONS")
    machine = NonInviteClientTransaction(options, UAS, 0.0)
    machine.start(0.0)
    events = runUntil(machine, 100)
    times = retransmitTimes(events)
    intervals = [b - a for a, b in zip([0.0] + times, times)]
    assert intervals == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]
    assert events[-2][1] == TimedOut("F")
    assert events[-2][0] == 32.0
    assert machine.terminated


def test_timersFollowConfiguredT1T2():
    machine = NonInviteClientTransaction(
        request("OPTIONS"), UAS, 0.0, Timers(t1=0.1, t2=0.3, t4=1.0)
    )
    machine.start(0.0)
    events = runUntil(machine, 100)
    times = retransmitTimes(events)
    assert times[:4] == pytest.approx([0.1, 0.3, 0.6, 0.9])
    assert events[-2][0] == pytest.approx(6.4)
    assert events[-2][1] == TimedOut("F")


def test_nonInviteProceedingRetransmitsEveryT2():
    options = request("OPTIONS")
    machine = NonInviteClientTransaction(options, UAS, 0.0)
    machine.start(0.0)
    machine.handleTimer(0.5)  # next at 1.5
    trying = response(options, 100)
    assert machine.receive(trying, 1.0) == [Deliver(trying)]
    assert machine.state is State.PROCEEDING
    events = runUntil(machine, 12)
    assert retransmitTimes(events) == [1.5, 5.5, 9.5]


def test_nonInviteFinalThenTimerK():
    options = request("OPTIONS")
    machine = NonInviteClientTransaction(options, UAS, 0.0)
    machine.start(0.0)
    ok = response(options, 200)
    assert machine.receive(ok, 0.2) == [Deliver(ok)]
    assert machine.state is State.COMPLETED
    assert machine.deadlines() == {"K": 5.2}
    # Retransmissions of the final are absorbed.
    assert machine.receive(ok, 1.0) == []
    assert machine.handleTimer(5.2) == [Terminated()]


def test_inviteNon2xxFinalBuildsAck():
    invite = request(
        uri="sip:bob@example.com;transport=udp",
        routes=("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"),
    )
    machine = InviteClientTransaction(invite, UAS, 0.0)
    machine.start(0.0)
    ringing = response(invite, 180)
    assert machine.receive(ringing, 0.1) == [Deliver(ringing)]
    assert machine.state is State.PROCEEDING
    assert machine.nextDeadline() is None
    busy = response(invite, 486)
    effects = machine.receive(busy, 1.0)
    assert kinds(effects) == ["SendRequest", "Deliver"]
    ack = effects[0].request
    assert effects[0].destination == UAS
    assert effects[1] == Deliver(busy)
    assert ack.method == "ACK"
    assert ack.uri == invite.uri
    assert ack.headers.getall("Via") == [invite.headers.getall("Via")[0]]
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.headers.get("To") == busy.headers.get("To")
    assert ack.toTag == "bobtag"
    assert ack.callId == invite.callId
    assert str(ack.cseq) == "1 ACK"
    assert ack.headers.getall("Route") == invite.headers.getall("Route")
    assert ack.headers.get("Contact") is None
    assert ack.body == b""
    assert machine.state is State.COMPLETED
    assert machine.deadlines() == {"D": 33.0}
    # A retransmitted final gets the same ACK again and is not delivered.
    again = machine.receive(busy, 2.0)
    assert again == [SendRequest(ack, UAS, retransmission=True)]
    assert machine.handleTimer(33.0) == [Terminated()]


def test_inviteAckKeepsOnlyTopVia():
    invite = request(extraVias=("SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKdown",))
    machine = InviteClientTransaction(invite, UAS, 0.0)
    machine.start(0.0)
    ack = machine.receive(response(invite, 503), 0.1)[0].request
    assert len(ack.vias) == 1
    assert ack.topVia == invite.topVia


def test_invite2xxGoesToAcceptedAndPassesRetransmissions():
    invite = request()
    machine = InviteClientTransaction(invite, UAS, 0.0)
    machine.start(0.0)
    ok = response(invite, 200)
    assert machine.receive(ok, 0.3) == [Deliver(ok)]
    assert machine.state is State.ACCEPTED
    assert machine.deadlines() == {"M": 32.3}
    # 2xx retransmissions (and other forks) reach the TU, which ACKs them.
    assert machine.receive(ok, 0.8) == [Deliver(ok)]
    fork = response(invite, 200, toTag="othertag")
    assert machine.receive(fork, 0.9) == [Deliver(fork)]
    assert machine.receive(response(invite, 486), 1.0) == []
    assert machine.handleTimer(32.3) == [Terminated()]


def test_inviteProvisionalStopsTimerB():
    invite = request()
    machine = InviteClientTransaction(invite, UAS, 0.0)
    machine.start(0.0)
    machine.receive(response(invite, 180), 0.1)
    assert machine.handleTimer(1000.0) == []
    assert machine.state is State.PROCEEDING


def test_inviteCancelSentGivesUpAfter64T1():
    invite = request()
    machine = InviteClientTransaction(invite, UAS, 0.0)
    machine.start(0.0)
    machine.receive(response(invite, 180), 0.1)
    machine.cancelSent(1.0)
    assert machine.handleTimer(33.0) == [TimedOut("Cancel"), Terminated()]


def test_transportErrorTerminates():
    machine = NonInviteClientTransaction(request("OPTIONS"), UAS, 0.0)
    machine.start(0.0)
    assert machine.transportError(0.0, "refused") == [TransportFailed("refused"), Terminated()]
    assert machine.nextDeadline() is None
    assert machine.transportError(0.1) == []


def test_reliableClientsNeverRetransmitAndDoNotLinger():
    invite = request(transport="TCP")
    machine = InviteClientTransaction(invite, UAS, 0.0, reliable=True)
    machine.start(0.0)
    assert machine.deadlines() == {"B": 32.0}
    effects = machine.receive(response(invite, 404), 0.5)
    assert kinds(effects) == ["SendRequest", "Deliver", "Terminated"]
    assert effects[0].request.method == "ACK"

    options = request("OPTIONS", transport="TCP")
    machine = NonInviteClientTransaction(options, UAS, 0.0, reliable=True)
    machine.start(0.0)
    assert machine.deadlines() == {"F": 32.0}
    events = runUntil(machine, 100)
    assert retransmitTimes(events) == []
    assert events == [(32.0, TimedOut("F")), (32.0, Terminated())]

    machine = NonInviteClientTransaction(options, UAS, 0.0, reliable=True)
    machine.start(0.0)
    assert kinds(machine.receive(response(options, 200), 0.1)) == ["Deliver", "Terminated"]


def test_reliableFollowsDestination():
    from .helpers import UAC_TCP

    machine = InviteClientTransaction(request(), UAC_TCP, 0.0)
    assert machine.reliable
    machine.start(0.0)
    assert "A" not in machine.deadlines()
