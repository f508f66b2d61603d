"""
Unsolicited message waiting: peers with C{mailbox=} that hold no
message-summary subscription get an out-of-dialog NOTIFY (Event:
message-summary) at their registered contact whenever their mailbox
changes and when they register, as chan_sip does.
"""

from __future__ import annotations

from twisted.logger import Logger

from channels.sip.driver.eventpackages import PACKAGES, messageSummary
from pbxcore.store.voicemail import splitMailbox

__all__ = ["UnsolicitedMWI", "mailboxes"]


def mailboxes(spec):
    """
    The mailboxes of a C{mailbox=} value (C{1001@default&1002}, or comma
    separated), each C{box@context} in lower case.
    """
    result = []
    for one in (spec or "").replace("&", ",").split(","):
        box, context = splitMailbox(one)
        if box:
            result.append(f"{box}@{context}".lower())
    return result


class UnsolicitedMWI:
    """Sends the NOTIFYs; owned by the L{SubscriptionManager} that feeds it."""

    log = Logger()

    def __init__(self, manager):
        self.manager = manager
        #: NOTIFYs sent, for the console and tests.
        self.sent = 0

    def _peers(self):
        return getattr(self.manager.stack, "peers", None)

    def mailboxChanged(self, box: str):
        """C{box} ('1001@default', lower case) changed: tell its peers."""
        peers = self._peers()
        if peers is None:
            return
        for peer in peers.allPeers():
            if peer.mailbox and box in mailboxes(peer.mailbox):
                self.notifyPeer(peer)

    def peerRegistered(self, name: str):
        peers = self._peers()
        peer = peers.peerFor(name) if peers is not None and name else None
        if peer is not None and peer.mailbox:
            self.notifyPeer(peer)

    def notifyPeer(self, peer):
        """Send C{peer} its mailbox summary unless it subscribed for it."""
        manager = self.manager
        if manager.hasMailboxSubscription(peer):
            return False
        peers = self._peers()
        target = peers.targetOf(peer)
        if target is None:
            return False
        uri, destination = target
        service = manager.voicemail()
        new, old = service.counts(peer.mailbox) if service is not None else (0, 0)
        host = manager.hostText(destination)
        box = peer.mailbox.split(",")[0].split("&")[0].split("@")[0].strip()
        body = messageSummary(new, old, f"sip:{box}@{host}")
        request = peers.makeRequest(
            "NOTIFY", uri, destination, toUri=uri, contactUser="asterisk",
            headers=[("Event", "message-summary"), ("Subscription-State", "active"),
                     ("Content-Type", PACKAGES["message-summary"])])
        request.headers.set("Content-Length", str(len(body)))
        request.body = body
        self.sent += 1

        def gotResponse(response):
            if response.status >= 300:
                self.log.debug("unsolicited MWI to {peer} answered {status}",
                               peer=peer.name, status=response.status)

        try:
            manager.stack.transactions.sendRequest(request, destination, gotResponse)
        except Exception:
            self.log.failure("sending unsolicited MWI to {peer}", peer=peer.name)
            return False
        return True
