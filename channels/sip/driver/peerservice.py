"""
The peer side of chan_sip: what Asterisk's chan_sip builds at load_module
besides calls. One L{PeerService} per loaded module holds

    config      the L{channels.sip.driver.peers.SIPConfig} of sip.conf
    location    the L{channels.sip.driver.registrar.LocationService} (bindings)
    auth        the L{channels.sip.driver.security.Authenticator}
    qualify     the L{channels.sip.driver.qualify.QualifyService}
    registry    the L{channels.sip.driver.registry.RegistryService} (register =>)
    security    the L{channels.sip.driver.security.SecurityLog}

and publishes them on the stack (C{stack.peers}, C{stack.location},
C{stack.auth}, C{stack.qualify}) for the call layer. C{peerFor(name)} finds
a peer in sip.conf, then by default user, then in the realtime
C{sippeers} table (cached when C{rtcachefriends=yes}).

L{PeerService.checkDialable} is what a SIP channel request calls first: it
raises L{ChannelUnavailable} (cause 20, CHANUNAVAIL to Dial) for an unknown
peer, a dynamic peer with no binding or a qualified peer that is
unreachable, without sending anything.

Reload (C{sip reload}, SIGHUP) parses sip.conf completely, then swaps the
configuration: bindings, calls and unchanged outbound registrations live
on; a bad file keeps the old configuration and reports file:line.
"""

from __future__ import annotations

import os

from twisted.application.service import Service
from twisted.logger import Logger

from channels.sip.net.address import Address
from channels.sip.net.localaddress import addressesOf
from channels.sip.wire.requests import outOfDialogRequest
from channels.sip.driver.peers import SIPConfig, parseSIPConf, peerFromRow
from channels.sip.driver.qualify import QualifyService
from channels.sip.driver.registrar import STORE_FILENAME, BindingStore, LocationService, Registrar
from channels.sip.driver.registry import RegistryService
from channels.sip.driver.security import Authenticator, SecurityLog
from channels.sip.wire.uri import unescape
from channels.sip.wire.via import forceRport
from pbxcore.config import ConfigError, parseFile
from pbxcore.errors import ChannelUnavailable

__all__ = ["PeerService", "readSIPConf"]


def optionsExtension(request) -> str:
    """
    The extension an OPTIONS asks about: the Request-URI's user part,
    unescaped, without the user options after C{;} (Asterisk's
    AST_SIP_USER_OPTIONS_TRUNCATE_CHECK); '' when there is none.
    """
    user = getattr(request.requestURI, "user", None) or ""
    return unescape(user).partition(";")[0]


def readSIPConf(pbx) -> SIPConfig:
    """Parse C{sip.conf} of C{pbx.configDir}; raise ConfigError (file:line)."""
    return parseSIPConf(parseFile(os.path.join(pbx.configDir, "sip.conf")))


