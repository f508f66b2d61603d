"""
The module loader: discovery, modules.conf selection, dependency order,
decline cascade, reload (configuration only), unload and use counts.

Modules are described by cheap descriptors found in C{twisted/plugins}
drop-ins; an implementation is imported only when its module is selected.
"""

import heapq
from dataclasses import dataclass, field

from twisted.internet import defer
from twisted.logger import Logger
from twisted.plugin import IPlugin, getPlugins
from twisted.python.reflect import namedAny
from zope.interface import implementer
from zope.interface.verify import verifyObject

from pbxcore.config import ConfigError, isTrue
from pbxcore.errors import ModuleDeclined, ModuleError
from pbxcore.interfaces import IModule, IModuleDescriptor, IRegistrar

# Asterisk's load priorities.
CORE = 40
CHANNEL_DEPEND = 60
CHANNEL_DRIVER = 70
APP_DEPEND = 80
DEFAULT = 128


@implementer(IPlugin, IModuleDescriptor)
@dataclass(frozen=True)
class ModuleDescriptor:
    """A module descriptor for drop-in files (see L{IModuleDescriptor})."""

    name: str
    implementation: str
    description: str = ""
    loadPriority: int = DEFAULT
    requires: tuple = ()
    optional: tuple = ()
    supportLevel: str = "core"
    validators: tuple = ()
    pathValidators: tuple = ()


class StartupError(Exception):
    """
    The start cannot go on: a module named by C{require =>} could not be
    loaded, or a module (or the core) could not bind a listener. Start-up is
    all or nothing: the PBX stops with this one line and status 1.
    """


def moduleName(name):
    """Asterisk admins write 'app_dial.so': accept it, store 'app_dial'."""
    name = name.strip()
    return name[:-3] if name.endswith(".so") else name


@dataclass
class ModuleSelection:
    """What modules.conf asks for."""

    autoload: bool = True
    load: list = field(default_factory=list)
    noload: set = field(default_factory=set)
    require: set = field(default_factory=set)
    preload: list = field(default_factory=list)

    @classmethod
    def fromConfig(cls, config):
        """Read the [modules] section of a parsed modules.conf (or None)."""
        selection = cls()
        if config is None:
            return selection
        section = config.section("modules")
        if section is None:
            return selection
        for entry in section.entries:
            key = entry.key.lower()
            value = moduleName(entry.value)
            if key == "autoload":
                selection.autoload = isTrue(entry.value)
            elif key == "load":
                selection.load.append(value)
            elif key == "noload":
                selection.noload.add(value)
            elif key == "require":
                selection.require.add(value)
                selection.load.append(value)
            elif key in ("preload", "preload-require"):
                selection.preload.append(value)
                if key == "preload-require":
                    selection.require.add(value)
            else:
                raise ConfigError(f"unknown modules.conf option {entry.key!r}",
                                  entry.filename, entry.line)
        return selection


def discoverDescriptors():
    """Every IModuleDescriptor in the twisted.plugins drop-ins, by name."""
    import twisted.plugins

    found = {}
    for descriptor in getPlugins(IModuleDescriptor, twisted.plugins):
        found.setdefault(descriptor.name, descriptor)
    return found


def selectModules(descriptors, selection):
    """
    The names modules.conf selects from C{descriptors}, and the names it
    asks for that do not exist.
    """
    if selection.autoload:
        selected = [n for n in descriptors if n not in selection.noload]
        selected += [n for n in selection.load if n not in selected]
    else:
        selected = list(dict.fromkeys(selection.preload + selection.load))
    unknown = [n for n in selection.load + selection.preload if n not in descriptors]
    selected = [n for n in selected if n not in selection.noload or n in selection.require]
    return selected, unknown


def validateModuleConfigs(configDir, descriptors, selection):
    """
    Run the configuration validators of the selected modules (descriptor
    C{validators}: pairs of file name and dotted callable taking the parsed
    file) so that a bad file stops the daemon before it binds anything.
    """
    import os

    from pbxcore.config import parseFile

    selected, _ = selectModules(descriptors, selection)
    order, _ = loadOrder(descriptors, selected, selection.preload)
    for name in order:
        for filename, validator in getattr(descriptors[name], "validators", ()):
            path = os.path.join(configDir, filename)
            if os.path.exists(path):
                namedAny(validator)(parseFile(path))


def ownReaderFiles(descriptors):
    """
    File name -> validator (called with the path) of the config files that
    a module reads with its own reader (descriptor C{pathValidators}).
    """
    return {filename: namedAny(validator) for d in descriptors.values()
            for filename, validator in getattr(d, "pathValidators", ())}


