"""
The C{sip ...} console commands, in Asterisk's column layouts.

Each command object keeps the L{channels.sip.driver.peerservice.PeerService} it
reports on; L{commands} builds the set the module registers.
"""

from __future__ import annotations

import time

from twisted.internet import defer
from zope.interface import implementer

from pbxcore.config import ConfigError
from pbxcore.errors import CLIUsageError
from pbxcore.interfaces import ICLICommand

__all__ = ["commands"]


def _yesNo(value) -> str:
    return "Yes" if value else "No"


def peerAddress(peers, peer):
    """(host, port) text for a peer: its first binding, its static host, or (Unspecified, 0)."""
    if peer.dynamic:
        bindings = peers.location.contacts(peer.name, peers.now())
        if not bindings or bindings[0].source is None:
            return "(Unspecified)", "0"
        return bindings[0].source.host, str(bindings[0].source.port)
    return peer.host, str(peer.port or 5060)


def peerRows(peers):
    """Dicts describing every peer (sip.conf and cached realtime), for CLI and manager."""
    out = []
    for peer in peers.allPeers():
        if peer.type == "user":
            continue
        host, port = peerAddress(peers, peer)
        out.append({
            "peer": peer,
            "name": peer.name,
            "host": host,
            "port": port,
            "dynamic": peer.dynamic,
            "forcerport": "force_rport" in peer.nat,
            "comedia": "comedia" in peer.nat,
            "acl": bool(peer.acl),
            "status": peers.qualify.status(peer.name),
            "realtime": peer.realtime,
        })
    return out


@implementer(ICLICommand)
class _Command:
    name = ""
    summary = ""
    usage = ""
    minArgs = 0
    maxArgs = 0

    def __init__(self, peers):
        self.peers = peers

    def execute(self, pbx, args):
        if not (self.minArgs <= len(args) <= self.maxArgs):
            raise CLIUsageError(self.usage)
        return self.run(list(args))


class ShowPeers(_Command):
    name = "sip show peers"
    summary = "List defined SIP peers"
    usage = "Usage: sip show peers [like <pattern>]"
    maxArgs = 2

    def run(self, args):
        import re

        pattern = None
        if args:
            if len(args) != 2 or args[0].lower() != "like":
                raise CLIUsageError(self.usage)
            pattern = re.compile(args[1], re.I)
        lines = [f"{'Name/username':<25} {'Host':<39} {'Dyn':<3} {'Forcerport':<10} {'Comedia':<10} {'ACL':<3} {'Port':<5} {'Status':<11}"]
        rows = [r for r in peerRows(self.peers) if pattern is None or pattern.search(r["name"])]
        online = offline = 0
        for r in rows:
            name = r["name"] if not r["peer"].defaultuser else f"{r['name']}/{r['peer'].defaultuser}"
            status = r["status"]
            if status.startswith(("OK", "LAGGED")):
                online += 1
            elif status == "UNREACHABLE":
                offline += 1
            lines.append(f"{name:<25} {r['host']:<39} {'D' if r['dynamic'] else ' ':<3} "
                         f"{'Yes' if r['forcerport'] else 'No':<10} {'Yes' if r['comedia'] else 'No':<10} "
                         f"{'A' if r['acl'] else ' ':<3} {r['port']:<5} {status:<11}")
        unmonitored = len(rows) - online - offline
        lines.append(f"{len(rows)} sip peers [Monitored: {online} online, {offline} offline "
                     f"Unmonitored: {unmonitored} online, 0 offline]")
        return "\n".join(lines) + "\n"


