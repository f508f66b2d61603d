"""
The SIP manager actions: SIPpeers, SIPshowpeer, SIPshowregistry,
SIPqualifypeer and SIPnotify, with Asterisk's field names.
"""

from __future__ import annotations

from pbxcore.errors import ManagerError
from pbxcore.manager.actions import Action, required
from pbxcore.manager.responses import ListResponse, Success

from channels.sip.admin.cli import peerAddress, peerRows, registryRows

__all__ = ["actions"]


def _yesNo(value) -> str:
    return "yes" if value else "no"


def sipPeers(peers):
    def run(session, request):
        events = []
        for r in peerRows(peers):
            peer = r["peer"]
            events.append(("PeerEntry", [
                ("Channeltype", "SIP"),
                ("ObjectName", peer.name),
                ("ChanObjectType", "peer"),
                ("IPaddress", r["host"] if r["host"] != "(Unspecified)" else "-none-"),
                ("IPport", r["port"]),
                ("Dynamic", _yesNo(peer.dynamic)),
                ("AutoForcerport", "no"),
                ("Forcerport", _yesNo(r["forcerport"])),
                ("AutoComedia", "no"),
                ("Comedia", _yesNo(r["comedia"])),
                ("VideoSupport", "no"),
                ("TextSupport", "no"),
                ("ACL", _yesNo(r["acl"])),
                ("Status", r["status"]),
                ("RealtimeDevice", _yesNo(peer.realtime)),
                ("Description", ""),
                ("Accountcode", peer.accountcode),
            ]))
        return ListResponse(events, "PeerlistComplete", "Peer status list will follow")
    return Action("SIPpeers", ("system", "reporting"), "List SIP peers (text format)", run)


def sipShowPeer(peers):
    def run(session, request):
        name = required(request, "Peer")
        peer = peers.peerFor(name)
        if peer is None:
            raise ManagerError("Peer not found")
        host, port = peerAddress(peers, peer)
        now = peers.now()
        bindings = peers.location.contacts(peer.name, now)
        fields = [
            ("Channeltype", "SIP"),
            ("ObjectName", peer.name),
            ("ChanObjectType", "peer"),
            ("SecretExist", "Y" if peer.secret else "N"),
            ("MD5SecretExist", "Y" if peer.md5secret else "N"),
            ("Context", peer.context),
            ("Language", peer.language),
            ("AMAflags", "Unknown"),
            ("CID-CallingPres", "Presentation Allowed, Not Screened"),
            ("Callgroup", ""),
            ("Pickupgroup", ""),
            ("MOHSuggest", ""),
            ("VoiceMailbox", peer.mailbox),
            ("TransferMode", "open"),
            ("LastMsgsSent", "-1"),
            ("Maxforwards", "0"),
            ("Call-limit", str(peer.callLimit)),
            ("Busy-level", "0"),
            ("MaxCallBR", "384 kbps"),
            ("Dynamic", "Y" if peer.dynamic else "N"),
            ("Callerid", f'"{peer.callerid[0]}" <{peer.callerid[1]}>'),
            ("RegExpire", f"{bindings[0].expiresIn(now)} seconds" if bindings else "-1 seconds"),
            ("SIP-AuthInsecure", ",".join(sorted(peer.insecure)) or "no"),
            ("SIP-Forcerport", "Y" if "force_rport" in peer.nat else "N"),
            ("SIP-Comedia", "Y" if "comedia" in peer.nat else "N"),
            ("ACL", "Y" if peer.acl else "N"),
            ("SIP-DTMFmode", peer.dtmfmode),
            ("ToHost", "" if peer.dynamic else peer.host),
            ("Address-IP", host if host != "(Unspecified)" else "(null)"),
            ("Address-Port", port),
            ("Default-addr-IP", "(null)" if peer.dynamic else peer.host),
            ("Default-addr-port", str(peer.port or 0)),
            ("Default-Username", peer.defaultuser),
            ("Codecs", "(" + "|".join(peer.allow) + ")"),
            ("Status", peers.qualify.status(peer.name)),
            ("SIP-Useragent", bindings[0].userAgent if bindings else ""),
            ("Reg-Contact", bindings[0].uri if bindings else ""),
            ("QualifyFreq", f"{peer.qualifyfreq * 1000} ms"),
            ("Parkinglot", ""),
            ("SIP-Use-Reason-Header", "N"),
            ("Description", ""),
        ]
        return Success(fields=tuple(fields))
    return Action("SIPshowpeer", ("system", "reporting"), "show SIP peer (text format)", run)


def sipShowRegistry(peers):
    def run(session, request):
        events = []
        for r in registryRows(peers):
            events.append(("RegistryEntry", [
                ("Host", r["host"]),
                ("Port", str(r["port"])),
                ("Username", r["username"]),
                ("Domain", r["domain"]),
                ("DomainPort", str(r["port"])),
                ("Refresh", str(r["refresh"])),
                ("State", r["state"]),
                ("RegistrationTime", str(int(r["regtime"] or 0))),
            ]))
        return ListResponse(events, "RegistrationsComplete", "Registrations will follow")
    return Action("SIPshowregistry", ("system", "reporting"), "Show SIP registrations (text format)", run)


def sipQualifyPeer(peers):
    def run(session, request):
        name = required(request, "Peer")
        peer = peers.peerFor(name)
        if peer is None:
            raise ManagerError("Peer not found")
        peers.qualify.registered(peer)
        return Success("SIP peer found - will qualify")
    return Action("SIPqualifypeer", ("system", "reporting"), "Qualify SIP peers", run)


def sipNotify(peers):
    def run(session, request):
        target = required(request, "Channel")
        name = target.split("/", 1)[1] if target.upper().startswith("SIP/") else target
        peer = peers.peerFor(name)
        if peer is None:
            raise ManagerError("Could not create address")
        destination = peers.targetOf(peer)
        if destination is None:
            raise ManagerError("Could not create address")
        uri, address = destination
        headers = []
        body = b""
        for value in request.getall("Variable") if hasattr(request, "getall") else [request.get("Variable") or ""]:
            for item in (value or "").split(","):
                key, eq, val = item.partition("=")
                if not eq or not key.strip():
                    continue
                if key.strip().lower() == "content":
                    body += val.encode("utf-8") + b"\r\n"
                elif val.strip():
                    headers.append((key.strip(), val.strip()))
        if not any(k.lower() == "event" for k, _ in headers):
            raise ManagerError("Variable Event is needed for SIPnotify")
        notify = peers.makeRequest("NOTIFY", uri, address, toUser=peer.name, headers=headers)
        if not any(k.lower() == "subscription-state" for k, _ in headers):
            notify.headers.add("Subscription-State", "terminated")
        if body:
            notify.body = body
        peers.stack.transactions.sendRequest(notify, address, lambda response: None)
        return Success("Notify Sent")
    return Action("SIPnotify", ("system",), "Send a SIP notify", run)


def actions(peers):
    """The SIP manager actions bound to C{peers}."""
    return [f(peers) for f in (sipPeers, sipShowPeer, sipShowRegistry, sipQualifyPeer, sipNotify)]