class PeerService(Service):
    """Peers, registrar, qualify and outbound registrations of one chan_sip."""

    log = Logger()
    name = "chan_sip peers"

    def __init__(self, pbx, stack, config: SIPConfig, reactor=None, storePath: str | None = "default"):
        if reactor is None:
            reactor = getattr(pbx, "reactor", None)
        if reactor is None:
            from twisted.internet import reactor
        self.pbx = pbx
        self.stack = stack
        self.config = config
        self.reactor = reactor
        if storePath == "default":
            dataDir = getattr(pbx, "dataDir", None)
            storePath = os.path.join(dataDir, STORE_FILENAME) if dataDir else None
        self.store = BindingStore(storePath, reactor)
        self.location = LocationService(self.store)
        #: Where realtime sippeers rows come from: the SQLite store, or
        #: PostgreSQL (L{channels.sip.driver.pgpeers.PgPeers}).
        self.rows = self.store
        self.security = SecurityLog(self.emit, self._localAddressText())
        self.auth = Authenticator(self, self.security)
        self.registrar = Registrar(self)
        self.qualify = QualifyService(self, reactor)
        self.registry = RegistryService(self, reactor)
        self._realtimeCache: dict[str, object] = {}
        self._byUser: dict[str, object] = {}
        self._expiryCall = None
        self._expiryAt = None
        self._opened = False
        self._indexUsers()
        self._warn(config)

    # -- installation -------------------------------------------------------

    def connectionClosed(self, address):
        """
        A stream connection closed: bindings made over a WebSocket are
        dropped with it (nothing can reach a browser any more).
        """
        if address is None or address.transport.upper() not in ("WS", "WSS"):
            return
        for name in self.location.peers():
            bindings = self.location.contacts(name)
            keep = [b for b in bindings if b.source != address]
            if len(keep) != len(bindings):
                peer = self.peerFor(name)
                self.log.info("SIP/{peer}: WebSocket {address} closed, binding dropped",
                              peer=name, address=str(address))
                if peer is not None:
                    self.bindingsChanged(peer, keep)
                else:
                    self.location.replace(name, keep)

    def open(self):
        """Open the store and take the bindings it holds (once)."""
        if self._opened:
            return
        self._opened = True
        # A WebSocket binding cannot outlive its connection (nor the process).
        stored = [b for b in self.store.open()
                  if b.source is None or b.source.transport.upper() not in ("WS", "WSS")]
        expired = self.location.load(stored, self.now())
        if stored:
            self.log.info("SIP registrar: {count} bindings restored ({expired} expired)",
                          count=len(stored) - len(expired), expired=len(expired))

    def install(self, registrar):
        """Open the store, hook REGISTER, publish on the stack, register CLI and manager."""
        from channels.sip.admin import cli, manager
        from channels.sip.driver import functions

        self.open()
        stack = self.stack
        registrar.addCleanup(stack.userAgent.registerMethod("REGISTER", self.registrar))
        registrar.addCleanup(stack.userAgent.registerMethod("OPTIONS", self._options))
        stack.peers = self
        stack.location = self.location
        stack.auth = self.auth
        stack.qualify = self.qualify
        observers = getattr(stack.transport, "closedObservers", None)
        if observers is not None:
            observers.append(self.connectionClosed)
            registrar.addCleanup(lambda: observers.remove(self.connectionClosed)
                                 if self.connectionClosed in observers else None)
        for command in cli.commands(self):
            registrar.register("clicommand", command)
        for action in manager.actions(self):
            registrar.register("manageraction", action)
        for function in functions.functions(self):
            registrar.register("function", function)
        registrar.addService(self)
        self._installRealtime(registrar)
        return self

    def _installRealtime(self, registrar):
        """sippeers from PostgreSQL when extconfig.conf maps it (res_pgsql.conf)."""
        from pbxcore.store.realtime import loadRealtime

        configDir = getattr(self.pbx, "configDir", None)
        realtime = loadRealtime(configDir) if configDir else None
        mapping = realtime.mapping("sippeers") if realtime else None
        if mapping is None:
            return
        from channels.sip.driver.pgpeers import PgPeers
        from pbxcore.store.pgsql import PgDatabase

        database = PgDatabase(realtime.connectionFor("sippeers"), reactor=self.reactor)
        self.rows = PgPeers(database, mapping.table, onChange=self._realtimeCache.clear)
        registrar.addCleanup(database.close)
        registrar.addCleanup(self.rows.stop)
        self.rows.start()
        self.log.info("realtime sippeers from PostgreSQL {where} (table {table})",
                      where=database.where(), table=mapping.table)

    def _options(self, request, st):
        """
        An out-of-dialog OPTIONS, answered as Asterisk does (res_pjsip's
        options module, chan_sip without auth_options_requests): no
        authentication; 200 when the Request-URI has no user part or names
        an extension of the sender's context, 404 when it names none; the
        capabilities (Allow, Accept, Supported) in either answer. From
        behind a NAT it is answered to the packet's source port.
        """
        self.forceRport(request, st.source)
        ua = self.stack.userAgent
        exten = optionsExtension(request)
        if exten:
            context = self.senderContext(request, st.source)
            dialplan = getattr(self.pbx, "dialplan", None)
            if dialplan is None or dialplan.find(context, exten, 1, None) is None:
                ua.respond(st, request, 404, "Not Found", ua.capabilityHeaders())
                return
        ua.sip_OPTIONS(request, st)

    def senderContext(self, request, source) -> str:
        """
        The dialplan context of the request's sender without authenticating
        it: the peer its From user names (a friend or user), else a peer
        configured at its source address, else the general C{context}.
        """
        user = getattr(getattr(request.fromAddr, "uri", None), "user", None)
        peer = self.peerFor(user) if user else None
        if peer is not None and getattr(peer, "type", "friend") not in ("friend", "user"):
            peer = None
        if peer is None:
            host = getattr(source, "host", None)
            for candidate in self.config.peers.values():
                if not candidate.dynamic and candidate.host == host and \
                        (candidate.port in (None, source.port) or "port" in candidate.insecure):
                    peer = candidate
                    break
        return (peer.context if peer is not None else "") or self.config.settings.context

    def startService(self):
        super().startService()
        self.open()
        self.qualify.start()
        self.registry.start()
        self._armExpiry()

    def stopService(self):
        super().stopService()
        self.qualify.stop()
        self.registry.stop()
        if self._expiryCall is not None and self._expiryCall.active():
            self._expiryCall.cancel()
        self._expiryCall = None
        self._opened = False
        return self.store.close()

    def reload(self, config: SIPConfig | None = None):
        """Apply a new sip.conf (parsed from disk when C{config} is None)."""
        if config is None:
            config = readSIPConf(self.pbx)
        self.config = config
        self._realtimeCache.clear()
        addressesOf(self.stack).clear()
        self._indexUsers()
        self._warn(config)
        self.auth.nonces.lifetime = config.settings.nonceLifetime
        if self.running:
            self.qualify.reconfigure()
            self.registry.reconfigure()
        self.log.info("sip.conf reloaded: {peers} peers, {regs} registrations",
                      peers=len(config.peers), regs=len(config.registrations))

    def _warn(self, config):
        for warning in config.warnings:
            self.log.warn("{warning}", warning=warning)

    def _indexUsers(self):
        self._byUser = {p.defaultuser.lower(): p for p in self.config.peers.values() if p.defaultuser}

    # -- clock, events ---------------------------------------------------------

    def now(self) -> float:
        return self.reactor.seconds()

    def emit(self, name, fields, category="system"):
        events = getattr(self.pbx, "events", None)
        if events is not None and not len(events):
            return  # nobody listens: skip building the event
        emit = getattr(self.pbx, "emitEvent", None)
        if emit is not None:
            emit(name, fields, category)

    def peerStatus(self, name: str, status: str, time: int | None = None, cause: str | None = None):
        """A C{PeerStatus} event and a device state change for SIP/name."""
        fields = [("ChannelType", "SIP"), ("Peer", f"SIP/{name}"), ("PeerStatus", status)]
        if time is not None:
            fields.append(("Time", str(time)))
        if cause:
            fields.append(("Cause", cause))
        self.emit("PeerStatus", fields, "system")
        devicestate = getattr(self.pbx, "devicestate", None)
        if devicestate is not None:
            try:
                devicestate.deviceStateChanged(f"SIP/{name}")
            except Exception:
                self.log.failure("device state of SIP/{peer}", peer=name)

    # -- peers ------------------------------------------------------------------

    def peerFor(self, name: str):
        """The L{Peer} called C{name} (sip.conf, default user, realtime), or None."""
        if not name:
            return None
        key = name.lower()
        peer = self.config.peers.get(key) or self._byUser.get(key)
        if peer is not None:
            return peer
        if key in self._realtimeCache:
            return self._realtimeCache[key]
        row = self.rows.realtimePeer(name)
        if row is None:
            return None
        try:
            peer = peerFromRow(row, self.config.defaults, "sippeers")
        except ConfigError as e:
            self.log.warn("realtime peer {name} ignored: {error}", name=name, error=str(e))
            return None
        if self.config.settings.rtcachefriends:
            self._realtimeCache[key] = peer
        return peer

    def isRealtimeQualified(self, key: str) -> bool:
        return key in self._realtimeCache and bool(getattr(self._realtimeCache[key], "qualify", None))

    def allPeers(self) -> list:
        peers = dict(self.config.peers)
        for key, peer in self._realtimeCache.items():
            peers.setdefault(key, peer)
        return sorted(peers.values(), key=lambda p: p.name.lower())

    def forceRport(self, request, source):
        """
        Answer to the packet's source port (RFC 3581) when the peer's nat
        setting (the [general] default, force_rport) asks for it, even if
        the phone did not offer rport.
        """
        if source is None or source.reliable or "force_rport" not in self.config.defaults.nat:
            return
        forceRport(request, source.host, source.port)

    def targetOf(self, peer):
        """(request URI, destination Address) to reach C{peer}, or None."""
        if peer.dynamic:
            bindings = self.location.contacts(peer.name, self.now())
            if not bindings:
                return None
            binding = bindings[0]
            source = binding.source
            if source is not None and ("force_rport" in peer.nat
                                       or source.transport.upper() in ("WS", "WSS")):
                return binding.uri, source
            from channels.sip.wire.uri import parseURI

            uri = parseURI(binding.uri)
            transport = (uri.param("transport") or "udp").upper()
            return binding.uri, Address(transport, uri.host, uri.port or (5061 if transport == "TLS" else 5060))
        transport = peer.transports[0].upper() if peer.transports else "UDP"
        port = peer.port or (5061 if transport == "TLS" else 5060)
        host = f"[{peer.host}]" if ":" in peer.host else peer.host
        user = f"{peer.defaultuser}@" if peer.defaultuser else ""
        return f"sip:{user}{host}:{port}", Address(transport, peer.host, port)

    def deviceState(self, name: str) -> str:
        """The device state of SIP/name as far as registration and qualify tell."""
        peer = self.peerFor(name)
        if peer is None:
            return "INVALID"
        if not self.qualify.isReachable(peer.name):
            return "UNAVAILABLE"
        if peer.dynamic and not self.location.isRegistered(peer.name, self.now()):
            return "UNAVAILABLE"
        return "NOT_INUSE"

    def checkDialable(self, name: str):
        """
        The peer to call for C{SIP/name}; raise ChannelUnavailable with cause
        SUBSCRIBER_ABSENT (CHANUNAVAIL) when it cannot be reached now.
        """
        from pbxcore.frame import HangupCause

        peer = self.peerFor(name)
        if peer is None:
            raise ChannelUnavailable(HangupCause.SUBSCRIBER_ABSENT, f"no SIP peer named {name!r}")
        if not self.qualify.isReachable(peer.name):
            raise ChannelUnavailable(HangupCause.SUBSCRIBER_ABSENT, f"SIP peer {peer.name} is unreachable")
        if peer.dynamic and not self.location.isRegistered(peer.name, self.now()):
            raise ChannelUnavailable(HangupCause.SUBSCRIBER_ABSENT, f"SIP peer {peer.name} is not registered")
        return peer

    # -- bindings ----------------------------------------------------------------

    def bindingsChanged(self, peer, bindings):
        """The registrar accepted a REGISTER: store, publish, poke, re-arm expiry."""
        before = {b.uri for b in self.location.contacts(peer.name, self.now())}
        self.location.replace(peer.name, bindings)
        if bindings:
            if before != {b.uri for b in bindings}:
                address = bindings[0].source
                self._verbose(3, "Registered SIP '{peer}' at {address}", peer=peer.name, address=str(address))
                self.peerStatus(peer.name, "Registered", cause=None)
                if peer.realtime:
                    self.qualify.track(peer)
                self.qualify.registered(peer)
        elif before:
            self._verbose(3, "Unregistered SIP '{peer}'", peer=peer.name)
            self.peerStatus(peer.name, "Unregistered")
            self.qualify.unregistered(peer)
        self._armExpiry()

    def _verbose(self, level, message, **kw):
        """Asterisk's verbose levels: logged when pbx.conf's verbose is high enough."""
        verbose = getattr(self.pbx, "verbose", None)
        if callable(verbose):
            verbose(level, message, **kw)
        else:
            self.log.info(message, **kw)

    def _armExpiry(self):
        if not self.running:
            return
        when = self.location.nextExpiry()
        if when is None:
            return
        if self._expiryCall is not None and self._expiryCall.active():
            if self._expiryAt is not None and self._expiryAt <= when:
                return
            self._expiryCall.cancel()
        self._expiryAt = when
        self._expiryCall = self.reactor.callLater(max(0.0, when - self.now()), self._expireNow)

    def _expireNow(self):
        self._expiryCall = None
        self._expiryAt = None
        try:
            gone = self.location.expire(self.now())
            for name in gone:
                if not self.location.isRegistered(name):
                    self.log.info("Registration of SIP '{peer}' expired", peer=name)
                    self.peerStatus(name, "Unregistered", cause="Expired")
                    peer = self.peerFor(name)
                    if peer is not None:
                        self.qualify.unregistered(peer)
        except Exception:
            self.log.failure("expiring SIP bindings")
        self._armExpiry()

    # -- building requests ---------------------------------------------------------

    def _localAddressText(self) -> str:
        try:
            host, port = self.localAddress(Address("UDP", "127.0.0.1", 5060))
        except Exception:
            return ""
        family = "IPV6" if ":" in host else "IPV4"
        return f"{family}/UDP/{host}/{port}"

    def localAddress(self, destination) -> tuple[str, int]:
        """Our host and listening port for sending to C{destination} (the stack's resolver)."""
        return addressesOf(self.stack).localAddress(destination)

    def makeRequest(self, method, uri, destination, toUser=None, toUri=None, fromUri=None,
                    callId=None, cseq=1, fromTag=None, contactUser=None, headers=()):
        """An out-of-dialog request from this PBX to C{destination}."""
        addresses = addressesOf(self.stack)
        user = contactUser or "asterisk"
        fromUri = fromUri or f"sip:{user}@{addresses.hostText(destination)}"
        extra = list(headers) + ([("Accept", "application/sdp")] if method == "OPTIONS" else [])
        return outOfDialogRequest(method, uri, addresses.viaFor(destination),
                                  addresses.contactFor(destination, user), f"<{fromUri}>",
                                  f"<{toUri if toUri is not None else uri}>", callId=callId,
                                  cseq=cseq, fromTag=fromTag,
                                  userAgent=self.stack.userAgent.userAgent, headers=extra)
