"""
Fakes for module authors and the core's own tests: an in-memory PBX and a
scriptable "Test" channel technology.

    pbx = FakePBX()                      # a Clock as reactor, builtins loaded
    tech = TestTechnology.install(pbx)
    pbx.dialplan = parseDialplan(parseText(...))
    caller = tech.inbound(pbx, exten="100", context="default", callerNumber="200")
    pbx.runDialplan(caller)
    pbx.reactor.advance(5)

Outgoing Test channels follow a script written in the dial string:
C{Test/alice} answers at once; C{Test/alice/answer:2/hangup:10} rings, answers
after 2 s and hangs up 10 s later. Keywords: C{answer[:s]}, C{ring[:s]},
C{progress[:s]}, C{busy[:s]}, C{congestion[:s]}, C{reject[:s]},
C{noanswer}, C{unavailable[:cause]}, C{hangup:s} (after answer),
C{echo} (frames written come back). A resource that is itself a keyword
(C{Test/busy}) uses that keyword. Scripts may also be set per resource
with L{TestTechnology.script}.
"""

from dataclasses import dataclass, replace

from twisted.internet.task import Clock
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.channel import CallerID, Channel, ChannelList
from pbxcore.errors import ChannelUnavailable
from pbxcore.events import EventBus
from pbxcore.frame import ChannelState, Control, HangupCause, causeFromName
from pbxcore.interfaces import IChannelDriver, IChannelTechnology, IPBX, IRegistrar
from pbxcore.registry import CORE_KINDS, Registry


@implementer(IRegistrar)
class FakeRegistrar:
    """A registrar that records registrations and use counts."""

    def __init__(self, pbx, moduleName="test"):
        self.pbx = pbx
        self.moduleName = moduleName
        self.useCount = 0
        self.registered = []
        self._undo = []

    def register(self, kind, obj):
        registry = self.pbx.registry(kind)
        registry.add(obj)
        self.registered.append((kind, obj))
        self._undo.append(lambda: registry.remove(obj))
        return obj

    def provide(self, kind, registry):
        self.pbx._registries[kind] = registry
        self._undo.append(lambda: self.pbx._registries.pop(kind, None))
        return registry

    def addService(self, service):
        self._undo.append(lambda: None)
        return service

    def subscribe(self, callback, names=None, when=None):
        unsubscribe = self.pbx.events.subscribe(callback, names, when)
        self._undo.append(unsubscribe)
        return unsubscribe

    def addCleanup(self, f, *args, **kwargs):
        self._undo.append(lambda: f(*args, **kwargs))

    def ref(self):
        self.useCount += 1

    def unref(self):
        if self.useCount > 0:
            self.useCount -= 1

    def rollback(self):
        while self._undo:
            self._undo.pop()()


@implementer(IPBX)
class FakePBX:
    """
    An in-memory PBX: registries, event bus (every event also kept in
    C{eventLog}), channels, engine, settings and globals, on C{reactor}
    (a fresh Clock by default). The core applications are registered
    unless C{builtins} is false.
    """

    def __init__(self, reactor=None, settings=None, dialplan=None, configDir=".",
                 dataDir=None, builtins=True):
        from pbxcore.dialplan.engine import DialplanEngine

        self.reactor = reactor if reactor is not None else Clock()
        self.configDir = configDir
        self.dataDir = dataDir
        self.settings = {"maxcalls": None, "verbose": 0, "astsoundsdir": "",
                         "defaultlanguage": "en", "systemname": ""}
        if settings:
            self.settings.update(settings)
        self.events = EventBus()
        self.eventLog = []
        self.events.subscribe(self.eventLog.append)
        self._registries = {kind: Registry(kind, iface) for kind, iface in CORE_KINDS.items()}
        self.globals = {}
        self.dialplan = dialplan
        self.channels = ChannelList()
        self.engine = DialplanEngine(self)
        self.loader = None
        self.astdb = None
        self.devicestate = None
        self.cdr = None
        self.registrars = {}
        if builtins:
            from pbxcore.dialplan import builtins as _builtins

            _builtins.register(self.registrar("core"))

    def registry(self, kind):
        return self._registries[kind]

    def emitEvent(self, name, fields=(), category="system"):
        return self.events.emit(name, fields, category)

    def requestChannel(self, tech, dest, formats=None, requestor=None):
        return self.engine.requestChannel(tech, dest, formats, requestor)

    def runDialplan(self, channel):
        return self.engine.start(channel)

    def registrar(self, moduleName="test"):
        """The (one) FakeRegistrar of C{moduleName}."""
        registrar = self.registrars.get(moduleName)
        if registrar is None:
            registrar = self.registrars[moduleName] = FakeRegistrar(self, moduleName)
        return registrar

    def loadModule(self, module, name=None):
        """Load an IModule instance through its own registrar; returns load()'s result."""
        name = name or type(module).__name__
        return module.load(self, self.registrar(name))

    def eventsNamed(self, name):
        """Recorded events called C{name}, oldest first."""
        return [e for e in self.eventLog if e.name == name]


