"""
func_cdr: the call detail record of the channel, from the dialplan.

    ${CDR(src)}, ${CDR(disposition)}, ${CDR(billsec)} ...
    Set(CDR(userfield)=...)   also accountcode, amaflags, peeraccount
"""

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.store.cdr import AMA_FLAGS, WRITABLE_FIELDS
from pbxcore.interfaces import IDialplanFunction


@implementer(IDialplanFunction)
class CDRFunction:
    name = "CDR"
    synopsis = "Gets or sets a CDR variable."
    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx

    def _record(self, channel):
        engine = getattr(self.pbx, "cdr", None)
        if engine is None or channel is None:
            return None
        return engine.recordFor(channel)

    def read(self, channel, args):
        field = (args or "").split(",", 1)[0].strip()
        record = self._record(channel)
        if record is None or not field:
            return ""
        value = record.read(field)
        if value is None and channel is not None:
            # Anything else is a CDR variable; those live on the channel.
            value = channel.getVariable(field)
        return value or ""

    def write(self, channel, args, value):
        field = (args or "").split(",", 1)[0].strip().lower()
        record = self._record(channel)
        if record is None:
            self.log.warn("CDR: no record for this channel (CDRs disabled?)")
            return
        value = value or ""
        if field == "amaflags":
            flag = value.strip().upper()
            if flag not in AMA_FLAGS:
                self.log.warn("CDR: unknown amaflags {value!r}", value=value)
                return
            value = flag
        if field not in WRITABLE_FIELDS:
            self.log.warn("CDR: the field {field!r} is read-only", field=field)
            return
        setattr(record, field, value)


class FuncCDRModule(Module):
    def load(self, pbx, registrar):
        registrar.register("function", CDRFunction(pbx))
