"""
PBXService: the running PBX. It owns the registries, the event bus, the
module loader and the core subsystems, and every module's services hang
under it so that stopping it stops everything in reverse order.
"""

import gc
import os
import signal

from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore import __version__
from pbxcore.config import ConfigError
from pbxcore.events import EventBus
from pbxcore.limits import raiseOpenFileLimit
from pbxcore.interfaces import IPBX
from pbxcore.loader import ModuleLoader, ModuleSelection, Registrar, StartupError
from pbxcore.registry import CORE_KINDS, Registry
from pbxcore.settings import PBXSettings, loadConfigFile

#: The default of pbx.conf's [options] gcthreshold: allocations between two
#: young-generation collections once the daemon has booted.
DEFAULT_GC_THRESHOLD = 50000


def gcThreshold(configDir, settings):
    """
    The collector setting of pbx.conf ([options] gcthreshold): a whole
    number, 0 to leave the collector alone, the default when absent.
    Raises ConfigError (file:line) for anything else.
    """
    value = settings.extra.get("gcthreshold")
    if value is None:
        return DEFAULT_GC_THRESHOLD
    text = value.strip()
    if text.isdigit():
        return int(text)
    where, line = os.path.join(configDir, "pbx.conf"), None
    conf = loadConfigFile(configDir, "pbx.conf")
    section = conf.section("options") if conf is not None else None
    if section is not None:
        for entry in section.entries:
            if entry.key.lower() == "gcthreshold":
                where, line = entry.filename, entry.line
    raise ConfigError(f"gcthreshold must be a whole number (0 = off), not {value!r}", where, line)


