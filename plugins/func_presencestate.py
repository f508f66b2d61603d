"""
func_presencestate: custom presence from the dialplan and the manager.

    ${PRESENCE_STATE(CustomPresence:1001,value)}        not_set, available, away ...
    ${PRESENCE_STATE(CustomPresence:1001,subtype)}
    ${PRESENCE_STATE(CustomPresence:1001,message[,e])}  e: base64 of the text
    Set(PRESENCE_STATE(CustomPresence:1001)=away,lunch,Back at two[,e])
    Manager: PresenceState (Provider), PresenceStateList

A write is kept in astdb (family C{CustomPresence}, the value as written, so
it survives a restart) and published at once: a PresenceStateChange event,
a PresenceStatus event for each hint naming the provider
(C{exten => 1001,hint,SIP/1001,CustomPresence:1001}), and NOTIFYs to the
SIP presence subscribers of those hints.
"""

import base64

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.devicestate.aggregation import PRESENCE_PREFIX, isPresenceProvider
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ManagerError
from pbxcore.interfaces import IDialplanFunction
from pbxcore.manager.actions import Action, required
from pbxcore.manager.responses import ListResponse, Success

FIELDS = ("value", "subtype", "message")


def _engine(pbx):
    return getattr(pbx, "devicestate", None)


def _encode(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@implementer(IDialplanFunction)
class PresenceStateFunction:
    """PRESENCE_STATE(provider,field[,options]); only CustomPresence: can be written."""

    name = "PRESENCE_STATE"
    synopsis = "Get or Set a presence state."
    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx

    def read(self, channel, args):
        parts = [p.strip() for p in splitArgs(args or "")]
        provider = parts[0] if parts else ""
        field = parts[1].lower() if len(parts) > 1 else ""
        options = parts[2] if len(parts) > 2 else ""
        if not provider or field not in FIELDS:
            self.log.warn("PRESENCE_STATE reads (provider,field[,options]) with field "
                          "value, subtype or message, not {args!r}", args=args)
            return ""
        engine = _engine(self.pbx)
        if engine is None:
            self.log.warn("PRESENCE_STATE: no presence engine is available")
            return ""
        presence = engine.presenceState(provider)
        if field == "value":
            return presence.state
        text = presence.subtype if field == "subtype" else presence.message
        return _encode(text) if "e" in options else text

    def write(self, channel, args, value):
        provider = (args or "").strip()
        if not isPresenceProvider(provider):
            self.log.warn("The PRESENCE_STATE function can only set CustomPresence: "
                          "providers, not {provider!r}", provider=provider)
            return
        engine = _engine(self.pbx)
        if engine is None:
            self.log.warn("PRESENCE_STATE: no presence engine is available")
            return
        try:
            engine.setCustomPresence(provider[len(PRESENCE_PREFIX):], value or "")
        except ValueError as e:
            self.log.warn("Invalid arguments to PRESENCE_STATE({provider})={value!r}: {error}",
                          provider=provider, value=value, error=str(e))


def presenceStateAction(session, request):
    provider = required(request, "Provider")
    engine = _engine(session.pbx)
    if engine is None:
        raise ManagerError("No presence engine")
    presence = engine.presenceState(provider)
    if presence.state == "invalid":
        raise ManagerError(f"Invalid presence state for {provider}")
    return Success("Presence State", (
        ("State", presence.state), ("Subtype", presence.subtype),
        ("Message", presence.message)))


def presenceStateListAction(session, request):
    engine = _engine(session.pbx)
    items = []
    for name, _ in (engine.customPresences() if engine is not None else ()):
        presence = engine.presenceState("CustomPresence:" + name)
        items.append(("PresenceStateChange", (
            ("Presentity", f"CustomPresence:{name}"), ("Status", presence.state),
            ("Subtype", presence.subtype), ("Message", presence.message))))
    return ListResponse(items, "PresenceStateListComplete",
                        "Presence State Changes will follow")


class FuncPresencestateModule(Module):
    """Registers PRESENCE_STATE and the PresenceState manager actions."""

    def load(self, pbx, registrar):
        registrar.register("function", PresenceStateFunction(pbx))
        registrar.register("manageraction", Action(
            "PresenceState", ("call", "reporting"), "Check Presence State",
            presenceStateAction))
        registrar.register("manageraction", Action(
            "PresenceStateList", ("call", "reporting"), "List the current known presence "
            "states", presenceStateListAction))