@dataclass
class TestScript:
    """What an outgoing Test channel does once called (times in seconds)."""

    __test__ = False  # not a pytest test class

    ringAfter: float = None
    progressAfter: float = None
    answerAfter: float = 0.0
    busyAfter: float = None
    congestionAfter: float = None
    rejectAfter: float = None
    hangupAfter: float = None
    unavailable: object = None
    echo: bool = False

    @classmethod
    def parse(cls, words):
        """A script from dial-string keywords ('answer:2', 'busy', ...)."""
        script = cls()
        for word in words:
            key, _, arg = word.partition(":")
            key = key.lower()
            seconds = float(arg) if arg and key != "unavailable" else 0.0
            if key == "answer":
                script.answerAfter = seconds
            elif key == "ring":
                script.ringAfter = seconds
            elif key == "progress":
                script.progressAfter = seconds
            elif key in ("busy", "congestion", "reject"):
                setattr(script, key + "After", seconds)
                script.answerAfter = None
            elif key == "noanswer":
                script.answerAfter = None
                if script.ringAfter is None:
                    script.ringAfter = 0.0
            elif key == "unavailable":
                script.unavailable = causeFromName(arg) if arg else HangupCause.SUBSCRIBER_ABSENT
            elif key == "hangup":
                script.hangupAfter = seconds
            elif key == "echo":
                script.echo = True
            else:
                return None
        return script


@implementer(IChannelDriver)
class TestDriver:
    """Records what the core asked of the far end and plays the script."""

    __test__ = False

    def __init__(self, technology, script=None):
        self.technology = technology
        self.script = script or TestScript()
        self.calls = []
        self.answered = 0
        self.written = []
        self.indications = []
        self.digits = []
        self.texts = []
        self.hangups = []
        self._timers = []

    def _later(self, channel, delay, f, *args):
        if delay is None:
            return
        if delay <= 0:
            self._fire(channel, f, args)
            return
        self._timers.append(channel.reactor.callLater(delay, self._fire, channel, f, args))

    def _fire(self, channel, f, args):
        if not channel.hangupRequested:
            f(*args)

    def call(self, channel, dest, timeout):
        self.calls.append((dest, timeout))
        s = self.script
        self._later(channel, s.ringAfter, channel.controlReceived, Control.RINGING)
        self._later(channel, s.progressAfter, channel.controlReceived, Control.PROGRESS)
        self._later(channel, s.busyAfter, self._fail, channel, Control.BUSY,
                    HangupCause.USER_BUSY)
        self._later(channel, s.congestionAfter, self._fail, channel, Control.CONGESTION,
                    HangupCause.NORMAL_CIRCUIT_CONGESTION)
        self._later(channel, s.rejectAfter, channel.hungUp, HangupCause.CALL_REJECTED)
        self._later(channel, s.answerAfter, self._answer, channel)

    def _fail(self, channel, control, cause):
        channel.hangupCause = cause
        channel.controlReceived(control)

    def _answer(self, channel):
        channel.controlReceived(Control.ANSWER)
        self._later(channel, self.script.hangupAfter, channel.hungUp,
                    HangupCause.NORMAL_CLEARING)

    def answer(self, channel):
        self.answered += 1

    def hangup(self, channel, cause):
        self.hangups.append(cause)
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers = []

    def writeFrame(self, channel, frame):
        self.written.append(frame)
        if self.script.echo:
            channel.reactor.callLater(0, self._fire, channel, channel.frameReceived, (frame,))

    def indicate(self, channel, control, data=None):
        self.indications.append(control)

    def sendDigitBegin(self, channel, digit):
        pass

    def sendDigitEnd(self, channel, digit, durationMs):
        self.digits.append(digit)

    def sendText(self, channel, text):
        self.texts.append(text)

    def transfer(self, channel, dest):
        pass


