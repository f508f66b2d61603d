"""
The module author's API: what a module (bundled in C{plugins/} or shipped in
a distribution of its own) needs from the core, from one import.

    from pbxcore.api import FunctionApplication, Module

    class AppHelloModule(Module):
        def load(self, pbx, registrar):
            registrar.register("application", FunctionApplication("Hello", hello, "Say hello"))

Everything here is a re-export of the module that defines it; those homes
may move, this list stays. Anything not listed is the core's own business.
Module descriptors (C{twisted/plugins} drop-ins) import L{pbxcore.loader}
instead: a drop-in must stay cheap to import.
(SIP session supplements and SDP handlers are chan_sip's extension points:
L{channels.sip.interfaces}.)
"""

from pbxcore.channel import CallerID, Channel, channelFields, technologyName
from pbxcore.config import ConfigError, isFalse, isTrue, parseFile, parseText
from pbxcore.dialplan.builtins import (
    FunctionApplication,
    ReadOnly,
    checkCondition,
    collectExtension,
    extensionExists,
    findSoundFile,
    playFiles,
    streamFile,
)
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import (
    ApplicationHangup,
    ChannelHungUp,
    ChannelUnavailable,
    CLIUsageError,
    ManagerError,
    ModuleDeclined,
    ReadOnlyFunction,
)
from pbxcore.frame import (
    ChannelState,
    Control,
    Frame,
    FrameKind,
    HangupCause,
    causeFromName,
    controlFrame,
    dtmfFrame,
    textFrame,
    voiceFrame,
)
from pbxcore.interfaces import (
    IApplication,
    IChannelDriver,
    IChannelTechnology,
    ICLICommand,
    IDialplanFunction,
    IHTTPURI,
    IManagerAction,
    IMetric,
    IModule,
    IModuleDescriptor,
    IPBX,
    IRegistrar,
    ChannelDriver,
    Module,
)
from pbxcore.manager.actions import Action, required
from pbxcore.metrics import MetricCollector, MetricCounter, MetricGauge
from pbxcore.manager.responses import CommandOutput, ListResponse, Success

__all__ = [
    # bases and helpers to build what modules register
    "Module", "ChannelDriver", "FunctionApplication", "ReadOnly", "Action", "required",
    "Success", "ListResponse", "CommandOutput",
    # metrics on /metrics (registrar.register("metric", ...))
    "MetricCounter", "MetricGauge", "MetricCollector",
    # configuration (the Asterisk .conf dialect)
    "ConfigError", "parseFile", "parseText", "isTrue", "isFalse",
    # dialplan helpers
    "checkCondition", "splitArgs", "extensionExists", "collectExtension",
    "findSoundFile", "streamFile", "playFiles",
    # the channel model
    "Channel", "CallerID", "channelFields", "technologyName",
    "ChannelState", "Control", "Frame", "FrameKind", "HangupCause", "causeFromName",
    "voiceFrame", "controlFrame", "dtmfFrame", "textFrame",
    # errors
    "ApplicationHangup", "ChannelHungUp", "ChannelUnavailable", "CLIUsageError",
    "ManagerError", "ModuleDeclined", "ReadOnlyFunction",
    # interfaces
    "IModule", "IModuleDescriptor", "IApplication", "IDialplanFunction", "IManagerAction",
    "ICLICommand", "IChannelTechnology", "IChannelDriver", "IHTTPURI", "IMetric", "IPBX", "IRegistrar",
]
