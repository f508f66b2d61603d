"""
The HTTP server shell: a C{twisted.web} L{Site} whose root dispatches to the
resources modules mount (registry kind C{"http.uri"}), bound on the
addresses of http.conf, with Asterisk's C{sessionlimit} and
C{session_inactivity}.
"""

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.web import pages, resource, server

from pbxcore.http.config import HTTPSettings


class HTTPRoot(resource.Resource):
    """
    The root of the site: strips http.conf's C{prefix}, then hands the
    request to the mounted resource with the longest matching path. The
    registry is read on every request, so a module's mount appears and
    disappears with the module.
    """

    def __init__(self, registry, server):
        super().__init__()
        self.registry = registry
        self.server = server

    def getChild(self, name, request):
        settings = self.server.settings
        request.setHeader(b"server", settings.serverName.encode("utf-8", "replace"))
        try:
            segments = [s.decode("utf-8") for s in [name] + list(request.postpath)]
        except UnicodeDecodeError:
            return pages.errorPage(400, "Bad Request", "The path is not UTF-8.")
        prefix = [s for s in settings.prefix.split("/") if s]
        if segments[:len(prefix)] != prefix:
            return notFound()
        rest = segments[len(prefix):]
        best = None
        for uri in self.registry:
            parts = uri.segments
            if tuple(rest[:len(parts)]) == parts and (best is None or
                                                      len(parts) > len(best.segments)):
                best = uri
        if best is None:
            return notFound()
        for _ in range(len(prefix) + len(best.segments) - 1):
            request.prepath.append(request.postpath.pop(0))
        return best.resource

    def render(self, request):
        return notFound().render(request)


def notFound():
    return pages.notFound("Not Found", "The requested URL was not found on this server.")


class HTTPSite(server.Site):
    """
    A Site that refuses connections over C{sessionlimit} (closed at once,
    as Asterisk does) and remembers its connections so that stopping the
    server closes them.
    """

    displayTracebacks = False

    def __init__(self, root, settings):
        super().__init__(root, timeout=settings.sessionInactivity or None)
        self.sessionLimit = settings.sessionLimit
        self.connections = set()
        self.refused = 0
        self.served = 0

    def buildProtocol(self, addr):
        if len(self.connections) >= self.sessionLimit:
            self.refused += 1
            return None
        protocol = super().buildProtocol(addr)
        self.connections.add(protocol)
        self.served += 1
        lost = protocol.connectionLost

        def connectionLost(reason, lost=lost):
            self.connections.discard(protocol)
            return lost(reason)

        protocol.connectionLost = connectionLost
        return protocol

    def log(self, request):
        """No access log: a PBX log line per HTTP request is noise."""


class HTTPServer:
    """
    The HTTP and HTTPS listeners of the PBX. L{start} binds (raising
    CannotListenError); L{reload} applies new settings, rebinding when the
    addresses changed; L{stop} closes listeners and connections.
    """

    log = Logger()

    def __init__(self, settings: HTTPSettings, registry, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.settings = settings
        self.registry = registry
        self.root = HTTPRoot(registry, self)
        self.site = HTTPSite(self.root, settings)
        self.port = None
        self.tlsPort = None

    @property
    def address(self):
        """(host, port) actually bound for HTTP, or None."""
        if self.port is None:
            return None
        host = self.port.getHost()
        return host.host, host.port

    @property
    def tlsAddress(self):
        if self.tlsPort is None:
            return None
        host = self.tlsPort.getHost()
        return host.host, host.port

    def start(self):
        s = self.settings
        if not s.enabled:
            return
        self.port = self.reactor.listenTCP(s.bindPort, self.site, interface=s.bindAddr)
        host, port = self.address
        self.log.info("HTTP server listening on {host}:{port}", host=host, port=port)
        if s.tlsEnable:
            try:
                options = _tlsOptions(s)
                self.tlsPort = self.reactor.listenSSL(s.tlsBindPort, self.site, options,
                                                      interface=s.tlsBindAddr)
            except CannotListenError:
                self._stopPorts()
                raise
            except Exception as e:
                self._stopPorts()
                raise CannotListenError(s.tlsBindAddr, s.tlsBindPort, e) from e
            host, port = self.tlsAddress
            self.log.info("HTTPS server listening on {host}:{port}", host=host, port=port)

    def _stopPorts(self):
        ds = []
        for name in ("port", "tlsPort"):
            port = getattr(self, name)
            setattr(self, name, None)
            if port is not None:
                ds.append(defer.maybeDeferred(port.stopListening))
        return defer.gatherResults(ds) if ds else defer.succeed(None)

    def stop(self):
        d = self._stopPorts()
        for protocol in list(self.site.connections):
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                transport.abortConnection() if hasattr(transport, "abortConnection") \
                    else transport.loseConnection()
        return d

    @defer.inlineCallbacks
    def reload(self, settings: HTTPSettings):
        """
        Swap in C{settings}. When the bind addresses or TLS files changed the
        listeners are closed and bound again; a failure to bind is logged
        and leaves the server unbound (as Asterisk does).
        """
        old = self.settings
        self.settings = settings
        self.site.sessionLimit = settings.sessionLimit
        self.site.timeOut = settings.sessionInactivity or None
        rebind = (old.enabled, old.bindAddr, old.bindPort, old.tlsEnable, old.tlsBindAddr,
                  old.tlsBindPort, old.tlsCertFile, old.tlsPrivateKey) != (
            settings.enabled, settings.bindAddr, settings.bindPort, settings.tlsEnable,
            settings.tlsBindAddr, settings.tlsBindPort, settings.tlsCertFile,
            settings.tlsPrivateKey)
        if not rebind:
            return
        yield self._stopPorts()
        try:
            self.start()
        except CannotListenError as e:
            self.log.error("HTTP server not bound after reload: {error}", error=str(e))

    def status(self):
        """The text of C{http show status}, in Asterisk's shape."""
        s = self.settings
        lines = ["HTTP Server Status:", f"Prefix: {('/' + s.prefix) if s.prefix else ''}",
                 f"Server: {s.serverName}"]
        if self.port is None:
            lines.append("Server Disabled")
        else:
            host, port = self.address
            lines.append(f"Server Enabled and Bound to {host}:{port}")
            if self.tlsPort is not None:
                host, port = self.tlsAddress
                lines.append(f"HTTPS Server Enabled and Bound to {host}:{port}")
            lines.append(f"Sessions: {len(self.site.connections)} open, "
                         f"limit {self.site.sessionLimit}, {self.site.served} served, "
                         f"{self.site.refused} refused")
            lines.append("")
            lines.append("Enabled URI's:")
            uris = sorted(self.registry, key=lambda u: u.path)
            prefix = ("/" + s.prefix) if s.prefix else ""
            for uri in uris:
                lines.append(f"{prefix}/{uri.path}/... => {uri.description or uri.path}")
            if not uris:
                lines.append("None.")
        return "\n".join(lines) + "\n"


def _tlsOptions(settings):
    from twisted.internet import ssl

    certFile = settings.tlsCertFile
    keyFile = settings.tlsPrivateKey or certFile
    with open(certFile, "rb") as f:
        certData = f.read()
    if keyFile != certFile:
        with open(keyFile, "rb") as f:
            certData = f.read() + b"\n" + certData
    return ssl.PrivateCertificate.loadPEM(certData).options()


class HTTPService(Service):
    """Keeps the server's listeners for the PBX's lifetime."""

    name = "http"

    def __init__(self, server):
        self.server = server

    def stopService(self):
        super().stopService()
        return self.server.stop()
