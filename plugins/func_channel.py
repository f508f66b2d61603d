"""
func_channel: ${CHANNEL(item)} and Set(CHANNEL(item)=value).

Items: name, state, channeltype, language (rw), accountcode (rw), uniqueid,
linkedid, context, exten, priority, hangupsource (rw), amaflags (rw),
musicclass (rw), callid, peer, appname, appdata. Items the core does not
know are asked of the channel driver (C{funcChannelRead(channel, item)} /
C{funcChannelWrite(channel, item, value)}), as Asterisk asks the technology.
"""

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module
from pbxcore.interfaces import IDialplanFunction

log = Logger()

_AMAFLAGS = {"omit": "OMIT", "billing": "BILLING", "documentation": "DOCUMENTATION",
             "1": "OMIT", "2": "BILLING", "3": "DOCUMENTATION"}


def _peer(channel):
    bridge = getattr(channel, "bridge", None)
    if bridge is None:
        return ""
    for other in getattr(bridge, "channels", ()) or ():
        if other is not channel:
            return other.name
    return ""


def _technologyName(channel):
    tech = getattr(channel, "technology", None)
    if tech is None:
        return channel.name.split("/", 1)[0]
    return getattr(tech, "name", str(tech))


_READERS = {
    "name": lambda c: c.name,
    "state": lambda c: c.state.description,
    "channeltype": _technologyName,
    "language": lambda c: c.language,
    "accountcode": lambda c: c.accountcode,
    "uniqueid": lambda c: c.uniqueid,
    "linkedid": lambda c: c.linkedid,
    "context": lambda c: c.context,
    "exten": lambda c: c.exten,
    "priority": lambda c: str(c.priority),
    "hangupsource": lambda c: c.hangupSource or "",
    "amaflags": lambda c: c.amaflags,
    "musicclass": lambda c: c.datastores.get("musicclass", ""),
    "peer": _peer,
    "appname": lambda c: c.appl,
    "appdata": lambda c: c.data,
}


@implementer(IDialplanFunction)
class ChannelFunction:
    name = "CHANNEL"
    synopsis = "Gets/sets various pieces of information about the channel."

    def read(self, channel, args):
        item = (args or "").strip().lower()
        if channel is None:
            return ""
        reader = _READERS.get(item)
        if reader is not None:
            value = reader(channel)
            return "" if value is None else str(value)
        driver = getattr(channel, "driver", None)
        ask = getattr(driver, "funcChannelRead", None)
        if ask is not None:
            value = ask(channel, item)
            if value is not None:
                return str(value)
        if item == "callid":
            value = getattr(driver, "callid", None) or getattr(driver, "callId", None)
            return "" if value is None else str(value)
        log.warn("CHANNEL: unknown or unavailable item {item!r} on {channel}",
                 item=item, channel=channel.name)
        return ""

    def write(self, channel, args, value):
        item = (args or "").strip().lower()
        value = "" if value is None else str(value)
        if channel is None:
            return
        if item == "language":
            channel.language = value
        elif item == "accountcode":
            channel.accountcode = value
        elif item == "hangupsource":
            channel.hangupSource = value
        elif item == "amaflags":
            flag = _AMAFLAGS.get(value.strip().lower())
            if flag is None:
                raise ValueError(f"CHANNEL(amaflags): unknown flag {value!r}")
            channel.amaflags = flag
        elif item == "musicclass":
            channel.datastores["musicclass"] = value
        else:
            driver = getattr(channel, "driver", None)
            ask = getattr(driver, "funcChannelWrite", None)
            if ask is None or ask(channel, item, value) is False:
                raise ValueError(f"CHANNEL({item}) cannot be set")


class FuncChannelModule(Module):
    def load(self, pbx, registrar):
        registrar.register("function", ChannelFunction())
