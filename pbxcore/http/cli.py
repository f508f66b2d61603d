"""The C{http show status} console command."""

from zope.interface import implementer

from pbxcore.errors import CLIUsageError
from pbxcore.interfaces import ICLICommand


@implementer(ICLICommand)
class HTTPShowStatus:
    name = "http show status"
    summary = "Display HTTP server status"
    usage = ("Usage: http show status\n"
             "       Lists status of internal HTTP engine")

    def __init__(self, server):
        self.server = server

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        return self.server.status()
