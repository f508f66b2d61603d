"""
func_devstate: device and extension states from the dialplan.

    ${DEVICE_STATE(SIP/1001)}             NOT_INUSE, INUSE, BUSY, ...
    Set(DEVICE_STATE(Custom:lamp)=INUSE)  only Custom: devices can be set
    ${EXTENSION_STATE(1001@default)}      NOT_INUSE, INUSE, RINGINUSE, HOLDINUSE ...
    ${HINT(1001@default)}                 the hint's devices; HINT(1001,n) its name
"""

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.devicestate.aggregation import CUSTOM_PREFIX, DeviceState, extensionStateName
from pbxcore.errors import ReadOnlyFunction
from pbxcore.interfaces import IDialplanFunction


def _engine(pbx):
    return getattr(pbx, "devicestate", None)


def _extenContext(text, channel, defaultContext=None):
    """
    Split C{exten[@context]}; without a context, C{defaultContext} or else
    the channel's own (HINT), as Asterisk does.
    """
    exten, _, context = (text or "").strip().partition("@")
    if not context:
        context = defaultContext or getattr(channel, "context", None) or "default"
    return exten.strip(), context.strip()


@implementer(IDialplanFunction)
class DeviceStateFunction:
    name = "DEVICE_STATE"
    synopsis = "Get or Set a device state."
    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx

    def read(self, channel, args):
        device = (args or "").strip()
        engine = _engine(self.pbx)
        if not device or engine is None:
            self.log.warn("DEVICE_STATE requires a device name")
            return ""
        return engine.deviceState(device).name

    def write(self, channel, args, value):
        device = (args or "").strip()
        if not device.lower().startswith(CUSTOM_PREFIX) or len(device) == len(CUSTOM_PREFIX):
            self.log.warn("DEVICE_STATE function can only be used to set 'Custom:' "
                          "device state, not {device!r}", device=device)
            return
        engine = _engine(self.pbx)
        if engine is None:
            self.log.warn("DEVICE_STATE: no device state engine is available")
            return
        engine.setCustomState(device[len(CUSTOM_PREFIX):], DeviceState.parse(value))


@implementer(IDialplanFunction)
class ExtensionStateFunction:
    name = "EXTENSION_STATE"
    synopsis = "Get an extension's state."
    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx

    def read(self, channel, args):
        # EXTENSION_STATE looks in 'default' when no context is given.
        exten, context = _extenContext(args, channel, "default")
        engine = _engine(self.pbx)
        if not exten or engine is None:
            self.log.warn("EXTENSION_STATE requires an extension")
            return ""
        return extensionStateName(engine.extensionState(context, exten))

    def write(self, channel, args, value):
        raise ReadOnlyFunction("EXTENSION_STATE is read-only")


@implementer(IDialplanFunction)
class HintFunction:
    name = "HINT"
    synopsis = "Get the devices set for a dialplan hint."
    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx

    def read(self, channel, args):
        target, _, options = (args or "").partition(",")
        exten, context = _extenContext(target, channel)
        engine = _engine(self.pbx)
        if not exten:
            self.log.warn("HINT requires an extension")
            return ""
        if engine is not None:
            hint = engine.hint(context, exten)
        else:
            dialplan = getattr(self.pbx, "dialplan", None)
            hint = dialplan.hint(context, exten) if dialplan is not None else None
        if not hint:
            return ""
        devices, _, hintName = hint.partition(",")
        return hintName if "n" in options.lower() else devices

    def write(self, channel, args, value):
        raise ReadOnlyFunction("HINT is read-only")


class FuncDevstateModule(Module):
    def load(self, pbx, registrar):
        for cls in (DeviceStateFunction, ExtensionStateFunction, HintFunction):
            registrar.register("function", cls(pbx))