class ShowPeer(_Command):
    name = "sip show peer"
    summary = "Show details on specific SIP peer"
    usage = "Usage: sip show peer <name> [load]"
    minArgs = 1
    maxArgs = 2

    def run(self, args):
        peers = self.peers
        peer = peers.peerFor(args[0])
        if peer is None:
            return f"Peer {args[0]} not found.\n"
        host, port = peerAddress(peers, peer)
        now = peers.now()
        bindings = peers.location.contacts(peer.name, now)
        lines = [
            "",
            f"  * Name       : {peer.name}",
            f"  Secret       : {'<Set>' if peer.secret else '<Not set>'}",
            f"  MD5Secret    : {'<Set>' if peer.md5secret else '<Not set>'}",
            f"  Context      : {peer.context}",
            f"  Subscr.Cont. : {peer.subscribecontext or '<Not set>'}",
            f"  Language     : {peer.language}",
            f"  Accountcode  : {peer.accountcode}",
            f"  Callerid     : \"{peer.callerid[0]}\" <{peer.callerid[1]}>",
            f"  Call limit   : {peer.callLimit}",
            f"  Dynamic      : {_yesNo(peer.dynamic)}",
            f"  Type         : {peer.type}",
            f"  Realtime     : {_yesNo(peer.realtime)}",
            f"  Insecure     : {','.join(sorted(peer.insecure)) or 'no'}",
            f"  Force rport  : {_yesNo('force_rport' in peer.nat)}",
            f"  Comedia      : {_yesNo('comedia' in peer.nat)}",
            f"  ACL          : {_yesNo(peer.acl)}",
            f"  ACL rules    : {peer.acl}",
            f"  Mailbox      : {peer.mailbox}",
            f"  Transport    : {','.join(t.upper() for t in peer.transports)}",
            f"  DTMFmode     : {peer.dtmfmode}",
            f"  Addr->IP     : {host}:{port}",
            f"  Defaddr->IP  : {peer.host if not peer.dynamic else '(null)'}",
            f"  Def. Username: {peer.defaultuser}",
            f"  FromUser     : {peer.fromuser}",
            f"  FromDomain   : {peer.fromdomain}",
            f"  Codecs       : ({'|'.join(peer.allow)})",
            f"  Status       : {peers.qualify.status(peer.name)}",
            f"  Qualify      : {peer.qualify if peer.qualify else 'no'}",
            f"  Qualify freq : {peer.qualifyfreq * 1000} ms",
            f"  Max contacts : {peer.maxcontacts}",
        ]
        for binding in bindings:
            lines.append(f"  Reg. Contact : {binding.uri} (expires in {binding.expiresIn(now)} s)")
            if binding.userAgent:
                lines.append(f"  Useragent    : {binding.userAgent}")
        lines.append("")
        return "\n".join(lines) + "\n"


class ShowUsers(_Command):
    name = "sip show users"
    summary = "List defined SIP users"
    usage = "Usage: sip show users [like <pattern>]"
    maxArgs = 2

    def run(self, args):
        lines = [f"{'Username':<25} {'Secret':<15} {'Accountcode':<12} {'Def.Context':<15} {'ACL':<3} {'Forcerport':<10}"]
        for peer in self.peers.allPeers():
            if peer.type == "peer":
                continue
            lines.append(f"{peer.name:<25} {peer.secret:<15} {peer.accountcode:<12} {peer.context:<15} "
                         f"{_yesNo(peer.acl):<3} {_yesNo('force_rport' in peer.nat):<10}")
        return "\n".join(lines) + "\n"


def registryRows(peers):
    out = []
    for reg in peers.registry:
        r = reg.registration
        out.append({
            "host": r.host, "port": r.port or 5060, "username": r.user, "domain": r.domainOrHost,
            "refresh": reg.granted or reg.expiry, "state": reg.state.value,
            "regtime": reg.registeredAt, "registration": reg,
        })
    return out


class ShowRegistry(_Command):
    name = "sip show registry"
    summary = "List SIP registration status"
    usage = "Usage: sip show registry"

    def run(self, args):
        lines = [f"{'Host':<39} {'dnsmgr':<6} {'Username':<20} {'Refresh':>7} {'State':<20} {'Reg.Time'}"]
        rows = registryRows(self.peers)
        for r in rows:
            when = time.strftime("%a, %d %b %Y %H:%M:%S", time.localtime(r["regtime"])) if r["regtime"] else ""
            lines.append(f"{r['host'] + ':' + str(r['port']):<39} {'N':<6} {r['username']:<20} "
                         f"{r['refresh']:>7} {r['state']:<20} {when}")
        lines.append(f"{len(rows)} SIP registrations.")
        return "\n".join(lines) + "\n"


