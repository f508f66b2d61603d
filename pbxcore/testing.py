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

The fakes for modules that hook chan_sip (session supplements, SDP
handlers) live with the SIP driver, in L{channels.sip.testing}.
"""

from dataclasses import dataclass, replace

from twisted.internet.task import Clock
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.channel import CallerID, Channel, ChannelList
from pbxcore.errors import ChannelUnavailable
from pbxcore.events import EventBus
from pbxcore.frame import ChannelState, Control, HangupCause, causeFromName
from pbxcore.interfaces import ChannelDriver, IChannelTechnology, IPBX, IRegistrar
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
        self.pbx.provideRegistry(kind, registry)
        self._undo.append(lambda: self.pbx.withdrawRegistry(kind))
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

    def provideRegistry(self, kind, registry):
        """Expose a module's registry (a later one of the same kind replaces it)."""
        self._registries[kind] = registry

    def withdrawRegistry(self, kind):
        self._registries.pop(kind, None)

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

    def hangupAll(self, rounds=50):
        """
        Soft-hang-up every channel and advance the clock until the dialplan
        tasks have finished with them: a test's calls end inside the test, not
        later when their coroutines are collected (into another test's run).
        """
        for _ in range(rounds):
            live = list(self.channels)
            if not live:
                return
            for channel in live:
                channel.softHangup()
            if hasattr(self.reactor, "advance"):
                self.reactor.advance(1)

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


class TestDriver(ChannelDriver):
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

    def sendDigitEnd(self, channel, digit, durationMs):
        self.digits.append(digit)

    def sendText(self, channel, text):
        self.texts.append(text)


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


__all__ = ["FakePBX", "FakeRegistrar", "TestTechnology", "TestDriver", "TestScript"]
