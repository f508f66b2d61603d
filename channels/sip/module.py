"""
chan_sip, the SIP channel driver module: the stack (transports, the
transaction layer, the out-of-dialog user agent) and, over it, the peers,
registrar, calls and console and manager commands of sip.conf.

SIP code reaches the running stack through the module object the loader
keeps (C{pbx.loader.modules["chan_sip"].module.stack}), or more simply
through the C{SIPStack} handed around at load time:

    stack.transport      the L{SIPTransportLayer} (listeners, send)
    stack.transactions   the TransactionManager (sendRequest)
    stack.userAgent      the L{UserAgent} (registerMethod, registerDialogHandler)
    stack.general        the current L{SIPGeneral} from sip.conf
"""

from __future__ import annotations

import os

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from channels.sip.admin.metrics import sipMetrics
from channels.sip.driver.config import SIPGeneral, parseGeneral
from channels.sip.net.localaddress import LocalAddresses
from channels.sip.net.transport import SIPTransportLayer
from channels.sip.net.useragent import UserAgent
from pbxcore.config import parseFile
from pbxcore.errors import ModuleDeclined, cannotListen
from pbxcore.interfaces import Module
from pbxcore.loader import StartupError
from pbxcore.metrics import MetricCollector


def makeTimers(general: SIPGeneral):
    """The transaction layer's timer settings for C{general}, in seconds."""
    from channels.sip.machines.transaction import Timers

    return Timers(t1=general.timerT1 / 1000.0)


class SIPStack:
    """
    The running SIP stack: transport layer, transaction manager and user
    agent wired together. C{start} binds the listeners of C{general}.
    """

    log = Logger()

    def __init__(self, general: SIPGeneral, reactor=None):
        from channels.sip.net.transactions import TransactionManager

        self.general = general
        self.transport = SIPTransportLayer(reactor=reactor)
        self.userAgent = UserAgent(userAgent=general.userAgent)
        self.transactions = TransactionManager(self.transport, self.userAgent, reactor=reactor, timers=makeTimers(general))
        self.transport.receiver = self.transactions
        self.listening = []
        self.addresses = LocalAddresses(self)

    def start(self):
        """Bind every listener; raise CannotListenError (or OSError, ValueError)."""
        try:
            for spec in self.general.listenerSpecs():
                port = self.transport.listen(spec)
                host = port.getHost()
                self.listening.append(port)
                self.log.info("SIP listening on {kind} {host}:{port}", kind=spec.split(":", 1)[0], host=host.host, port=host.port)
        except Exception:
            self.transport.stopListening()
            self.listening = []
            raise

    def stop(self) -> defer.Deferred:
        """Close the sockets and drop the transactions' pending timers."""
        self.listening = []
        self.transactions.stop()
        return self.transport.stopListening()

    def applyGeneral(self, general: SIPGeneral):
        """Take the settings that can change without a restart."""
        if general.bindings() != self.general.bindings():
            self.log.warn("sip.conf: the bind addresses changed; restart the PBX to use them")
        self.userAgent.userAgent = general.userAgent
        self.general = general


class SIPStackService(Service):
    """Keeps the stack's sockets open while chan_sip is loaded."""

    name = "chan_sip"

    def __init__(self, stack: SIPStack):
        self.stack = stack

    def startService(self):
        super().startService()
        if not self.stack.listening:
            self.stack.start()

    def stopService(self):
        super().stopService()
        return self.stack.stop()


class ChanSIPModule(Module):
    """
    The chan_sip module. C{stack} is the running L{SIPStack} while loaded.
    """

    log = Logger()

    def __init__(self):
        self.stack: SIPStack | None = None
        self.peers = None  # the PeerService: peers, registrar, qualify, register =>

    def _readConfig(self, pbx) -> SIPGeneral:
        path = os.path.join(pbx.configDir, "sip.conf")
        if not os.path.exists(path):
            raise ModuleDeclined(f"{path} not found; chan_sip not loaded")
        # Unknown keys are warned about once, with file:line, by the peers
        # parser (channels.sip.driver.peers.parseSIPConf), which reads every key.
        return parseGeneral(parseFile(path))

    def load(self, pbx, registrar):
        from channels.sip.driver.peerservice import PeerService, readSIPConf

        general = self._readConfig(pbx)
        sipConfig = readSIPConf(pbx)  # peers and registrations: fail before binding
        stack = SIPStack(general, reactor=pbx.reactor)
        try:
            stack.start()
        except CannotListenError as e:
            # All or nothing: a SIP port that cannot be bound stops the start.
            raise StartupError(cannotListen(e.interface, e.port, e.socketError)) from e
        except (OSError, ValueError) as e:
            raise ModuleDeclined(f"chan_sip cannot listen: {e}") from e
        self.stack = stack
        registrar.addService(SIPStackService(stack))
        try:
            self.peers = PeerService(pbx, stack, sipConfig, reactor=pbx.reactor).install(registrar)
            from channels.sip.driver.technology import installCalls

            installCalls(pbx, stack, registrar)
            self._mountWebSocket(pbx, registrar, stack)
            registrar.register("metric", MetricCollector(
                "asterisk_sip", lambda: sipMetrics(stack, self.peers)))
        except Exception:
            stack.stop()
            raise

    def _mountWebSocket(self, pbx, registrar, stack):
        """SIP over WebSocket at /ws of the HTTP server, unless websocket_enabled = no."""
        from channels.sip.net.websocket import SIPWebSocketResource
        from pbxcore.config import isFalse
        from pbxcore.http import HTTPURI

        section = parseFile(os.path.join(pbx.configDir, "sip.conf")).section("general")
        if section is not None and isFalse(section.get("websocket_enabled", "yes")):
            return
        registrar.register("http.uri", HTTPURI("ws", SIPWebSocketResource(stack.transport),
                                               "SIP over WebSocket (RFC 7118)"))

    def reload(self, pbx):
        from channels.sip.driver.peerservice import readSIPConf

        general = self._readConfig(pbx)
        sipConfig = readSIPConf(pbx)  # parse everything before applying anything
        if self.stack is not None:
            self.stack.applyGeneral(general)
        if self.peers is not None:
            self.peers.reload(sipConfig)

    def unload(self, pbx):
        self.peers = None
        stack, self.stack = self.stack, None
        if stack is not None and stack.listening:
            return stack.stop()
        return None