@implementer(IPBX)
class PBXService(MultiService):
    """
    The PBX: C{configDir} holds the .conf files; modules are found through
    the twisted.plugins drop-ins unless C{descriptors} is given (tests).
    """

    log = Logger()
    name = "pbx"

    def __init__(self, configDir, reactor=None, descriptors=None, settings=None,
                 installSignalHandlers=False):
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.configDir = os.path.abspath(configDir)
        self.settings = settings if settings is not None else PBXSettings.fromConfigDir(self.configDir)
        self.dataDir = self.settings.dataDir
        self.version = __version__
        self.events = EventBus()
        self._registries = {kind: Registry(kind, iface) for kind, iface in CORE_KINDS.items()}
        self.loader = ModuleLoader(self, descriptors)
        self.coreRegistrar = Registrar(self, "core")
        self.globals = {}
        self.dialplan = None
        self.channels = None
        self.engine = None
        self.astdb = None
        self.devicestate = None
        self.cdr = None
        self.http = None  # pbxcore.http.server.HTTPServer (http.conf)
        self.startTime = None
        self.reloadTime = None
        self.fullyBooted = False
        self.booted = defer.Deferred()
        self._installSignalHandlers = installSignalHandlers
        self._fatal = False
        self.gcThreshold = None  # set at start-up (see _tuneCollector)
        self._buildCore()

    # -- registries ---------------------------------------------------------

    def registry(self, kind):
        return self._registries[kind]

    def hasRegistry(self, kind):
        return kind in self._registries

    def provideRegistry(self, kind, registry):
        if kind in self._registries:
            raise ValueError(f"a registry of kind {kind!r} is already provided")
        self._registries[kind] = registry

    def withdrawRegistry(self, kind):
        del self._registries[kind]

    # -- events and logging ---------------------------------------------------

    def emitEvent(self, name, fields=(), category="system"):
        return self.events.emit(name, fields, category)

    def verbose(self, level, message, **kw):
        """Asterisk's ast_verb: logged when the verbose setting is >= level."""
        if self.settings.verbose >= level:
            self.log.info(message, **kw)

    # -- the core -------------------------------------------------------------

    def _buildCore(self):
        from pbxcore.channel import ChannelList
        from pbxcore.dialplan.engine import DialplanEngine

        # Asterisk prefixes uniqueids with pbx.conf's systemname.
        self.channels = ChannelList(self.settings.systemname or "")
        self.engine = DialplanEngine(self)

    def requestChannel(self, tech, dest, formats=None, requestor=None):
        return self.engine.requestChannel(tech, dest, formats, requestor)

    def runDialplan(self, channel):
        return self.engine.start(channel)

    def _startCore(self):
        from pbxcore.console import cli, clicommands
        from pbxcore.store.astdb import AstDB
        from pbxcore.store.cdr import CDREngine
        from pbxcore.devicestate.engine import DeviceStateEngine
        from pbxcore.dialplan import builtins
        from pbxcore.http.core import startHTTP

        builtins.register(self.coreRegistrar)
        clicommands.register(self.coreRegistrar)
        cli.register(self.coreRegistrar)
        os.makedirs(self.dataDir, exist_ok=True)
        self.astdb = AstDB(os.path.join(self.dataDir, "astdb.sqlite3"))
        self.astdb.open()
        self.devicestate = DeviceStateEngine(self)
        self.devicestate.register(self.coreRegistrar)
        self.http = startHTTP(self, self.coreRegistrar)
        self.cdr = CDREngine.fromConfig(self)
        if self.cdr is not None:
            return self.cdr.start()

    @defer.inlineCallbacks
    def _stopCore(self):
        if self.cdr is not None:
            yield self.cdr.stop()
        yield self.coreRegistrar.rollback()
        if self.astdb is not None:
            yield self.astdb.close()

    # -- life cycle -------------------------------------------------------------

    def startService(self):
        super().startService()
        if self._installSignalHandlers:
            # Under twistd: its log observers follow pbx.conf (debug, verbose).
            from pbxcore.logfilter import installLogFilter

            self._undoLogFilter = installLogFilter(self)
            # A PBX holds sockets per call: the soft open-file limit goes
            # up to the hard one, as safe_asterisk's ulimit -n does.
            raiseOpenFileLimit()
        self.startTime = self.reloadTime = self.reactor.seconds()
        d = defer.maybeDeferred(self._readCollectorSetting)
        d.addCallback(lambda _: self._startCore())
        d.addCallback(lambda _: self.loader.startup(self.settings.modules))
        if self._installSignalHandlers:
            # "Fully booted" means signals work too: twistd's reactor installs
            # its own handlers only once it runs, and ours go in after them.
            running = defer.Deferred()
            self.reactor.callWhenRunning(self._takeSignals)
            self.reactor.callWhenRunning(running.callback, None)
            d.addCallback(lambda _: running)
        d.addCallbacks(self._booted, self._bootFailed)
        return d

    def _readCollectorSetting(self):
        self.gcThreshold = gcThreshold(self.configDir, self.settings)

    def _tuneCollector(self):
        """
        Under twistd, once booted: move everything start-up made out of the
        collector's sight (gc.freeze) and collect the young generation less
        often. A PBX allocates a few short-lived objects per SIP packet and
        keeps little; with the default threshold (700) the full collections
        that follow walk every module, code object and configuration object
        over and over, which costs more than the work itself under load.
        Processes that embed PBXService (tests, tools) keep their own setting.
        """
        threshold = self.gcThreshold
        if not self._installSignalHandlers or not threshold:
            return
        gc.collect()
        gc.freeze()
        _, second, third = gc.get_threshold()
        gc.set_threshold(threshold, second, third)
        self.log.info("garbage collector: {frozen} start-up objects frozen, "
                      "young-generation threshold {threshold}",
                      frozen=gc.get_freeze_count(), threshold=threshold)

    def _booted(self, _):
        self.fullyBooted = True
        self._tuneCollector()
        self.log.info("txpbx {version} ready: PBX fully booted "
                      "({count} modules loaded, {declined} declined)",
                      version=self.version, count=len(self.loader.modules),
                      declined=len(self.loader.declined))
        self.emitEvent("FullyBooted", [("Status", "Fully Booted"),
                                       ("Uptime", "0"), ("LastReload", "0")], "system")
        self.booted.callback(self)

    def _bootFailed(self, failure):
        if failure.check(StartupError, ConfigError):
            self.log.critical("cannot start: {error}", error=str(failure.value))
        else:
            self.log.failure("cannot start", failure)
        self._fatal = True
        self.booted.errback(failure)
        self.booted.addErrback(lambda _: None)
        if self._installSignalHandlers:
            # Under twistd: stop, and leave with a non-zero status.
            self.reactor.addSystemEventTrigger("after", "shutdown", self._exitFailed)
            self.reactor.callWhenRunning(self.reactor.stop)

    def _exitFailed(self):
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    def stopService(self):
        d = defer.ensureDeferred(self._stop())
        return d

    async def _stop(self):
        self.emitEvent("Shutdown", [("Shutdown", "Cleanly"), ("Restart", "False")], "system")
        if self.channels is not None:
            for channel in list(self.channels):
                try:
                    await defer.maybeDeferred(channel.hangup, None)
                except Exception:
                    self.log.failure("hanging up {channel} at shutdown", channel=channel.name)
        await self.loader.shutdown()
        await self._stopCore()
        await defer.maybeDeferred(MultiService.stopService, self)
        self.log.info("txpbx stopped")

    # -- signals and reload ----------------------------------------------------

    def _takeSignals(self):
        """
        SIGTERM stops cleanly with status 0 (twistd's default re-raises the
        signal); SIGHUP reloads the configuration.
        """
        signal.signal(signal.SIGTERM, lambda *a: self.reactor.callFromThread(self._terminate))
        signal.signal(signal.SIGHUP, lambda *a: self.reactor.callFromThread(self.reload))

    def _terminate(self):
        self.log.info("SIGTERM: stopping")
        self.reactor.stop()

    @defer.inlineCallbacks
    def reload(self, name=None):
        """
        Reload configuration (all modules, or one). Returns the loader's
        list of (module, error or None).
        """
        if name is None:
            try:
                settings = PBXSettings.fromConfigDir(self.configDir)
            except ConfigError as e:
                self.log.error("reload: pbx.conf not applied: {error}", error=str(e))
            else:
                self.settings.verbose = settings.verbose
                self.settings.maxcalls = settings.maxcalls
            try:
                from pbxcore.http.core import reloadHTTP

                yield reloadHTTP(self)
            except ConfigError as e:
                self.log.error("reload: http.conf not applied: {error}", error=str(e))
        results = yield self.loader.reload(name)
        self.reloadTime = self.reactor.seconds()
        failed = [(n, e) for n, e in results if e]
        self.log.info("reload done: {ok} reloaded, {failed} kept their old configuration",
                      ok=len(results) - len(failed), failed=len(failed))
        return results


__all__ = ["PBXService", "loadConfigFile"]
