"""
A UAC machine and a UAS machine talking over a lossy in-memory wire, with
time advanced by numbers.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.sip.machines.transaction import (
    Deliver,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    SendRequest,
    SendResponse,
    State,
    Terminated,
    TimedOut,
    serverKey,
    serverMatches,
)

from .helpers import UAC, UAS, request, response

LATENCY = 0.05


class Wire:
    """
    Runs one client machine against the server side of a UA. C{lost} says
    which transmissions (numbered from 0 in sending order) vanish.
    C{answers} is the UAS TU's script: (delay after the request, status).
    """

    def __init__(self, req, answers, lost=(), serverClass=None, clientClass=None):
        self.now = 0.0
        self.lost = set(lost)
        self.sent = 0
        self.inFlight = []  # (arrival, seq, "up" | "down", message)
        self.answers = answers
        self.pendingAnswers = []  # (when, status)
        self.clientDelivered = []
        self.serverDelivered = []
        self.clientNotices = []
        self.wireLog = []
        clientClass = clientClass or (
            InviteClientTransaction if req.method == "INVITE" else NonInviteClientTransaction
        )
        self.serverClass = serverClass or (
            InviteServerTransaction if req.method == "INVITE" else NonInviteServerTransaction
        )
        self.client = clientClass(req, UAS, 0.0)
        self.servers = {}
        self.server = None
        self.clientEffects(self.client.start(0.0))

    def transmit(self, direction, message):
        seq = self.sent
        self.sent += 1
        self.wireLog.append((self.now, direction, message))
        if seq not in self.lost:
            self.inFlight.append((self.now + LATENCY, seq, direction, message))

    def clientEffects(self, effects):
        for e in effects:
            if isinstance(e, SendRequest):
                self.transmit("up", e.request)
            elif isinstance(e, Deliver):
                self.clientDelivered.append(e.message)
            elif not isinstance(e, Terminated):
                self.clientNotices.append(e)

    def serverEffects(self, effects):
        for e in effects:
            if isinstance(e, SendResponse):
                self.transmit("down", e.response)
            elif isinstance(e, Deliver) and e.message.method != "ACK":
                self.serverDelivered.append(e.message)
                for delay, status in self.answers:
                    self.pendingAnswers.append((self.now + delay, status))

    def arrive(self, direction, message):
        if direction == "down":
            self.clientEffects(self.client.receive(message, self.now))
            return
        key = serverKey(message)
        server = self.servers.get(key)
        if server is not None and serverMatches(server, message):
            self.serverEffects(server.receive(message, self.now))
        elif message.method != "ACK":
            server = self.server = self.servers[key] = self.serverClass(message, UAC, self.now)
            self.serverEffects(server.start(self.now))

    def run(self, end=200.0):
        while True:
            candidates = []
            if self.inFlight:
                candidates.append(min(self.inFlight)[0])
            for machine in [self.client] + list(self.servers.values()):
                if machine.nextDeadline() is not None:
                    candidates.append(machine.nextDeadline())
            if self.pendingAnswers:
                candidates.append(min(self.pendingAnswers)[0])
            if not candidates or min(candidates) > end:
                return
            self.now = min(candidates)
            for item in sorted(i for i in self.inFlight if i[0] <= self.now):
                self.inFlight.remove(item)
                self.arrive(item[2], item[3])
            for item in sorted(a for a in self.pendingAnswers if a[0] <= self.now):
                self.pendingAnswers.remove(item)
                self.serverEffects(
                    self.server.sendResponse(response(self.server.request, item[1]), self.now)
                )
            self.clientEffects(self.client.handleTimer(self.now))
            for server in list(self.servers.values()):
                self.serverEffects(server.handleTimer(self.now))


def statuses(messages):
    return [m.status for m in messages]


def test_lostInviteIsRetransmittedAndTheCallFails():
    wire = Wire(request(), [(0.1, 180), (1.0, 486)], lost={0})
    wire.run()
    assert len(wire.serverDelivered) == 1
    assert statuses(wire.clientDelivered) == [180, 486]
    ups = [m.method for _, d, m in wire.wireLog if d == "up"]
    assert ups == ["INVITE", "INVITE", "ACK"]
    assert wire.server.state is State.TERMINATED
    assert wire.client.state is State.TERMINATED


def test_lostProvisionalIsResentOnRetransmittedInvite():
    # The INVITE goes up, the 180 is lost; the 0.5 s retransmission gets it again.
    wire = Wire(request(), [(0.1, 180), (5.0, 486)], lost={1})
    wire.run(end=1.0)
    downs = [(t, m.status) for t, d, m in wire.wireLog if d == "down"]
    assert downs == [(pytest.approx(0.15), 180), (pytest.approx(0.55), 180)]
    assert statuses(wire.clientDelivered) == [180]
    assert len(wire.serverDelivered) == 1


def test_lostAckMeansFinalRetransmittedAndAckResent():
    # INVITE(0) up, 486(1) down, ACK(2) lost; Timer G resends the 486.
    wire = Wire(request(), [(0.0, 486)], lost={2})
    wire.run()
    ups = [m.method for _, d, m in wire.wireLog if d == "up"]
    downs = [m.status for _, d, m in wire.wireLog if d == "down"]
    assert ups == ["INVITE", "ACK", "ACK"]
    assert downs == [486, 486]
    assert statuses(wire.clientDelivered) == [486]
    assert wire.server.state is State.TERMINATED


def test_hundredTryingStopsInviteRetransmission():
    # The TU is slow (2 s): the 100 at 0.25 stops Timer A.
    wire = Wire(request(), [(2.0, 200)])
    wire.run(end=3.0)
    ups = [m.method for _, d, m in wire.wireLog if d == "up"]
    assert ups == ["INVITE"]
    assert statuses(wire.clientDelivered) == [100, 200]


def test_unansweredRequestTimesOut():
    wire = Wire(request("OPTIONS"), [], lost=set(range(100)))
    wire.run()
    assert wire.clientNotices[0] == TimedOut("F")
    assert wire.servers == {}


@settings(max_examples=150, deadline=None)
@given(
    lost=st.sets(st.integers(min_value=0, max_value=12), max_size=5),
    method=st.sampled_from(["INVITE", "OPTIONS"]),
    final=st.sampled_from([200, 404]),
)
def test_lossNeverDuplicatesDelivery(lost, method, final):
    wire = Wire(request(method), [(0.1, final)], lost=lost)
    wire.run()
    # Whatever was lost, the UAS TU saw the request at most once...
    assert len(wire.servers) <= 1
    assert len(wire.serverDelivered) <= 1
    # ...the UAC got at most one non-2xx final or a timeout, never both...
    finals = [m for m in wire.clientDelivered if m.status >= 200]
    if final >= 300 or method != "INVITE":
        assert len(finals) + len(wire.clientNotices) == 1
    # ...and everything ends.
    assert wire.client.terminated
    assert all(s.terminated for s in wire.servers.values())
