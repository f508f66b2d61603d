"""
The "manager" module: reads manager.conf, listens (TCP, and TLS when
tlsenable), fans core events out to sessions and registers the core actions
and the C{manager show ...} console commands.
"""

import os

from twisted.application.service import Service
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.errors import CLIUsageError, ModuleDeclined, cannotListen
from pbxcore.interfaces import ICLICommand, Module
from pbxcore.loader import StartupError
from pbxcore.manager.actions import Action, coreActions
from pbxcore.manager.bridgeactions import bridgeActions
from pbxcore.manager.configactions import configActions
from pbxcore.manager.sessionactions import sessionActions
from pbxcore.manager.config import formatClasses, loadManagerConf
from pbxcore.manager.protocol import ManagerFactory
from pbxcore.metrics import MetricGauge


class ManagerListener(Service):
    """
    Owns the listening ports of one factory. Binding happens in
    startService; the bound port is logged as
    C{manager listening on HOST:PORT} and kept in C{port}.
    """

    log = Logger()
    name = "manager"

    def __init__(self, factory, settings, reactor):
        self.factory = factory
        self.settings = settings
        self.reactor = reactor
        self.port = None
        self.tlsPort = None

    def startService(self):
        super().startService()
        if self.port is None:
            self.listen()

    def listen(self):
        """
        Bind the manager's ports. A port that cannot be bound raises
        L{StartupError} with one line (start-up is all or nothing).
        """
        s = self.settings
        try:
            self.port = self.reactor.listenTCP(s.port, self.factory, interface=s.bindAddr)
        except CannotListenError as e:
            raise StartupError(cannotListen(e.interface, e.port, e.socketError)) from e
        address = self.port.getHost()
        self.log.info("manager listening on {host}:{port}", host=address.host,
                      port=address.port)
        if s.tlsEnable:
            from twisted.internet import ssl

            certFile = s.tlsCertFile
            keyFile = s.tlsPrivateKey or certFile
            with open(certFile, "rb") as f:
                certData = f.read()
            with open(keyFile, "rb") as f:
                keyData = f.read()
            cert = ssl.PrivateCertificate.loadPEM(keyData + b"\n" + certData) \
                if keyFile != certFile else ssl.PrivateCertificate.loadPEM(certData)
            try:
                self.tlsPort = self.reactor.listenSSL(s.tlsPort, self.factory, cert.options(),
                                                      interface=s.tlsBindAddr)
            except CannotListenError as e:
                port, self.port = self.port, None
                port.stopListening()
                raise StartupError(cannotListen(e.interface, e.port, e.socketError)) from e
            address = self.tlsPort.getHost()
            self.log.info("manager listening (TLS) on {host}:{port}",
                          host=address.host, port=address.port)

    def stopService(self):
        super().stopService()
        from twisted.internet import defer

        ds = []
        for name in ("port", "tlsPort"):
            port = getattr(self, name)
            if port is not None:
                ds.append(defer.maybeDeferred(port.stopListening))
        for session in list(self.factory.sessions):
            if session.transport is not None:
                session.transport.loseConnection()
        return defer.gatherResults(ds) if ds else None


def _sessionCounts(factory):
    """{'yes': logged in, 'no': not yet} for /metrics."""
    counts = {"yes": 0, "no": 0}
    for session in factory.sessions:
        counts["yes" if session.authenticated else "no"] += 1
    return counts


