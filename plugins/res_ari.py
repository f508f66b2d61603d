"""
res_ari: the Asterisk REST Interface on the HTTP server (http.conf), at
C{/ari}: REST resources for channels, bridges, playbacks, recordings,
endpoints, device states, applications and sounds; events over the
WebSocket C{/ari/events?app=NAME}; the Swagger documents at
C{/ari/api-docs/}. Users and options in ari.conf. The C{Stasis()}
dialplan application is the module app_stasis.
"""

import os

from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.config import parseFile
from pbxcore.errors import CLIUsageError, ModuleDeclined
from pbxcore.http import HTTPURI
from pbxcore.interfaces import ICLICommand
from plugins.res_ari_channels import ChannelHandlers
from plugins.res_ari_config import AriSettings, fromConfig
from plugins.res_ari_http import AriRoot
from plugins.res_ari_resources import Resources
from plugins.res_ari_stasis import CORE_EVENTS, StasisCore


class AriModule(Module):
    """The ARI module; C{core} is the L{StasisCore} while loaded."""

    def __init__(self):
        self.settings = AriSettings()
        self.core = None
        self._handlers = ()

    def _read(self, pbx):
        path = os.path.join(pbx.configDir, "ari.conf")
        if not os.path.exists(path):
            raise ModuleDeclined("no ari.conf")
        return fromConfig(parseFile(path))

    def load(self, pbx, registrar):
        settings = self._read(pbx)
        if not settings.enabled:
            raise ModuleDeclined("ari.conf: [general] enabled = no")
        self.settings = settings
        self.core = core = StasisCore(pbx, pbx.reactor)
        self._handlers = (ChannelHandlers(core), Resources(core))
        registrar.subscribe(core.coreEvent, CORE_EVENTS, core.wants)
        registrar.register("http.uri", HTTPURI("ari", AriRoot(self),
                                               "Asterisk RESTful Interface"))
        for command in (AriShowApps(self), AriShowUsers(self)):
            registrar.register("clicommand", command)
        registrar.addCleanup(core.shutdown)

    def handler(self, op):
        name = f"{op.resource}_{op.nickname}"
        for handlers in self._handlers:
            method = getattr(handlers, name, None)
            if method is not None:
                return method
        raise LookupError(name)

    def reload(self, pbx):
        settings = self._read(pbx)
        self.settings = settings


@implementer(ICLICommand)
class AriShowApps:
    name = "ari show apps"
    summary = "List registered ARI applications"
    usage = "Usage: ari show apps"

    def __init__(self, module):
        self.module = module

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        apps = [a for a in self.module.core.apps.values() if a.session is not None]
        lines = ["Application Name", "========================="]
        lines += [a.name for a in sorted(apps, key=lambda a: a.name)]
        return "\n".join(lines) + "\n"


@implementer(ICLICommand)
class AriShowUsers:
    name = "ari show users"
    summary = "List ARI users"
    usage = "Usage: ari show users"

    def __init__(self, module):
        self.module = module

    def execute(self, pbx, args):
        if args:
            raise CLIUsageError(self.usage)
        lines = ["r/o?  Username", "----  --------"]
        for user in self.module.settings.users.values():
            lines.append(f"{'Yes' if user.readOnly else 'No':<4}  {user.name}")
        return "\n".join(lines) + "\n"
