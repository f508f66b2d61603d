"""
func_hangupcause: why the channels a call tried ended.

Channel drivers (and Dial, for the channels it creates) record each
outgoing leg's cause on the calling channel with L{recordHangupCause}:

    ${HANGUPCAUSE_KEYS()}             the channel names with a recorded cause
    ${HANGUPCAUSE(channel,tech|ast)}  the technology's cause text ("SIP 486
                                      Busy Here") or the Q.850 number
    HangupCauseClear()                forget every recorded cause
"""

from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.dialplan.expr import splitArgs
from pbxcore.errors import ReadOnlyFunction
from pbxcore.interfaces import IApplication, IDialplanFunction

#: The key of the datastore on the calling channel: {channel name: (cause, tech text)}.
DATASTORE = "hangupcause"


def recordHangupCause(channel, legName, cause, techCause=""):
    """Remember on C{channel} why leg C{legName} ended (ast_channel_hangupcause_hash_set)."""
    store = channel.datastores.setdefault(DATASTORE, {})
    store.pop(legName, None)  # keep insertion order = most recent last
    store[legName] = (None if cause is None else int(cause), techCause or "")


def _store(channel):
    return {} if channel is None else channel.datastores.get(DATASTORE, {})


@implementer(IDialplanFunction)
class HangupCauseFunction:
    name = "HANGUPCAUSE"
    synopsis = "Gets per-channel hangupcause information from the channel."

    def read(self, channel, args):
        parts = splitArgs(args)
        if len(parts) < 2:
            raise ValueError("Syntax: HANGUPCAUSE(<channel>,<type>) with type tech or ast")
        leg, kind = parts[0].strip(), parts[1].strip().lower()
        entry = _store(channel).get(leg)
        if entry is None:
            return ""
        cause, tech = entry
        if kind == "tech":
            return tech
        if kind == "ast":
            return "" if cause is None else str(cause)
        raise ValueError(f"HANGUPCAUSE: unknown type {kind!r} (expected tech or ast)")

    def write(self, channel, args, value):
        raise ReadOnlyFunction("HANGUPCAUSE is read-only")


@implementer(IDialplanFunction)
class HangupCauseKeysFunction:
    name = "HANGUPCAUSE_KEYS"
    synopsis = "Gets the list of channels for which hangup causes are available."

    def read(self, channel, args):
        return ",".join(reversed(list(_store(channel))))

    def write(self, channel, args, value):
        raise ReadOnlyFunction("HANGUPCAUSE_KEYS is read-only")


@implementer(IApplication)
class HangupCauseClearApplication:
    name = "HangupCauseClear"
    synopsis = "Clears hangup cause information from the channel that is available through HANGUPCAUSE."
    description = ("Forgets every hangup cause recorded on the channel, so that "
                   "HANGUPCAUSE_KEYS() only reports legs tried afterwards.")

    def execute(self, channel, data):
        channel.datastores.pop(DATASTORE, None)


class FuncHangupCauseModule(Module):
    def load(self, pbx, registrar):
        registrar.register("function", HangupCauseFunction())
        registrar.register("function", HangupCauseKeysFunction())
        registrar.register("application", HangupCauseClearApplication())
