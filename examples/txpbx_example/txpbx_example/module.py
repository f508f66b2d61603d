"""
res_example, the module (a L{pbxcore.api.Module}): reads example.conf and registers the supplement,
the T.38 SDP handler, the ExampleNode application, the ExampleStatus
manager action and the 'example show status' console command. Everything
goes through the registrar, so unloading needs no bookkeeping here.
"""

from __future__ import annotations

import os

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import IApplication, ICLICommand, IManagerAction, Module, ModuleDeclined, Success

from txpbx_example.config import readExampleConf
from txpbx_example.supplement import NodeSupplement
from txpbx_example.t38 import T38Handler


@implementer(IApplication)
class ExampleNodeApplication:
    """ExampleNode([variable]): the node name into a channel variable."""

    name = "ExampleNode"
    synopsis = "Set a channel variable to this PBX's node name"
    description = ("ExampleNode([variable]): sets the variable (EXAMPLE_NODE by "
                   "default) to the node name of example.conf.")

    def __init__(self, module):
        self.module = module

    def execute(self, channel, data):
        channel.setVariable((data or "").strip() or "EXAMPLE_NODE", self.module.settings.node)


@implementer(IManagerAction)
class ExampleStatusAction:
    """Action: ExampleStatus -- the module's counters."""

    name = "ExampleStatus"
    privileges = ("reporting",)
    synopsis = "Show res_example status"

    def __init__(self, module):
        self.module = module

    def call(self, session, request):
        return Success(fields=self.module.statusFields())


@implementer(ICLICommand)
class ExampleShowStatus:
    name = "example show status"
    summary = "Show res_example status"
    usage = "Usage: example show status"

    def __init__(self, module):
        self.module = module

    def execute(self, pbx, args):
        return "".join(f"{k:<18}: {v}\n" for k, v in self.module.statusFields())


class ExampleModule(Module):
    """The res_example module; C{settings} is the example.conf in use."""

    log = Logger()

    def __init__(self):
        self.settings = None
        self.stats = {"sessions": 0, "rejected": 0, "cookiesDestroyed": 0}
        self.registrar = None

    def _path(self, pbx):
        return os.path.join(pbx.configDir, "example.conf")

    def statusFields(self):
        registrar = self.registrar
        return (("Node", self.settings.node),
                ("T38", "yes" if self.settings.t38 else "no"),
                ("Sessions", str(self.stats["sessions"])),
                ("Rejected", str(self.stats["rejected"])),
                ("CookiesDestroyed", str(self.stats["cookiesDestroyed"])),
                ("ActiveCalls", str(registrar.useCount if registrar is not None else 0)))

    def load(self, pbx, registrar):
        try:
            pbx.registry("sip.supplement")
        except KeyError:
            raise ModuleDeclined("res_example needs chan_sip's session supplements")
        self.settings = readExampleConf(self._path(pbx))  # ConfigError declines with file:line
        self.registrar = registrar
        registrar.register("sip.supplement", NodeSupplement(self, registrar))
        registrar.register("sip.sdphandler", T38Handler(self, pbx.reactor))
        registrar.register("application", ExampleNodeApplication(self))
        registrar.register("manageraction", ExampleStatusAction(self))
        registrar.register("clicommand", ExampleShowStatus(self))
        self.log.info("res_example loaded: node {node}, t38 {t38}",
                      node=self.settings.node, t38=self.settings.t38)

    def reload(self, pbx):
        # Parse completely first; on ConfigError the old settings stay.
        self.settings = readExampleConf(self._path(pbx))
        self.log.info("res_example reloaded: node {node}", node=self.settings.node)

    def unload(self, pbx):
        self.log.info("res_example unloaded")
        self.registrar = None
