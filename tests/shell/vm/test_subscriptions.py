"""The subscription manager over a fake SIP stack and a Clock."""

import xml.etree.ElementTree as ET

from twisted.trial.unittest import TestCase

from channels.sip.net.address import Address
from channels.sip.driver.eventpackages import parseMessageSummary
from channels.sip.wire.message import Response, makeResponse
from channels.sip.wire.parser import parseMessage
from channels.sip.driver.peers import Peer
from channels.sip.driver.subscriptions import (
    SubscriptionSettings,
    installSubscriptions,
    parseSubscriptionSettings,
    subscriptionRows,
)
from channels.sip.net.useragent import UserAgent
from pbxcore.store.astdb import AstDB
from pbxcore.config import ConfigError, parseText
from pbxcore.devicestate.engine import DeviceStateEngine

from .support import makePBX, toneSlin

SOURCE = Address("UDP", "127.0.0.1", 5070)

DIALPLAN = """
[phones]
exten => 1001,hint,Custom:lamp
exten => 1002,hint,Custom:other
"""


class FakeST:
    def __init__(self, source=SOURCE):
        self.source = source
        self.responses = []
        self.responded = False

    def respond(self, response):
        self.responses.append(response)
        self.responded = True


class FakeTransactions:
    def __init__(self):
        self.sent = []

    def sendRequest(self, request, destination, onResponse):
        self.sent.append((request, destination, onResponse))


class FakeListening:
    def getHost(self):
        from twisted.internet.address import IPv4Address

        return IPv4Address("UDP", "127.0.0.1", 5060)


class FakeAuth:
    def __init__(self, peers):
        self.peers = peers

    def authenticateRequest(self, request, st, peerHint=None):
        if peerHint is None or peerHint.secret:
            st.respond(makeResponse(request, 401, "Unauthorized", toTag="x"))
            return None
        return peerHint


class FakePeers:
    class config:
        class settings:
            allowguest = False
            context = "guest"

    def __init__(self, *peers):
        self.peers = {p.name: p for p in peers}
        self.auth = FakeAuth(self)
        self.targets = {}
        self.made = []

    def peerFor(self, name):
        return self.peers.get(name)

    def allPeers(self):
        return list(self.peers.values())

    def localAddress(self, destination):
        return "127.0.0.1", 5060

    def targetOf(self, peer):
        return self.targets.get(peer.name)

    def makeRequest(self, method, uri, destination, toUri=None, contactUser=None, headers=()):
        from channels.sip.wire.headers import Headers
        from channels.sip.wire.message import Request

        h = Headers()
        h.add("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx")
        h.add("From", "<sip:asterisk@127.0.0.1>;tag=a")
        h.add("To", f"<{toUri or uri}>")
        h.add("Call-ID", f"mwi{len(self.made)}")
        h.add("CSeq", f"1 {method}")
        for name, value in headers:
            h.add(name, value)
        request = Request(method, uri, h)
        self.made.append(request)
        return request


class FakeStack:
    def __init__(self, peers=None):
        self.userAgent = UserAgent(userAgent="txpbx-test")
        self.transactions = FakeTransactions()
        self.listening = [FakeListening()]
        self.peers = peers


def subscribe(event="dialog", exten="1001", expires=120, user="watcher", toTag=None,
              callId="sub1", cseq=1, extra=""):
    lines = [f"SUBSCRIBE sip:{exten}@127.0.0.1 SIP/2.0",
             "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK" + callId + str(cseq),
             f"From: <sip:{user}@127.0.0.1:5070>;tag=w1",
             f"To: <sip:{exten}@127.0.0.1>" + (f";tag={toTag}" if toTag else ""),
             f"Call-ID: {callId}", f"CSeq: {cseq} SUBSCRIBE",
             f"Contact: <sip:{user}@127.0.0.1:5070>", "Max-Forwards: 70"]
    if event is not None:
        lines.append(f"Event: {event}")
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if extra:
        lines.append(extra)
    lines += ["Content-Length: 0", "", ""]
    return parseMessage("\r\n".join(lines).encode())


