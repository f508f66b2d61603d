"""
The module loader with fake modules: ordering, decline cascade, require
failure, registrar rollback, unload while in use, reload keeping the old
configuration.
"""

import os

from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.trial import unittest
from zope.interface import implementer

from pbxcore.config import ConfigError, parseFile
from pbxcore.errors import ModuleDeclined, ModuleError
from pbxcore.events import EventBus
from pbxcore.interfaces import IApplication, IModule
from pbxcore.loader import (
    CHANNEL_DRIVER,
    CORE,
    DEFAULT,
    ModuleDescriptor,
    ModuleLoader,
    ModuleSelection,
    StartupError,
    loadOrder,
)
from pbxcore.registry import CORE_KINDS, OrderedRegistry, Registry

HERE = __name__


class LoaderPBX(MultiService):
    """Just enough of a PBX for the loader: registries, events, services."""

    def __init__(self, configDir=None):
        super().__init__()
        self.configDir = configDir
        self.events = EventBus()
        self.registries = {k: Registry(k, i) for k, i in CORE_KINDS.items()}
        self.loaded = []
        self.unloaded = []
        self.emitted = []

    def registry(self, kind):
        return self.registries[kind]

    def provideRegistry(self, kind, registry):
        self.registries[kind] = registry

    def withdrawRegistry(self, kind):
        del self.registries[kind]

    def emitEvent(self, name, fields=(), category="system"):
        self.emitted.append(name)
        return self.events.emit(name, fields, category)


@implementer(IApplication)
class App:
    synopsis = description = ""

    def __init__(self, name):
        self.name = name

    def execute(self, channel, data):
        pass


@implementer(IModule)
class Recording:
    """Registers an application named after the module and a service."""

    appName = None

    def load(self, pbx, registrar):
        pbx.loaded.append(self.appName)
        registrar.register("application", App(self.appName))
        self.service = Service()
        registrar.addService(self.service)

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        pbx.unloaded.append(self.appName)


def recording(name):
    return type(name, (Recording,), {"appName": name})


A = recording("A")
B = recording("B")
C = recording("C")
D = recording("D")


@implementer(IModule)
class Declining(Recording):
    appName = "Declining"

    def load(self, pbx, registrar):
        # Registers first, then declines: the registration must be undone.
        registrar.register("application", App("HalfDone"))
        raise ModuleDeclined("no configuration")


@implementer(IModule)
class Crashing(Recording):
    appName = "Crashing"

    def load(self, pbx, registrar):
        registrar.register("application", App("CrashHalfDone"))
        raise RuntimeError("boom")


@implementer(IModule)
class Async(Recording):
    appName = "Async"

    def load(self, pbx, registrar):
        d = defer.Deferred()
        from twisted.internet import reactor

        reactor.callLater(0, d.callback, None)
        d.addCallback(lambda _: Recording.load(self, pbx, registrar))
        return d


@implementer(IModule)
class Provider(Recording):
    appName = "Provider"

    def load(self, pbx, registrar):
        registrar.provide("widget", OrderedRegistry("widget", IApplication))


@implementer(IModule)
class WidgetUser(Recording):
    appName = "WidgetUser"

    def load(self, pbx, registrar):
        registrar.register("widget", App("w1"))


@implementer(IModule)
class Configured:
    """Reads <configDir>/configured.conf; reload parses fully, then swaps."""

    def load(self, pbx, registrar):
        self.config = parseFile(os.path.join(pbx.configDir, "configured.conf"))

    def reload(self, pbx):
        new = parseFile(os.path.join(pbx.configDir, "configured.conf"))
        self.config = new

    def unload(self, pbx):
        pass


def desc(name, cls, priority=DEFAULT, requires=(), optional=()):
    return ModuleDescriptor(name, f"{HERE}.{cls}", "", priority, tuple(requires), tuple(optional))


