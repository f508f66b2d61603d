"""The server machines of RFC 3261 section 17.2, driven by numbers."""

from channels.sip.machines.transaction import (
    TRYING_DELAY,
    Deliver,
    InviteServerTransaction,
    NonInviteServerTransaction,
    SendResponse,
    State,
    Terminated,
    TimedOut,
    TransportFailed,
)

from .helpers import UAC, UAC_TCP, kinds, request, response


def ackFor(final):
    return request("ACK", toTag=final.toTag)


def test_start_deliversTheRequest():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    assert machine.start(0.0) == [Deliver(invite)]
    assert machine.state is State.PROCEEDING


def test_hundredTryingAfter200ms():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 10.0)
    assert machine.nextDeadline() == 10.0 + TRYING_DELAY
    assert machine.handleTimer(10.1) == []
    effects = machine.handleTimer(10.2)
    assert kinds(effects) == ["SendResponse"]
    trying = effects[0].response
    assert trying.status == 100
    assert trying.toTag is None
    assert trying.callId == invite.callId
    assert effects[0].destination == UAC
    # A retransmitted INVITE now gets the 100 again.
    assert machine.receive(invite, 10.5) == [SendResponse(trying, UAC, retransmission=True)]


def test_noHundredTryingWhenTheTUAnswersInTime():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    ringing = response(invite, 180)
    assert machine.sendResponse(ringing, 0.1) == [SendResponse(ringing, UAC)]
    assert machine.nextDeadline() is None
    assert machine.handleTimer(0.3) == []


def test_noHundredTryingWhenDisabled():
    machine = InviteServerTransaction(request(), UAC, 0.0, autoTrying=False)
    assert machine.nextDeadline() is None


def test_retransmittedInviteBeforeAnyResponseIsAbsorbed():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0, autoTrying=False)
    assert machine.receive(invite, 0.5) == []


def test_retransmittedInviteResendsLastProvisional():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    machine.sendResponse(response(invite, 180), 0.05)
    progress = response(invite, 183)
    machine.sendResponse(progress, 0.1)
    assert machine.receive(invite, 0.5) == [SendResponse(progress, UAC, retransmission=True)]


def test_timerGRetransmitsFinalUntilAck():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    busy = response(invite, 486)
    assert machine.sendResponse(busy, 1.0) == [SendResponse(busy, UAC)]
    assert machine.state is State.COMPLETED
    assert machine.deadlines() == {"G": 1.5, "H": 33.0}
    times = []
    while machine.nextDeadline() < 20:
        when = machine.nextDeadline()
        effects = machine.handleTimer(when)
        assert effects == [SendResponse(busy, UAC, retransmission=True)]
        times.append(when)
    # G doubles from T1 and is capped at T2.
    assert times == [1.5, 2.5, 4.5, 8.5, 12.5, 16.5]
    # A retransmitted INVITE also gets the final again.
    assert machine.receive(invite, 17.0) == [SendResponse(busy, UAC, retransmission=True)]
    assert machine.receive(ackFor(busy), 17.5) == []
    assert machine.state is State.CONFIRMED
    assert machine.deadlines() == {"I": 22.5}
    # Further ACKs are absorbed.
    assert machine.receive(ackFor(busy), 18.0) == []
    assert machine.handleTimer(22.5) == [Terminated()]


def test_timerHWithoutAck():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    machine.sendResponse(response(invite, 603), 0.0)
    effects = []
    while not machine.terminated:
        effects.extend(machine.handleTimer(machine.nextDeadline()))
    assert effects[-2:] == [TimedOut("H"), Terminated()]
    assert sum(1 for e in effects if isinstance(e, SendResponse)) == 10


def test_noResponseAfterFinal():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    machine.sendResponse(response(invite, 486), 0.0)
    assert machine.sendResponse(response(invite, 180), 0.1) == []
    assert machine.sendResponse(response(invite, 200), 0.1) == []


def test_2xxEntersAccepted():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    ok = response(invite, 200)
    assert machine.sendResponse(ok, 0.1) == [SendResponse(ok, UAC)]
    assert machine.state is State.ACCEPTED
    assert machine.deadlines() == {"L": 32.1}
    # Retransmitted INVITEs are absorbed; the TU retransmits the 2xx itself.
    assert machine.receive(invite, 0.5) == []
    assert machine.sendResponse(ok, 0.6) == [SendResponse(ok, UAC, retransmission=True)]
    assert machine.sendResponse(response(invite, 486), 0.7) == []
    ack = ackFor(ok)
    assert machine.receive(ack, 0.8) == [Deliver(ack)]
    assert machine.handleTimer(32.1) == [Terminated()]


def test_nonInviteServer():
    options = request("OPTIONS")
    machine = NonInviteServerTransaction(options, UAC, 0.0)
    assert machine.start(0.0) == [Deliver(options)]
    assert machine.nextDeadline() is None
    # Trying: nothing to resend.
    assert machine.receive(options, 0.5) == []
    trying = response(options, 100)
    assert machine.sendResponse(trying, 0.6) == [SendResponse(trying, UAC)]
    assert machine.state is State.PROCEEDING
    assert machine.receive(options, 1.0) == [SendResponse(trying, UAC, retransmission=True)]
    ok = response(options, 200)
    assert machine.sendResponse(ok, 1.2) == [SendResponse(ok, UAC)]
    assert machine.state is State.COMPLETED
    assert machine.deadlines() == {"J": 33.2}
    assert machine.receive(options, 2.0) == [SendResponse(ok, UAC, retransmission=True)]
    assert machine.sendResponse(response(options, 500), 2.0) == []
    assert machine.handleTimer(33.2) == [Terminated()]


def test_reliableServers():
    invite = request(transport="TCP")
    machine = InviteServerTransaction(invite, UAC_TCP, 0.0)
    busy = response(invite, 486)
    machine.sendResponse(busy, 0.0)
    # No Timer G over a reliable transport, H still guards the ACK.
    assert machine.deadlines() == {"H": 32.0}
    assert machine.receive(ackFor(busy), 0.1) == [Terminated()]

    options = request("OPTIONS", transport="TCP")
    machine = NonInviteServerTransaction(options, UAC_TCP, 0.0)
    ok = response(options, 200)
    assert machine.sendResponse(ok, 0.0) == [SendResponse(ok, UAC_TCP), Terminated()]


def test_serverTransportError():
    invite = request()
    machine = InviteServerTransaction(invite, UAC, 0.0)
    machine.sendResponse(response(invite, 486), 0.0)
    assert machine.transportError(0.0, "unreachable") == [
        TransportFailed("unreachable"),
        Terminated(),
    ]
    assert machine.nextDeadline() is None