def loadOrder(descriptors, selected, preload=()):
    """
    Order C{selected} names: dependencies first (requires and optional),
    then preload, then loadPriority, then name. Returns (order, missing)
    where C{missing} maps a name to the required modules it lacks.
    """
    preload = set(preload)
    wanted = set()
    missing = {}
    stack = list(selected)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        descriptor = descriptors.get(name)
        if descriptor is None:
            continue
        wanted.add(name)
        for dep in descriptor.requires:
            if dep in descriptors:
                stack.append(dep)
            else:
                missing.setdefault(name, []).append(dep)

    # A dependency loads no later than what needs it: it takes the lowest
    # (earliest) priority among its dependents.
    effective = {name: (0 if name in preload else 1, descriptors[name].loadPriority)
                 for name in wanted}
    changed = True
    while changed:
        changed = False
        for name in wanted:
            for dep in tuple(descriptors[name].requires) + tuple(descriptors[name].optional):
                if dep in effective and effective[name] < effective[dep]:
                    effective[dep] = effective[name]
                    changed = True

    def key(name):
        return effective[name] + (name,)

    pending = {}
    dependents = {name: [] for name in wanted}
    for name in wanted:
        d = descriptors[name]
        deps = [x for x in tuple(d.requires) + tuple(d.optional) if x in wanted]
        pending[name] = len(deps)
        for dep in deps:
            dependents[dep].append(name)
    heap = [key(n) for n, count in pending.items() if count == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        name = heapq.heappop(heap)[-1]
        order.append(name)
        for child in dependents[name]:
            pending[child] -= 1
            if pending[child] == 0:
                heapq.heappush(heap, key(child))
    cyclic = sorted(n for n in wanted if n not in order)
    for name in cyclic:
        missing.setdefault(name, []).append("(dependency cycle)")
    return order, missing


@implementer(IRegistrar)
class Registrar:
    """
    The undo log of one module: every registration is recorded with the way
    to take it back, and L{rollback} undoes them all in reverse order.
    """

    log = Logger()

    def __init__(self, pbx, moduleName):
        self.pbx = pbx
        self.moduleName = moduleName
        self.useCount = 0
        self._undo = []

    def register(self, kind, obj):
        registry = self.pbx.registry(kind)
        registry.add(obj)
        self._undo.append((f"{kind} {getattr(obj, 'name', obj)!r}", lambda: registry.remove(obj)))
        return obj

    def provide(self, kind, registry):
        self.pbx.provideRegistry(kind, registry)
        self._undo.append((f"registry {kind!r}", lambda: self.pbx.withdrawRegistry(kind)))
        return registry

    def addService(self, service):
        service.setServiceParent(self.pbx)
        self._undo.append((f"service {service!r}", service.disownServiceParent))
        return service

    def subscribe(self, callback, names=None, when=None):
        unsubscribe = self.pbx.events.subscribe(callback, names, when)
        self._undo.append((f"subscription {callback!r}", unsubscribe))
        return unsubscribe

    def addCleanup(self, f, *args, **kwargs):
        self._undo.append((f"cleanup {f!r}", lambda: f(*args, **kwargs)))

    def ref(self):
        self.useCount += 1

    def unref(self):
        if self.useCount > 0:
            self.useCount -= 1

    @defer.inlineCallbacks
    def rollback(self):
        """Undo every registration, newest first; failures are logged."""
        while self._undo:
            what, undo = self._undo.pop()
            try:
                yield undo()
            except Exception:
                self.log.failure("module {module}: undoing {what} failed",
                                 module=self.moduleName, what=what)


@dataclass
class LoadedModule:
    """A module the loader has loaded (or tried to)."""

    descriptor: object
    module: object = None
    registrar: Registrar = None
    status: str = "Not Running"

    @property
    def name(self):
        return self.descriptor.name

    @property
    def useCount(self):
        return self.registrar.useCount if self.registrar else 0


class ModuleLoader:
    """
    Loads, reloads and unloads modules for one PBX.

    @ivar modules: name -> L{LoadedModule} of the modules currently loaded,
        in load order.
    """

    log = Logger()

    def __init__(self, pbx, descriptors=None):
        self.pbx = pbx
        self._descriptors = dict(descriptors) if descriptors is not None else None
        self.modules = {}
        self.declined = {}

    @property
    def descriptors(self):
        if self._descriptors is None:
            self._descriptors = discoverDescriptors()
        return self._descriptors

    def isLoaded(self, name):
        return moduleName(name) in self.modules

    @defer.inlineCallbacks
    def startup(self, selection):
        """
        Load what C{selection} (a L{ModuleSelection}) asks for. A required
        module that fails raises L{StartupError}; other failures decline the
        module and its dependents.
        """
        descriptors = self.descriptors
        selected, unknown = selectModules(descriptors, selection)
        for name in unknown:
            message = f"module {name!r} named in modules.conf was not found"
            if name in selection.require:
                raise StartupError(message)
            self.log.warn("{message}", message=message)
        order, missing = loadOrder(descriptors, selected, selection.preload)
        for name in order:
            descriptor = descriptors[name]
            reason = None
            if name in missing:
                reason = "missing dependencies: " + ", ".join(missing[name])
            else:
                failed = [d for d in descriptor.requires if d not in self.modules]
                if failed:
                    reason = "declined because it requires " + ", ".join(failed)
            if reason is None:
                ok, reason = yield self._load(descriptor)
                if ok:
                    continue
            self.declined[name] = reason
            self.log.warn("module {module} not loaded: {reason}", module=name, reason=reason)
            if name in selection.require:
                raise StartupError(f"required module {name} failed to load: {reason}")
        if self.declined:
            self.log.info("declined modules: {names}", names=", ".join(sorted(self.declined)))

    @defer.inlineCallbacks
    def _load(self, descriptor):
        """Load one module; returns (True, None) or (False, reason)."""
        registrar = Registrar(self.pbx, descriptor.name)
        try:
            factory = namedAny(descriptor.implementation)
            module = factory()
            verifyObject(IModule, module)
            yield module.load(self.pbx, registrar)
        except ModuleDeclined as e:
            yield registrar.rollback()
            return False, str(e) or "declined"
        except StartupError:
            yield registrar.rollback()
            raise
        except ConfigError as e:
            yield registrar.rollback()
            self.log.error("module {module}: {error}", module=descriptor.name, error=str(e))
            return False, str(e)
        except Exception as e:
            self.log.failure("module {module} failed to load", module=descriptor.name)
            yield registrar.rollback()
            return False, f"{type(e).__name__}: {e}"
        self.modules[descriptor.name] = LoadedModule(descriptor, module, registrar, "Running")
        self.declined.pop(descriptor.name, None)
        self.log.info("loaded module {module}", module=descriptor.name)
        self.pbx.emitEvent("Load", [("Module", descriptor.name), ("Status", "Running")], "system")
        return True, None

    @defer.inlineCallbacks
    def load(self, name):
        """Load a module at runtime (and the dependencies it lacks)."""
        name = moduleName(name)
        if name in self.modules:
            raise ModuleError(f"module {name} is already loaded")
        if name not in self.descriptors:
            raise ModuleError(f"no module named {name}")
        order, missing = loadOrder(self.descriptors, [name])
        if name in missing:
            raise ModuleError(f"module {name}: missing dependencies: {', '.join(missing[name])}")
        for dep in order:
            if dep in self.modules:
                continue
            ok, reason = yield self._load(self.descriptors[dep])
            if not ok:
                raise ModuleError(f"module {dep} declined: {reason}")

    def dependentsOf(self, name):
        """Loaded modules that require C{name}."""
        return [m for m in self.modules.values() if name in m.descriptor.requires]

    @defer.inlineCallbacks
    def unload(self, name, force=False):
        """
        Unload a module: refused while it is in use (live channels or
        sessions) or required by loaded modules, unless C{force}.
        """
        name = moduleName(name)
        loaded = self.modules.get(name)
        if loaded is None:
            raise ModuleError(f"module {name} is not loaded")
        if not force:
            if loaded.useCount:
                raise ModuleError(f"module {name} is in use ({loaded.useCount} users); "
                                  f"unload refused (force to override)")
            dependents = self.dependentsOf(name)
            if dependents:
                raise ModuleError(f"module {name} is required by "
                                  f"{', '.join(m.name for m in dependents)}")
        for dependent in reversed(self.dependentsOf(name)):
            yield self.unload(dependent.name, force=True)
        del self.modules[name]
        try:
            yield loaded.module.unload(self.pbx)
        except Exception:
            self.log.failure("module {module} failed while unloading", module=name)
        yield loaded.registrar.rollback()
        self.log.info("unloaded module {module}", module=name)
        self.pbx.emitEvent("Unload", [("Module", name), ("Status", "Not Running")], "system")

    @defer.inlineCallbacks
    def reload(self, name=None):
        """
        Reload the configuration of one module, or of all when C{name} is
        None. Returns a list of (name, error or None). A module that raises
        ConfigError keeps its old configuration; the error names file:line.
        """
        names = [moduleName(name)] if name else list(self.modules)
        if name and names[0] not in self.modules:
            raise ModuleError(f"module {names[0]} is not loaded")
        results = []
        for n in names:
            loaded = self.modules[n]
            try:
                yield loaded.module.reload(self.pbx)
            except ConfigError as e:
                self.log.error("reload of {module} failed, old configuration kept: {error}",
                               module=n, error=str(e))
                results.append((n, str(e)))
            except Exception as e:
                self.log.failure("reload of {module} failed", module=n)
                results.append((n, f"{type(e).__name__}: {e}"))
            else:
                results.append((n, None))
                self.pbx.emitEvent("Reload", [("Module", n), ("Status", "0"),
                                              ("Message", "Reload Requested")], "system")
        return results

    @defer.inlineCallbacks
    def shutdown(self):
        """Unload everything in reverse load order."""
        for name in reversed(list(self.modules)):
            if name in self.modules:
                yield self.unload(name, force=True)
