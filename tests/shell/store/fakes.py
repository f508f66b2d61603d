"""A minimal PBX stand-in for the store tests: an event bus, registries, hints."""

from zope.interface import implementer

from pbxcore.events import Event, EventBus, normalizeFields
from pbxcore.interfaces import IChannelTechnology
from pbxcore.registry import CORE_KINDS, Registry


class HintDialplan:
    """Just the hint side of a dialplan: {(context, exten): hint}."""

    def __init__(self, hints):
        self._hints = dict(hints)

    def hint(self, context, exten):
        return self._hints.get((context, exten))

    def hints(self):
        return [(c, e, h) for (c, e), h in sorted(self._hints.items())]


@implementer(IChannelTechnology)
class StateTechnology:
    """A technology whose devices' states are set by the test."""

    description = "test"
    capabilities = ()

    def __init__(self, name, states=None):
        self.name = name
        self.states = dict(states or {})

    def request(self, pbx, dest, formats, requestor):
        raise NotImplementedError()

    def deviceState(self, resource):
        return self.states.get(resource, "UNKNOWN")


class StorePBX:
    def __init__(self, configDir=None, dataDir=None, astdb=None, dialplan=None):
        self.configDir = configDir
        self.dataDir = dataDir
        self.events = EventBus()
        self.astdb = astdb
        self.dialplan = dialplan
        self.reactor = None
        self._registries = {k: Registry(k, i) for k, i in CORE_KINDS.items()}
        self.emitted = []
        self.events.subscribe(self.emitted.append)

    def registry(self, kind):
        return self._registries[kind]

    def emitEvent(self, name, fields=(), category="system"):
        return self.events.emit(name, fields, category)

    def feed(self, name, timestamp=0.0, **fields):
        """Publish a synthetic core event at C{timestamp}."""
        event = Event(name, normalizeFields(fields), "call", timestamp)
        self.events.publish(event)
        return event

    def named(self, name):
        return [e for e in self.emitted if e.name == name]


class RecordingRegistrar:
    def __init__(self):
        self.registered = []

    def register(self, kind, obj):
        self.registered.append((kind, obj))


def makeTempDir(testCase):
    """A fresh absolute temporary directory removed after the test."""
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="txpbx-store-")
    testCase.addCleanup(shutil.rmtree, path, True)
    return path
