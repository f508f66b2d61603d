"""
Fakes for modules that hook chan_sip (session supplements, SDP handlers):
real INVITE sessions (a real L{SessionManager}) over a fake stack that
records what would go on the wire, on a Clock.

    h = SIPSessionHarness()
    h.supplements.add(MySupplement())
    session, st = h.incoming(sipInvite([("X-Foo", "1")]))
    st.responses[-1].status

The core's fakes (an in-memory PBX, the scriptable Test technology) are in
L{pbxcore.testing}.
"""

from twisted.internet.task import Clock
from zope.interface import implementer

from channels.sip.driver.session import SessionManager
from channels.sip.interfaces import ISDPHandler, ISessionSupplement
from channels.sip.machines.transaction import Timers
from channels.sip.net.address import Address
from channels.sip.wire.parser import parseMessage
from channels.sip.wire.sdp import Media, SDPError, parseSDP
from pbxcore.registry import OrderedRegistry


def sipSource():
    """The address the fake caller sends from (UDP 127.0.0.1:5070)."""
    return Address("UDP", "127.0.0.1", 5070)


OFFER = (
    "v=0\r\n"
    "o=- 1 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
)


def sipInvite(extraHeaders=(), body=None, callId="call-1", fromTag="from-1", cseq=1,
              user="100"):
    """An initial INVITE as a phone would send it (an audio offer unless C{body})."""
    if body is None:
        body = OFFER
    lines = [
        f"INVITE sip:{user}@127.0.0.1:5060 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" + callId,
        "Max-Forwards: 70",
        f"From: <sip:alice@127.0.0.1:5070>;tag={fromTag}",
        f"To: <sip:{user}@127.0.0.1:5060>",
        f"Call-ID: {callId}",
        f"CSeq: {cseq} INVITE",
        "Contact: <sip:alice@127.0.0.1:5070>",
    ]
    lines += [f"{k}: {v}" for k, v in extraHeaders]
    data = body.encode()
    if data:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(data)}")
    return parseMessage(("\r\n".join(lines) + "\r\n\r\n").encode() + data)


def sipInDialog(session, method, cseq, extraHeaders=(), body=b""):
    """A request from the caller inside C{session}'s dialog."""
    lines = [
        f"{method} sip:alice@127.0.0.1:5070 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{method}-{cseq}",
        "Max-Forwards: 70",
        "From: <sip:alice@127.0.0.1:5070>;tag=from-1",
        f"To: <sip:100@127.0.0.1:5060>;tag={session.localTag}",
        f"Call-ID: {session.callId}",
        f"CSeq: {cseq} {method}",
    ]
    lines += [f"{k}: {v}" for k, v in extraHeaders]
    lines.append(f"Content-Length: {len(body)}")
    return parseMessage(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


class FakeServerTransaction:
    """Records the responses a session sends."""

    def __init__(self, request, source=None):
        self.request = request
        self.source = source if source is not None else sipSource()
        self.responses = []

    @property
    def responded(self):
        return any(r.status >= 200 for r in self.responses)

    def respond(self, response):
        self.responses.append(response)


class FakeSIPTransactions:
    """
    Records what sessions send: C{sent} holds (request, destination,
    onResponse); a test answers a request by calling its onResponse.
    """

    def __init__(self):
        self.timers = Timers()
        self.sent = []
        self.acks = []
        self.cancelled = []

    def sendRequest(self, request, destination, onResponse):
        self.sent.append((request, destination, onResponse))
        return request

    def sendAck(self, ack, destination):
        self.acks.append(ack)

    def cancel(self, transaction):
        self.cancelled.append(transaction)


class FakeSIPUserAgent:
    """The user agent as sessions see it: a name and the capability headers."""

    userAgent = "txpbx-test"

    def __init__(self):
        self.supported = set()

    def capabilityHeaders(self):
        return [("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")]

    def registerDialogHandler(self, handler):
        return lambda: None


class FakeSIPStack:
    """Transactions and user agent, no sockets."""

    def __init__(self):
        self.transactions = FakeSIPTransactions()
        self.userAgent = FakeSIPUserAgent()
        self.listening = []


@implementer(ISDPHandler)
class FakeAudioHandler:
    """An SDP handler accepting any audio stream with PCMU on a made-up port."""

    name = "fake-audio"
    mediaType = "audio"

    def negotiateIncomingStream(self, session, stream, offer, media):
        return Media("audio", 30000 + 2 * stream.index, media.proto, ("0",),
                     attributes=(("rtpmap", "0 PCMU/8000"),))

    def createOutgoingStream(self, session, stream):
        return Media("audio", 30000 + 2 * stream.index, "RTP/AVP", ("0",),
                     attributes=(("rtpmap", "0 PCMU/8000"),))

    def applyNegotiatedStream(self, session, stream, local, remote):
        pass

    def streamStop(self, session, stream):
        pass

    def streamDestroy(self, session, stream):
        pass


class SIPSessionHarness:
    """
    INVITE sessions without sockets: a real SessionManager with its own
    C{supplements} and C{sdpHandlers} registries (what chan_sip provides as
    "sip.supplement" and "sip.sdphandler") over a fake stack, on a Clock.
    C{audio} adds a handler accepting audio streams (L{FakeAudioHandler}).

        h = SIPSessionHarness()
        h.supplements.add(MySupplement())
        session, st = h.incoming(sipInvite([("X-Foo", "1")]))
        st.responses[-1].status
    """

    def __init__(self, reactor=None, audio=True):
        self.clock = reactor if reactor is not None else Clock()
        self.stack = FakeSIPStack()
        self.supplements = OrderedRegistry("sip.supplement", ISessionSupplement,
                                           priorityAttribute="priority")
        self.sdpHandlers = OrderedRegistry("sip.sdphandler", ISDPHandler)
        self.manager = SessionManager(self.stack, self.supplements, self.sdpHandlers,
                                      reactor=self.clock)
        if audio:
            self.sdpHandlers.add(FakeAudioHandler())

    def provideTo(self, registrar):
        """Expose the registries to modules loaded through C{registrar} (as chan_sip does)."""
        registrar.provide("sip.supplement", self.supplements)
        registrar.provide("sip.sdphandler", self.sdpHandlers)

    def incoming(self, request, source=None):
        """
        Start a UAS session on C{request} as chan_sip does; returns
        (session, server transaction). The SDP offer is negotiated unless a
        supplement claimed the INVITE.
        """
        source = source if source is not None else sipSource()
        st = FakeServerTransaction(request, source)
        session = self.manager.newSession("uas", source)
        if session.startIncoming(request, st) and request.body:
            try:
                session.negotiateOffer(parseSDP(request.body))
            except SDPError:
                session.reject(488, "Not Acceptable Here")
        return session, st

    def inDialog(self, session, method, cseq, **kw):
        request = sipInDialog(session, method, cseq, **kw)
        st = FakeServerTransaction(request)
        self.manager.dialogRequest(request, st)
        return st

    def ack(self, session, cseq=1):
        ack = sipInDialog(session, "ACK", cseq)
        self.manager.dialogRequest(ack, None)

    @property
    def sent(self):
        """Requests the sessions sent, oldest first."""
        return [r for r, _, _ in self.stack.transactions.sent]


__all__ = ["SIPSessionHarness", "sipInvite", "sipInDialog", "sipSource", "FakeServerTransaction",
           "FakeSIPTransactions", "FakeSIPUserAgent", "FakeSIPStack", "FakeAudioHandler", "OFFER"]
