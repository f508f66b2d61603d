"""
UserEvent(eventname[,Header: value[,...]]): send a custom manager event
(class 'user') carrying the channel and the given headers.
"""

from twisted.logger import Logger

from pbxcore.api import FunctionApplication, Module
from pbxcore.channel import channelFields
from pbxcore.dialplan.expr import splitArgs

log = Logger(namespace="plugins.app_userevent")


def userEvent(channel, data):
    args = splitArgs(data)
    if not args or not args[0].strip():
        log.warn("UserEvent requires an argument (eventname,optional event body)")
        return
    fields = channelFields(channel) + [("UserEvent", args[0].strip())]
    for header in args[1:]:
        key, sep, value = header.partition(":")
        if not sep or not key.strip():
            log.warn("UserEvent: ignoring '{header}' (not 'Header: value')", header=header)
            continue
        fields.append((key.strip(), value.strip()))
    channel.pbx.emitEvent("UserEvent", fields, "user")


class AppUserEventModule(Module):
    """UserEvent."""

    def load(self, pbx, registrar):
        registrar.register("application", FunctionApplication(
            "UserEvent", userEvent, "Send an arbitrary user-defined event"))