class ManagerModule(Module):
    """The manager interface as a loadable module."""

    log = Logger()

    def __init__(self):
        self.factory = None
        self.listener = None
        self.path = None

    @property
    def listeningPort(self):
        """The bound TCP port number, or None."""
        if self.listener is None or self.listener.port is None:
            return None
        return self.listener.port.getHost().port

    @property
    def tlsListeningPort(self):
        if self.listener is None or self.listener.tlsPort is None:
            return None
        return self.listener.tlsPort.getHost().port

    def _read(self, pbx):
        return loadManagerConf(self.path)

    def load(self, pbx, registrar):
        self.path = os.path.join(pbx.configDir, "manager.conf")
        if not os.path.exists(self.path):
            raise ModuleDeclined("no manager.conf")
        settings = self._read(pbx)
        if not settings.enabled:
            raise ModuleDeclined("manager.conf: [general] enabled = no")
        if settings.tlsEnable and not settings.tlsCertFile:
            raise ModuleDeclined("manager.conf: tlsenable = yes needs tlscertfile")
        reactor = pbx.reactor
        self.factory = ManagerFactory(pbx, settings, reactor)
        factory = self.factory
        registrar.subscribe(factory.broadcast, when=lambda: factory.listeners > 0)
        actions = coreActions() + configActions(Action) + sessionActions(Action) \
            + bridgeActions(Action)
        for action in actions:
            registrar.register("manageraction", action)
        for command in managerCommands(self):
            registrar.register("clicommand", command)
        registrar.register("metric", MetricGauge(
            "asterisk_manager_sessions", "AMI connections, by whether they logged in",
            lambda: _sessionCounts(factory), ("authenticated",)))
        self.listener = ManagerListener(self.factory, settings, reactor)
        if getattr(pbx, "running", False):
            # Bound before the service is attached, so a port that cannot be
            # bound stops the start (StartupError) and leaves nothing behind.
            self.listener.listen()
        registrar.addService(self.listener)

    def reload(self, pbx):
        """
        Re-read manager.conf; a ConfigError keeps the old settings. New
        logins use the new users; the listening address stays as it is.
        """
        settings = self._read(pbx)
        old = self.factory.settings
        self.factory.settings = settings
        self.factory.reloadTime = pbx.reactor.seconds()
        if (settings.port, settings.bindAddr) != (old.port, old.bindAddr):
            self.log.warn("manager: port/bindaddr changes apply after a restart")


@implementer(ICLICommand)
class _ManagerCommand:
    def __init__(self, module, name, summary, run):
        self.module = module
        self.name = name
        self.summary = summary
        self.usage = f"Usage: {name}"
        self._run = run

    def execute(self, pbx, args):
        return self._run(self.module, pbx, args)


def _showConnected(module, pbx, args):
    if args:
        raise CLIUsageError("Usage: manager show connected")
    factory = module.factory
    now = factory.reactor.seconds()
    fmt = "  {:<15.15}  {:<55.55}  {:<10.10}  {:<10.10}  {:<8.8}  {:<8.8}  {:<5.5}  {:<5.5}"
    lines = [fmt.format("Username", "IP Address", "Start", "Elapsed", "FileDes",
                        "HttpCnt", "Read", "Write")]
    count = 0
    for session in factory.sessions:
        if not session.authenticated:
            continue
        start = session.loggedInAt or session.connectedAt or now
        lines.append(fmt.format(session.username or "", str(session.peerAddress),
                                str(int(start)), str(int(now - start)), "-1", "0",
                                str(len(session.readClasses)), str(len(session.writeClasses))))
        count += 1
    lines.append(f"{count} users connected.")
    return "\n".join(lines) + "\n"


def _showUsers(module, pbx, args):
    settings = module.factory.settings
    if args:
        user = settings.user(args[-1])
        if user is None:
            return f"There is no manager called {args[-1]}\n"
        return (f"\n          username: {user.username}\n"
                f"            secret: {'<Set>' if user.secret else '(none)'}\n"
                f"               ACL: {'yes' if user.acl.rules else 'no'}\n"
                f"         read perm: {formatClasses(user.readClasses)}\n"
                f"        write perm: {formatClasses(user.writeClasses)}\n"
                f"   displayconnects: "
                f"{'yes' if (user.displayConnects if user.displayConnects is not None else settings.displayConnects) else 'no'}\n")
    if not settings.users:
        return "There are no manager users.\n"
    lines = ["", "username", "--------"]
    lines += [u.username for u in settings.users.values()]
    lines.append("-------------------")
    lines.append(f"{len(settings.users)} manager users configured.")
    return "\n".join(lines) + "\n"


def _showCommands(module, pbx, args):
    actions = sorted(pbx.registry("manageraction"), key=lambda a: a.name.lower())
    lines = [f"  {'Action':<30.30}  {'Synopsis':<40.40}",
             f"  {'------':<30.30}  {'--------':<40.40}"]
    lines += [f"  {a.name:<30.30}  {a.synopsis:<40.40}" for a in actions]
    return "\n".join(lines) + "\n"


def managerCommands(module):
    return [
        _ManagerCommand(module, "manager show connected", "List connected manager interface users",
                        _showConnected),
        _ManagerCommand(module, "manager show users", "List configured manager users",
                        _showUsers),
        _ManagerCommand(module, "manager show user", "Display information on a specific manager user",
                        _showUsers),
        _ManagerCommand(module, "manager show commands", "List manager interface commands",
                        _showCommands),
    ]