class OrderTests(unittest.SynchronousTestCase):
    def test_requiresThenPriorityThenName(self):
        ds = {
            "app_z": desc("app_z", "A", DEFAULT),
            "app_a": desc("app_a", "A", DEFAULT),
            "chan_x": desc("chan_x", "A", CHANNEL_DRIVER, requires=["res_y"]),
            "res_y": desc("res_y", "A", DEFAULT),
            "core_c": desc("core_c", "A", CORE),
        }
        order, missing = loadOrder(ds, list(ds))
        self.assertEqual(missing, {})
        self.assertEqual(order, ["core_c", "res_y", "chan_x", "app_a", "app_z"])

    def test_preloadFirst(self):
        ds = {"a": desc("a", "A", CORE), "b": desc("b", "A", DEFAULT)}
        order, _ = loadOrder(ds, ["a", "b"], preload=["b"])
        self.assertEqual(order, ["b", "a"])

    def test_missingAndCycle(self):
        ds = {
            "a": desc("a", "A", requires=["nothere"]),
            "b": desc("b", "A", requires=["c"]),
            "c": desc("c", "A", requires=["b"]),
        }
        order, missing = loadOrder(ds, list(ds))
        self.assertEqual(missing["a"], ["nothere"])
        self.assertIn("b", missing)
        self.assertIn("c", missing)
        self.assertNotIn("b", order)

    def test_dependenciesPulledIn(self):
        ds = {"a": desc("a", "A", requires=["b"]), "b": desc("b", "B")}
        order, _ = loadOrder(ds, ["a"])
        self.assertEqual(order, ["b", "a"])

    def test_selectionFromModulesConf(self):
        from pbxcore.config import parseText

        conf = parseText(
            "[modules]\nautoload=no\npreload => res_a.so\nload => app_b\n"
            "noload => app_c.so\nrequire => chan_d\n", "modules.conf")
        sel = ModuleSelection.fromConfig(conf)
        self.assertFalse(sel.autoload)
        self.assertEqual(sel.preload, ["res_a"])
        self.assertEqual(sel.load, ["app_b", "chan_d"])
        self.assertEqual(sel.noload, {"app_c"})
        self.assertEqual(sel.require, {"chan_d"})

    def test_badModulesConfNamesFileLine(self):
        from pbxcore.config import parseText

        conf = parseText("[modules]\nautoload=yes\nlaod => x\n", "modules.conf")
        with self.assertRaises(ConfigError) as cm:
            ModuleSelection.fromConfig(conf)
        self.assertTrue(str(cm.exception).startswith("modules.conf:3:"))