# chan_sip's 'sip show channels' columns (Asterisk 11 and later).
_CHANNELS_HEAD = "{:<15.15}  {:<15.15}  {:<15.15}  {:<15.15}  {:<7.7}  {:<15.15} {:<10.10} {:<10.10}"
_CHANNELS_ROW = "{:<15.15}  {:<15.15}  {:<15.15}  {:<15.15}  {:<3.3} {:<3.3}  {:<15.15} {:<10.10} {:<10.10}"


def channelRow(channel) -> str:
    """One 'sip show channels' line for a SIP channel: address, user, Call-ID, formats, hold, last message."""
    driver = getattr(channel, "driver", None)
    session = getattr(driver, "session", None)
    peer = getattr(driver, "peer", None)
    destination = getattr(session, "destination", None)
    address = getattr(destination, "host", "") or ""
    caller = getattr(channel, "caller", None)
    user = getattr(peer, "name", "") or getattr(caller, "number", "") or "(None)"
    formats = tuple(getattr(channel, "nativeFormats", ()) or ())
    return _CHANNELS_ROW.format(
        address, user, getattr(session, "callId", "") or "", f"({'|'.join(formats)})" if formats else "(nothing)",
        "Yes" if getattr(session, "held", False) else "No", "",
        getattr(session, "lastMessage", "") or "", "", getattr(peer, "name", "") or "<guest>")


class ShowChannels(_Command):
    name = "sip show channels"
    summary = "List active SIP channels"
    usage = "Usage: sip show channels"

    def run(self, args):
        pbx = self.peers.pbx
        channels = [c for c in (getattr(pbx, "channels", None) or ()) if str(getattr(c, "name", "")).startswith("SIP/")]
        lines = [_CHANNELS_HEAD.format("Peer", "User/ANR", "Call ID", "Format", "Hold", "Last Message",
                                       "Expiry", "Peer")]
        lines.extend(channelRow(c) for c in channels)
        lines.append(f"{len(channels)} active SIP channel{'s' if len(channels) != 1 else ''}")
        return "\n".join(lines) + "\n"


class ShowSubscriptions(_Command):
    name = "sip show subscriptions"
    summary = "List active SIP subscriptions"
    usage = "Usage: sip show subscriptions"

    def run(self, args):
        subscriptions = list(getattr(self.peers.stack, "subscriptions", ()) or ())
        lines = [f"{'Peer':<15} {'User':<15} {'Call ID':<32} {'Extension':<15} {'Last state':<12} {'Type':<20} {'Mailbox':<10} {'Expiry'}"]
        rows = getattr(getattr(self.peers.stack, "subscriptions", None), "showRows", None)
        if rows is not None:
            lines.extend(rows())
        lines.append(f"{len(subscriptions)} active SIP subscription{'s' if len(subscriptions) != 1 else ''}")
        return "\n".join(lines) + "\n"


class ShowSettings(_Command):
    name = "sip show settings"
    summary = "Show SIP global settings"
    usage = "Usage: sip show settings"

    def run(self, args):
        peers = self.peers
        s = peers.config.settings
        g = peers.config.general
        d = peers.config.defaults
        lines = [
            "",
            "Global Settings:",
            "----------------",
            f"  UDP Bindaddress:        {g.udpBind.host}:{g.udpBind.port}",
            f"  TCP SIP Bindaddress:    {(g.tcpBind.host + ':' + str(g.tcpBind.port)) if g.tcpEnable else 'Disabled'}",
            f"  TLS SIP Bindaddress:    {(g.tlsBind.host + ':' + str(g.tlsBind.port)) if g.tlsEnable else 'Disabled'}",
            f"  Realm:                  {s.realm}",
            f"  Allow unknown access:   {_yesNo(s.allowguest)}",
            f"  Always auth rejects:    {_yesNo(s.alwaysauthreject)}",
            f"  User Agent:             {peers.stack.userAgent.userAgent}",
            f"  Reg. min duration       {s.minexpiry} secs",
            f"  Reg. max duration:      {s.maxexpiry} secs",
            f"  Reg. default duration:  {s.defaultexpiry} secs",
            f"  Max contacts per peer:  {s.maxcontacts}",
            f"  Outbound reg. timeout:  {s.registertimeout} secs",
            f"  Outbound reg. attempts: {s.registerattempts}",
            f"  Qualify Freq :          {s.qualifyfreq * 1000} ms",
            f"  Realtime cache friends: {_yesNo(s.rtcachefriends)}",
            f"  ACL:                    {s.acl}",
            f"  T1 minimum:             {g.t1min}",
            f"  Timer T1:               {g.timerT1}",
            f"  Timer B:                {g.timerB}",
            "",
            "Default Settings:",
            "-----------------",
            f"  Context:                {s.context}",
            f"  Force rport:            {_yesNo('force_rport' in d.nat)}",
            f"  DTMF:                   {d.dtmfmode}",
            f"  Codecs:                 ({'|'.join(d.allow)})",
            f"  Language:               {d.language}",
            f"  Qualify:                {d.qualify or 0}",
            f"  Bindings registered:    {len(peers.location)}",
            "",
        ]
        return "\n".join(lines) + "\n"


