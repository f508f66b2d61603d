"""
The HTTP server as a core service of L{pbxcore.service.PBXService}: read
http.conf, bind before the modules load (so a port that cannot be bound
stops the start), register C{http show status}, reload with the PBX.
"""

from twisted.internet.error import CannotListenError

from pbxcore.errors import cannotListen
from pbxcore.http.cli import HTTPShowStatus
from pbxcore.http.config import loadHTTPConf
from pbxcore.http.server import HTTPServer, HTTPService
from pbxcore.loader import StartupError


def startHTTP(pbx, registrar):
    """
    Start the server of C{pbx} (a disabled one answers C{http show status}
    too). Raises ConfigError or StartupError (the port cannot be bound).
    """
    settings = loadHTTPConf(pbx.configDir)
    server = HTTPServer(settings, pbx.registry("http.uri"), reactor=pbx.reactor)
    try:
        server.start()
    except CannotListenError as e:
        raise StartupError(cannotListen(e.interface, e.port, e.socketError)) from e
    registrar.addService(HTTPService(server))
    registrar.register("clicommand", HTTPShowStatus(server))
    return server


def reloadHTTP(pbx):
    """Re-read http.conf; a ConfigError keeps the old settings (raised)."""
    if pbx.http is None:
        return None
    return pbx.http.reload(loadHTTPConf(pbx.configDir))