class LoaderTests(unittest.TestCase):
    def setUp(self):
        self.pbx = LoaderPBX(self.mktemp())
        os.makedirs(self.pbx.configDir)
        self.pbx.startService()

    def loader(self, *descriptors):
        self.pbx.loader = ModuleLoader(self.pbx, {d.name: d for d in descriptors})
        return self.pbx.loader

    @defer.inlineCallbacks
    def test_loadsInOrderAndRegisters(self):
        loader = self.loader(desc("b", "B", requires=["a"]), desc("a", "A"),
                             desc("c", "C", CORE))
        yield loader.startup(ModuleSelection())
        self.assertEqual(self.pbx.loaded, ["C", "A", "B"])
        self.assertEqual(list(loader.modules), ["c", "a", "b"])
        self.assertIn("A", self.pbx.registry("application"))
        service = loader.modules["a"].module.service
        self.assertTrue(service.running)

    @defer.inlineCallbacks
    def test_declineCascadeAndRollback(self):
        loader = self.loader(desc("base", "Declining"),
                             desc("child", "A", requires=["base"]),
                             desc("grandchild", "B", requires=["child"]),
                             desc("other", "C"))
        yield loader.startup(ModuleSelection())
        self.assertEqual(list(loader.modules), ["other"])
        self.assertNotIn("HalfDone", self.pbx.registry("application"))
        self.assertEqual(loader.declined["base"], "no configuration")
        self.assertIn("requires base", loader.declined["child"])
        self.assertIn("requires child", loader.declined["grandchild"])

    @defer.inlineCallbacks
    def test_crashIsLoggedAndDeclined(self):
        loader = self.loader(desc("bad", "Crashing"), desc("good", "A"))
        yield loader.startup(ModuleSelection())
        self.assertEqual(list(loader.modules), ["good"])
        self.assertIn("RuntimeError: boom", loader.declined["bad"])
        self.assertNotIn("CrashHalfDone", self.pbx.registry("application"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    @defer.inlineCallbacks
    def test_requiredFailureStopsStartup(self):
        loader = self.loader(desc("needed", "Declining"), desc("x", "A"))
        sel = ModuleSelection(require={"needed"}, load=["needed"])
        with self.assertRaises(StartupError) as cm:
            yield loader.startup(sel)
        self.assertIn("required module needed failed", str(cm.exception))

    @defer.inlineCallbacks
    def test_requiredMissingStopsStartup(self):
        loader = self.loader(desc("x", "A"))
        with self.assertRaises(StartupError):
            yield loader.startup(ModuleSelection(require={"ghost"}, load=["ghost"]))

    @defer.inlineCallbacks
    def test_autoloadNoAndNoload(self):
        loader = self.loader(desc("a", "A"), desc("b", "B"), desc("c", "C"))
        yield loader.startup(ModuleSelection(autoload=False, load=["b"]))
        self.assertEqual(list(loader.modules), ["b"])
        loader = self.loader(desc("a", "A"), desc("b", "B"), desc("c", "C"))
        self.pbx.registries["application"] = Registry("application", IApplication)
        yield loader.startup(ModuleSelection(noload={"b"}))
        self.assertEqual(sorted(loader.modules), ["a", "c"])

    @defer.inlineCallbacks
    def test_asyncLoad(self):
        loader = self.loader(desc("async", "Async"), desc("after", "A", requires=["async"]))
        yield loader.startup(ModuleSelection())
        self.assertEqual(self.pbx.loaded, ["Async", "A"])

    @defer.inlineCallbacks
    def test_unloadUndoesEverythingInReverse(self):
        loader = self.loader(desc("a", "A"))
        yield loader.startup(ModuleSelection())
        service = loader.modules["a"].module.service
        yield loader.unload("a.so")
        self.assertNotIn("A", self.pbx.registry("application"))
        self.assertFalse(service.running)
        self.assertIsNone(service.parent)
        self.assertEqual(self.pbx.unloaded, ["A"])
        self.assertIn("Unload", self.pbx.emitted)

    @defer.inlineCallbacks
    def test_unloadRefusedWhileInUse(self):
        loader = self.loader(desc("a", "A"))
        yield loader.startup(ModuleSelection())
        loader.modules["a"].registrar.ref()
        with self.assertRaises(ModuleError) as cm:
            yield loader.unload("a")
        self.assertIn("in use", str(cm.exception))
        self.assertIn("A", self.pbx.registry("application"))
        yield loader.unload("a", force=True)
        self.assertNotIn("A", self.pbx.registry("application"))

    @defer.inlineCallbacks
    def test_unloadRefusedWithDependents(self):
        loader = self.loader(desc("a", "A"), desc("b", "B", requires=["a"]))
        yield loader.startup(ModuleSelection())
        with self.assertRaises(ModuleError):
            yield loader.unload("a")
        yield loader.unload("a", force=True)
        self.assertEqual(loader.modules, {})

    @defer.inlineCallbacks
    def test_providedRegistryUsedAndWithdrawn(self):
        loader = self.loader(desc("prov", "Provider"),
                             desc("user", "WidgetUser", requires=["prov"]))
        yield loader.startup(ModuleSelection())
        self.assertEqual([w.name for w in self.pbx.registry("widget")], ["w1"])
        yield loader.unload("user")
        self.assertEqual(len(self.pbx.registry("widget")), 0)
        yield loader.unload("prov")
        self.assertNotIn("widget", self.pbx.registries)

    @defer.inlineCallbacks
    def test_runtimeLoad(self):
        loader = self.loader(desc("a", "A"), desc("b", "B", requires=["a"]))
        yield loader.startup(ModuleSelection(autoload=False))
        self.assertEqual(loader.modules, {})
        yield loader.load("b")
        self.assertEqual(list(loader.modules), ["a", "b"])
        with self.assertRaises(ModuleError):
            yield loader.load("b")
        with self.assertRaises(ModuleError):
            yield loader.load("nope")

    @defer.inlineCallbacks
    def test_reloadWithBadFileKeepsOldConfig(self):
        path = os.path.join(self.pbx.configDir, "configured.conf")
        with open(path, "w") as f:
            f.write("[general]\nkey = old\n")
        loader = self.loader(desc("configured", "Configured"))
        yield loader.startup(ModuleSelection())
        module = loader.modules["configured"].module
        with open(path, "w") as f:
            f.write("[general]\nkey = new\nthis line is broken\n")
        results = yield loader.reload("configured")
        self.assertEqual(len(results), 1)
        name, error = results[0]
        self.assertIn("configured.conf:3:", error)
        self.assertEqual(module.config.section("general").get("key"), "old")
        with open(path, "w") as f:
            f.write("[general]\nkey = new\n")
        results = yield loader.reload()
        self.assertEqual(results, [("configured", None)])
        self.assertEqual(module.config.section("general").get("key"), "new")

    @defer.inlineCallbacks
    def test_shutdownUnloadsInReverse(self):
        loader = self.loader(desc("a", "A"), desc("b", "B", requires=["a"]), desc("c", "C"))
        yield loader.startup(ModuleSelection())
        order = list(loader.modules)
        yield loader.shutdown()
        self.assertEqual(self.pbx.unloaded, [n.upper() for n in reversed(order)])


def rejectWidgets(config):
    for section in config.sections:
        for entry in section.entries:
            if entry.key == "widget":
                raise ConfigError("widgets are not allowed", entry.filename, entry.line)


class ValidatorTests(unittest.SynchronousTestCase):
    def test_selectedModulesValidateTheirFiles(self):
        from pbxcore.loader import validateModuleConfigs

        etc = self.mktemp()
        os.makedirs(etc)
        with open(os.path.join(etc, "w.conf"), "w") as f:
            f.write("[general]\nok = 1\nwidget = 2\n")
        d = ModuleDescriptor("w", f"{HERE}.A", validators=(("w.conf", f"{HERE}.rejectWidgets"),))
        with self.assertRaises(ConfigError) as cm:
            validateModuleConfigs(etc, {"w": d}, ModuleSelection())
        self.assertIn("w.conf:3: widgets are not allowed", str(cm.exception))
        # Not selected: not validated.
        validateModuleConfigs(etc, {"w": d}, ModuleSelection(noload={"w"}))


class EventBusTests(unittest.SynchronousTestCase):
    def test_namedSubscriptionsAndWants(self):
        bus = EventBus()
        seen, calls = [], []
        bus.subscribe(lambda e: seen.append(("named", e.name)), names=("Newchannel",))
        self.assertTrue(bus.wants("Newchannel"))
        self.assertFalse(bus.wants("VarSet"))
        # Nobody wants it: nothing is built or published.
        self.assertIsNone(bus.emit("VarSet", {"Variable": "x"}))
        active = []
        unsubscribe = bus.subscribe(lambda e: calls.append(e.name), when=lambda: bool(active))
        self.assertFalse(bus.wants("VarSet"))
        active.append(1)
        self.assertTrue(bus.wants("VarSet"))
        bus.emit("VarSet", {"Variable": "x"})
        bus.emit("Newchannel", {"Channel": "Local/1@x-1;1"})
        self.assertEqual(calls, ["VarSet", "Newchannel"])
        self.assertEqual(seen, [("named", "Newchannel")])
        unsubscribe()
        self.assertFalse(bus.wants("VarSet"))
        self.assertTrue(bus.wants("Newchannel"))

    def test_failingSubscriberDoesNotStopOthers(self):
        bus = EventBus()
        seen = []
        bus.subscribe(lambda e: 1 / 0)
        bus.subscribe(lambda e: seen.append(e.get("key")))
        bus.emit("X", [("Key", "v")])
        self.assertEqual(seen, ["v"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
