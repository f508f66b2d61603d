"""A third-party txpbx module: the Hello() application."""

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.interfaces import IApplication, IModule

log = Logger()


@implementer(IApplication)
class HelloApplication:
    name = "Hello"
    synopsis = "Say hello in the log"
    description = "Logs a greeting naming the channel."

    def execute(self, channel, data):
        log.info("Hello from {channel}: {data}", channel=channel.name, data=data)


@implementer(IModule)
class HelloModule:
    def load(self, pbx, registrar):
        registrar.register("application", HelloApplication())
        log.info("txpbx_hello loaded: application Hello registered")

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        log.info("txpbx_hello unloaded")
