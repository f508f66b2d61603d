"""
func_callerid: the parties of a call.

    ${CALLERID(all|name|num|number|ani|pres|name-pres|num-pres|dnid|rdnis)}
    Set(CALLERID(name|num|all|ani|pres)=value)
    ${CONNECTEDLINE(all|name|num|number|pres)}   Set(CONNECTEDLINE(...)=value)
"""

import re

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.dialplan.expr import splitArgs
from pbxcore.interfaces import IDialplanFunction

log = Logger()

_ALL = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^<]*?))\s*<([^>]*)>\s*\Z')


def formatAll(name, number):
    """C{"name" <number>}, or whichever half is set (ast_callerid_merge)."""
    if name and number:
        return f'"{name}" <{number}>'
    return name or number or ""


def parseAll(text):
    """
    (name, number) from C{"name" <number>}, C{name <number>} or a bare
    number (Asterisk's ast_callerid_split).
    """
    m = _ALL.match(text or "")
    if m:
        name = m.group(1) if m.group(1) is not None else (m.group(2) or "")
        return name.strip(), m.group(3).strip()
    text = (text or "").strip()
    if re.fullmatch(r"[0-9*#+\-() .]*", text):
        return "", re.sub(r"[\-() .]", "", text)
    return text.strip('"'), ""


class _PartyFunction:
    """Shared reading and writing of a CallerID party of a channel."""

    def party(self, channel):
        raise NotImplementedError

    def changed(self, channel, name, number):
        raise NotImplementedError

    def _item(self, args):
        parts = splitArgs(args)
        return parts[0].strip().lower() if parts else ""

    def read(self, channel, args):
        item = self._item(args)
        if channel is None:
            return ""
        party = self.party(channel)
        if item == "all":
            return formatAll(party.name, party.number)
        if item == "name":
            return party.name
        if item in ("num", "number"):
            return party.number
        if item in ("pres", "name-pres", "num-pres", "number-pres"):
            return party.presentation
        return self.readOther(channel, item)

    def readOther(self, channel, item):
        log.warn("{name}: unknown data type {item!r}", name=self.name, item=item)
        return ""

    def write(self, channel, args, value):
        item = self._item(args)
        if channel is None:
            return
        value = "" if value is None else str(value)
        party = self.party(channel)
        if item == "all":
            name, number = parseAll(value)
            self.changed(channel, name, number)
        elif item == "name":
            self.changed(channel, value, None)
        elif item in ("num", "number"):
            self.changed(channel, None, value)
        elif item in ("pres", "name-pres", "num-pres", "number-pres"):
            party.presentation = value
        else:
            self.writeOther(channel, item, value)

    def writeOther(self, channel, item, value):
        raise ValueError(f"{self.name}: cannot set data type {item!r}")


@implementer(IDialplanFunction)
class CallerIDFunction(_PartyFunction):
    name = "CALLERID"
    synopsis = "Gets or sets Caller*ID data on the channel."

    def party(self, channel):
        return channel.caller

    def changed(self, channel, name, number):
        channel.setCallerID(name=name, number=number)

    def readOther(self, channel, item):
        if item in ("ani", "ani-num"):
            return channel.caller.ani
        if item == "dnid":
            return channel.getVariable("DNID") or ""
        if item == "rdnis":
            return channel.getVariable("RDNIS") or ""
        return super().readOther(channel, item)

    def writeOther(self, channel, item, value):
        if item in ("ani", "ani-num"):
            channel.caller.ani = value
        elif item in ("dnid", "rdnis"):
            channel.setVariable(item.upper(), value)
        else:
            super().writeOther(channel, item, value)


@implementer(IDialplanFunction)
class ConnectedLineFunction(_PartyFunction):
    name = "CONNECTEDLINE"
    synopsis = "Gets or sets Connected Line data on the channel."

    def party(self, channel):
        return channel.connected

    def changed(self, channel, name, number):
        if name is not None:
            channel.connected.name = name
        if number is not None:
            channel.connected.number = number


class FuncCallerIDModule(Module):
    def load(self, pbx, registrar):
        registrar.register("function", CallerIDFunction())
        registrar.register("function", ConnectedLineFunction())
