"""
The dialplan function of the peer side of chan_sip: C{SIPPEER(name[,item])}.

Items (Asterisk's names): ip (the default), port, status, context,
callerid_name, callerid_num, codecs, dynamic, expire, useragent, mailbox,
accountcode, language, limit, chan2codec... where this driver knows them.
An unknown peer reads as the empty string.
"""

from __future__ import annotations

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.errors import ReadOnlyFunction
from pbxcore.interfaces import IDialplanFunction

__all__ = ["SIPPeerFunction", "functions"]


@implementer(IDialplanFunction)
class SIPPeerFunction:
    """C{${SIPPEER(1001,status)}}: what C{sip show peer} knows, one item at a time."""

    name = "SIPPEER"
    synopsis = "Gets SIP peer information"
    log = Logger()

    def __init__(self, peers):
        self.peers = peers

    def read(self, channel, args):
        text = args if isinstance(args, str) else ",".join(args or ())
        name, _, item = (text or "").partition(",")
        name, item = name.strip(), (item.strip().lower() or "ip")
        if not name:
            self.log.warn("SIPPEER requires a peer name: SIPPEER(<peer>[,item])")
            return ""
        peers = self.peers
        peer = peers.peerFor(name)
        if peer is None:
            return ""
        now = peers.now()
        bindings = peers.location.contacts(peer.name, now)
        first = bindings[0] if bindings else None
        if item == "ip":
            if first is not None and first.source is not None:
                return first.source.host
            return "" if peer.dynamic else peer.host
        if item == "port":
            if first is not None and first.source is not None:
                return str(first.source.port)
            return "0" if peer.dynamic else str(peer.port or 5060)
        values = {
            "status": peers.qualify.status(peer.name),
            "context": peer.context,
            "callerid_name": peer.callerid[0],
            "callerid_num": peer.callerid[1],
            "codecs": "(" + "|".join(peer.allow) + ")",
            "dynamic": "yes" if peer.dynamic else "no",
            "expire": str(first.expiresIn(now)) if first is not None else "-1",
            "useragent": first.userAgent if first is not None else "",
            "mailbox": peer.mailbox,
            "accountcode": peer.accountcode,
            "language": peer.language,
            "limit": str(peer.callLimit),
            "regcontact": first.uri if first is not None else "",
            "subscribecontext": peer.subscribecontext,
            "defaultuser": peer.defaultuser,
        }
        if item not in values:
            self.log.warn("SIPPEER: unknown item {item!r}", item=item)
            return ""
        return values[item]

    def write(self, channel, args, value):
        raise ReadOnlyFunction("SIPPEER is read-only")


def functions(peers):
    return [SIPPeerFunction(peers)]