class QualifyPeer(_Command):
    name = "sip qualify peer"
    summary = "Send an OPTIONS packet to a peer"
    usage = "Usage: sip qualify peer <name>"
    minArgs = maxArgs = 1

    def run(self, args):
        peers = self.peers
        peer = peers.peerFor(args[0])
        if peer is None:
            return f"Peer '{args[0]}' not found\n"
        if not peer.qualify:
            return f"Peer '{peer.name}' is not qualified (qualify=no)\n"
        peers.qualify.registered(peer)
        return ""


class Reload(_Command):
    name = "sip reload"
    summary = "Reload SIP configuration"
    usage = "Usage: sip reload"

    def run(self, args):
        pbx = self.peers.pbx
        loader = getattr(pbx, "loader", None)
        if loader is not None and hasattr(pbx, "reload") and loader.isLoaded("chan_sip"):
            d = defer.maybeDeferred(pbx.reload, "chan_sip")

            def report(results):
                errors = [e for _, e in results if e]
                return ("Reloading SIP failed, old configuration kept: " + errors[0] + "\n") if errors else \
                    "Reloading SIP configuration\n"
            return d.addCallback(report)
        try:
            self.peers.reload()
        except ConfigError as e:
            return f"Reloading SIP failed, old configuration kept: {e}\n"
        return "Reloading SIP configuration\n"


class ShowBlocked(_Command):
    name = "sip show blocked"
    summary = "List addresses blocked after failed authentications"
    usage = "Usage: sip show blocked"

    def run(self, args):
        guard = self.peers.auth.guard
        now = self.peers.now()
        blocks = guard.blocks(now)
        settings = guard.settings
        lines = [f"{'Address':<39} {'Seconds left':>12} {'Block':>5}  Accounts tried"]
        for block in blocks:
            lines.append(f"{block.host:<39} {int(block.until - now + 0.999):>12} {block.level:>5}  "
                         f"{','.join(block.accounts) or '-'}")
        state = (f"after {settings.failures} failures in {settings.window:g}s, "
                 f"{settings.blockTime:g}s doubling up to {settings.maxBlockTime:g}s"
                 if settings.failures else "protection off (authfailures = 0)")
        lines.append(f"{len(blocks)} blocked address{'es' if len(blocks) != 1 else ''} ({state})")
        return "\n".join(lines) + "\n"


class Unblock(_Command):
    name = "sip unblock"
    summary = "Lift the block of an address (or of all)"
    usage = "Usage: sip unblock <address|all>"
    minArgs = 1
    maxArgs = 1

    def run(self, args):
        guard = self.peers.auth.guard
        target = args[0]
        if target.lower() == "all":
            count = guard.unblock(None)
            return f"Unblocked {count} address{'es' if count != 1 else ''}\n"
        if guard.unblock(target.strip("[]")):
            return f"Unblocked {target}\n"
        return f"{target} is not blocked\n"


def commands(peers):
    """The C{sip ...} commands bound to C{peers}."""
    return [cls(peers) for cls in (ShowPeers, ShowPeer, ShowUsers, ShowRegistry, ShowChannels,
                                   ShowSubscriptions, ShowSettings, QualifyPeer, Reload,
                                   ShowBlocked, Unblock)]
