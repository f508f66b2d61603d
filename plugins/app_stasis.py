"""
Stasis(app[,args...]): hand the channel to the ARI application C{app}.
The channel stays in the application (StasisStart, then whatever the
application asks over REST) until the application continues it in the
dialplan or it hangs up (StasisEnd). STASISSTATUS is SUCCESS, or FAILED
when no client has registered the application.
"""

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module
from pbxcore.dialplan.expr import splitArgs
from plugins.res_ari_channels import runStasis

log = Logger(namespace="plugins.app_stasis")


class AppStasisModule(Module):
    def load(self, pbx, registrar):
        self.pbx = pbx
        registrar.register("application", FunctionApplication(
            "Stasis", self.stasis, "Invoke an external Stasis application",
            "Stasis(app[,args]): hand the channel to the ARI application app"))

    async def stasis(self, channel, data):
        args = [a.strip() for a in splitArgs(data or "")]
        if not args or not args[0]:
            log.warn("Stasis app_name argument missing")
            channel.setVariable("STASISSTATUS", "FAILED")
            return
        core = self.pbx.loader.modules["res_ari"].module.core
        if not core.registered(args[0]):
            log.warn("Stasis app '{app}' not registered", app=args[0])
            channel.setVariable("STASISSTATUS", "FAILED")
            return
        await runStasis(core, channel, args[0], args[1:])
        if not channel.hangupRequested:
            channel.setVariable("STASISSTATUS", "SUCCESS")