class SubscriptionManagerTests(TestCase):

    def setUp(self):
        self.pbx, self.tech, self.vm = makePBX(self.mktemp(), dialplan=DIALPLAN, test=self)
        self.pbx.astdb = AstDB(None)
        self.pbx.astdb.open()
        self.pbx.devicestate = DeviceStateEngine(self.pbx)
        self.addCleanup(self.pbx.devicestate.stop)
        self.watcher = Peer("watcher", context="phones", mailbox="1001@default")
        self.locked = Peer("locked", context="phones", extra={"allowsubscribe": ["no"]})
        self.secret = Peer("secret", context="phones", secret="pw")
        self.peers = FakePeers(self.watcher, self.locked, self.secret)
        self.stack = FakeStack(self.peers)
        self.registrar = self.pbx.registrar("res_sip_subscriptions")
        self.manager = installSubscriptions(self.pbx, self.stack, self.registrar,
                                            SubscriptionSettings(minexpiry=60, maxexpiry=600,
                                                                 defaultexpiry=300),
                                            self.pbx.reactor)

    def send(self, request):
        st = FakeST()
        self.stack.userAgent.requestReceived(request, st)
        return st.responses[-1]

    def notifies(self):
        return [r for r, _, _ in self.stack.transactions.sent if r.method == "NOTIFY"]

    def answer(self, request, status):
        for sent, _, onResponse in self.stack.transactions.sent:
            if sent is request:
                onResponse(Response(status, None, makeResponse(sent, status).headers))

    def test_subscribeNotifyStateChangesAndExpiry(self):
        response = self.send(subscribe(expires=None))
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers.get("Expires"), "300")
        [first] = self.notifies()
        self.assertEqual(first.headers.get("Subscription-State"), "active;expires=300")
        self.assertEqual(first.headers.get("Event"), "dialog")
        self.assertEqual(first.toTag, "w1")
        self.pbx.devicestate.setCustomState("lamp", "RINGING")
        self.pbx.devicestate.setCustomState("lamp", "INUSE")
        self.pbx.devicestate.setCustomState("other", "INUSE")  # another hint: nothing
        self.pbx.devicestate.setCustomState("lamp", "NOT_INUSE")
        states = [ET.fromstring(r.body).findtext(
            "{urn:ietf:params:xml:ns:dialog-info}dialog/{urn:ietf:params:xml:ns:dialog-info}state")
            for r in self.notifies()]
        self.assertEqual(states, ["terminated", "early", "confirmed", "terminated"])
        cseqs = [r.cseq.number for r in self.notifies()]
        self.assertEqual(cseqs, sorted(set(cseqs)))
        rows = subscriptionRows(self.manager, self.pbx.reactor.seconds())
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows, self.manager.showRows())
        self.assertEqual(rows[0].split()[:6], ["watcher", "watcher", "sub1", "1001@phones",
                                              "Idle", "dialog-info+xml"])
        self.pbx.reactor.advance(301)
        last = self.notifies()[-1]
        self.assertEqual(last.headers.get("Subscription-State"), "terminated;reason=timeout")
        self.assertEqual(len(self.manager), 0)

    def test_refusals(self):
        self.assertEqual(self.send(subscribe(event=None)).status, 489)
        response = self.send(subscribe(event="x-nothing"))
        self.assertEqual(response.status, 489)
        self.assertIn("message-summary", response.headers.get("Allow-Events"))
        response = self.send(subscribe(expires=10))
        self.assertEqual((response.status, response.headers.get("Min-Expires")), (423, "60"))
        self.assertEqual(self.send(subscribe(user="locked")).status, 403)
        self.assertEqual(self.send(subscribe(user="secret")).status, 401)
        self.assertEqual(self.send(subscribe(user="stranger")).status, 401)
        self.assertEqual(self.send(subscribe(exten="1999")).status, 404)
        self.assertEqual(self.notifies(), [])
        self.assertEqual(len(self.manager), 0)

    def test_refreshAndUnsubscribe(self):
        response = self.send(subscribe())
        tag = response.toTag
        response = self.send(subscribe(expires=9999, toTag=tag, cseq=2))
        self.assertEqual(response.headers.get("Expires"), "600")
        self.assertEqual(self.notifies()[-1].headers.get("Subscription-State"),
                         "active;expires=600")
        self.assertEqual(self.send(subscribe(expires=5, toTag=tag, cseq=3)).status, 423)
        self.assertEqual(self.send(subscribe(expires=0, toTag=tag, cseq=4)).status, 200)
        self.assertEqual(self.notifies()[-1].headers.get("Subscription-State"),
                         "terminated;reason=timeout")
        self.assertEqual(len(self.manager), 0)
        self.assertEqual(self.send(subscribe(toTag=tag, cseq=5)).status, 481)

    def test_staleSubscriberDropped(self):
        self.send(subscribe())
        self.send(subscribe(callId="sub2"))
        self.assertEqual(len(self.manager), 2)
        first, second = self.notifies()
        self.answer(first, 481)
        self.answer(second, 408)  # the transaction layer's timeout
        self.assertEqual(len(self.manager), 0)
        self.pbx.devicestate.setCustomState("lamp", "INUSE")
        self.assertEqual(len(self.notifies()), 2)

    def test_survivesReloadOfSettings(self):
        self.send(subscribe())
        self.manager.settings = SubscriptionSettings(minexpiry=120)
        self.assertEqual(len(self.manager), 1)
        self.pbx.devicestate.setCustomState("lamp", "INUSE")
        self.assertEqual(len(self.notifies()), 2)

    def test_presence(self):
        self.pbx.devicestate.setCustomState("lamp", "INUSE")
        self.send(subscribe(event="presence"))
        body = ET.fromstring(self.notifies()[-1].body)
        ns = "{urn:ietf:params:xml:ns:pidf}"
        self.assertEqual(body.findtext(f"{ns}tuple/{ns}status/{ns}basic"), "open")
        self.assertEqual(body.findtext(f"{ns}tuple/{ns}note"), "On the phone")
        self.assertEqual(self.notifies()[-1].headers.get("Content-Type"),
                         "application/pidf+xml")

    def test_messageSummaryAndUnsolicitedMWI(self):
        self.peers.peers["desk"] = desk = Peer("desk", context="phones", mailbox="1001")
        self.peers.targets["desk"] = ("sip:desk@127.0.0.1:5080",
                                      Address("UDP", "127.0.0.1", 5080))
        self.send(subscribe(event="message-summary"))
        summary = parseMessageSummary(self.notifies()[-1].body)
        self.assertEqual((summary["waiting"], summary["voice"]), (False, (0, 0)))
        info = self.vm.store.save("default", "1001", toneSlin(440, 1000))
        summary = parseMessageSummary(self.notifies()[-1].body)
        self.assertEqual((summary["waiting"], summary["voice"]), (True, (1, 0)))
        # desk holds no subscription: it got an out-of-dialog NOTIFY; watcher did not
        [unsolicited] = self.peers.made
        self.assertEqual(unsolicited.uri, "sip:desk@127.0.0.1:5080")
        self.assertEqual(unsolicited.headers.get("Event"), "message-summary")
        self.assertEqual(parseMessageSummary(unsolicited.body)["voice"], (1, 0))
        self.vm.store.move(info, "Old")
        summary = parseMessageSummary(self.notifies()[-1].body)
        self.assertEqual((summary["waiting"], summary["voice"]), (False, (0, 1)))
        self.assertEqual(len(self.peers.made), 2)
        self.assertTrue(self.manager.mwi.notifyPeer(desk))

    def test_unloadDropsSubscriptionsAndHandlers(self):
        self.send(subscribe())
        self.registrar.rollback()
        self.assertEqual(len(self.manager), 0)
        self.assertEqual(self.send(subscribe(callId="late")).status, 405)


def test_parseSettings():
    settings = parseSubscriptionSettings(parseText(
        "[general]\nsubminexpiry = 30\nsubmaxexpiry = 900\nallowsubscribe = no\n"
        "subscribecontext = blf\nnotifyringing = no\n", "sip.conf"))
    assert settings == SubscriptionSettings(30, 900, 3600, False, "blf", False)
    try:
        parseSubscriptionSettings(parseText("[general]\nsubminexpiry = soon\n", "sip.conf"))
    except ConfigError as e:
        assert (e.filename, e.line) == ("sip.conf", 2)
    else:
        raise AssertionError("no ConfigError")