@implementer(IChannelTechnology)
class TestTechnology:
    """The "Test" technology: scriptable outgoing legs, and inbound callers."""

    __test__ = False

    description = "Scriptable test channel driver"
    capabilities = ("ulaw", "alaw", "slin")
    log = Logger()

    def __init__(self, name="Test", registrar=None):
        self.name = name
        self.registrar = registrar
        self.scripts = {}
        #: Every channel created, oldest first.
        self.created = []

    @classmethod
    def install(cls, pbx, name="Test"):
        """Create one and register it in C{pbx} through its own registrar."""
        registrar = pbx.registrar("chan_test") if hasattr(pbx, "registrar") else None
        technology = cls(name, registrar)
        if registrar is not None:
            registrar.register("technology", technology)
        else:
            pbx.registry("technology").add(technology)
        return technology

    def script(self, resource, **kw):
        """Give C{resource} a script (TestScript fields) for its next calls."""
        self.scripts[resource] = TestScript(**kw)

    def deviceState(self, resource):
        return "NOT_INUSE"

    def request(self, pbx, dest, formats, requestor):
        resource, *words = dest.split("/")
        script = self.scripts.get(resource)
        if script is None:
            script = TestScript.parse(words) if words else TestScript.parse([resource])
            if script is None:
                script = TestScript()
        else:
            script = replace(script)
        if script.unavailable is not None:
            raise ChannelUnavailable(script.unavailable, f"{self.name}/{resource} is unavailable")
        driver = TestDriver(self, script)
        channel = Channel(pbx, pbx.channels.makeName(self.name, resource), self, driver,
                          requestor=requestor)
        self.created.append(channel)
        return channel

    def inbound(self, pbx, exten="s", context="default", callerNumber="", callerName="",
                resource="caller", state=ChannelState.RING):
        """
        A new incoming channel as a driver would make it, not yet running
        the dialplan; its driver (C{channel.driver}) records what it is sent.
        """
        driver = TestDriver(self, TestScript(echo=False))
        channel = Channel(pbx, pbx.channels.makeName(self.name, resource), self, driver,
                          state=state, context=context, exten=exten,
                          caller=CallerID(callerName, callerNumber))
        self.created.append(channel)
        return channel


# -- SIP sessions -------------------------------------------------------------
#
# For modules that hook chan_sip (session supplements, SDP handlers): a real
# SessionManager over a fake stack that records what would go on the wire.
# chan_sip is imported only when these are used.

def _sipSource():
    from channels.sip.net.address import Address

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
    from channels.sip.wire.parser import parseMessage

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
    from channels.sip.wire.parser import parseMessage

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
        self.source = source if source is not None else _sipSource()
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
        from channels.sip.machines.transaction import Timers

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


class FakeAudioHandler:
    """An SDP handler accepting any audio stream with PCMU on a made-up port."""

    name = "fake-audio"
    mediaType = "audio"

    def negotiateIncomingStream(self, session, stream, offer, media):
        from channels.sip.wire.sdp import Media

        return Media("audio", 30000 + 2 * stream.index, media.proto, ("0",),
                     attributes=(("rtpmap", "0 PCMU/8000"),))

    def createOutgoingStream(self, session, stream):
        from channels.sip.wire.sdp import Media

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
        from zope.interface import classImplements

        from channels.sip.interfaces import ISDPHandler, ISessionSupplement
        from channels.sip.driver.session import SessionManager
        from pbxcore.registry import OrderedRegistry

        classImplements(FakeAudioHandler, ISDPHandler)
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
        source = source if source is not None else _sipSource()
        st = FakeServerTransaction(request, source)
        session = self.manager.newSession("uas", source)
        if session.startIncoming(request, st) and request.body:
            from channels.sip.wire.sdp import SDPError, parseSDP

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


__all__ = ["FakePBX", "FakeRegistrar", "TestTechnology", "TestDriver", "TestScript",
           "SIPSessionHarness", "sipInvite", "sipInDialog", "FakeServerTransaction",
           "FakeAudioHandler", "OFFER"]
