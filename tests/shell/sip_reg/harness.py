"""A chan_sip peer service on a Clock with an in-memory transport."""

import tempfile

from twisted.internet.task import Clock

from channels.sip.net.address import Address
from channels.sip.driver.config import SIPGeneral
from channels.sip.wire.digest import buildAuthorization, chooseChallenge
from channels.sip.wire.parser import parseMessage
from channels.sip.driver.peers import parseSIPConf
from channels.sip.driver.peerservice import PeerService
from channels.sip.net.transactions import TransactionManager
from channels.sip.net.useragent import UserAgent
from pbxcore.config import parseText
from pbxcore.testing import FakePBX, FakeRegistrar

PHONE = Address("UDP", "192.0.2.10", 5062)

SIP_CONF = """\
[general]
realm = txpbx.test
minexpiry = 60
maxexpiry = 3600
defaultexpiry = 120
qualifyfreq = 30

[phones](!)
type = friend
host = dynamic
context = internal

[1001](phones)
secret = right

[1002](phones)
secret = other
maxcontacts = 2

[1003](phones)
secret = guarded
deny = 0.0.0.0/0
permit = 198.51.100.0/24

[1004](phones)
md5secret = {md5}

[trunk]
type = peer
host = 203.0.113.5
qualify = 500
"""


class FakeTransport:
    def __init__(self):
        self.sent = []

    def send(self, message, destination):
        self.sent.append((message, destination))

    def sendResponse(self, response, source):
        self.sent.append((response, source))

    def responses(self):
        return [m for m, _ in self.sent if not m.isRequest]

    def requests(self, method=None):
        return [(m, d) for m, d in self.sent if m.isRequest and (method is None or m.method == method)]


class FakeStack:
    def __init__(self, clock):
        self.general = SIPGeneral()
        self.transport = FakeTransport()
        self.userAgent = UserAgent()
        self.transactions = TransactionManager(self.transport, self.userAgent, reactor=clock)
        self.listening = []


def sipConf(text=None):
    import hashlib

    md5 = hashlib.md5(b"1004:txpbx.test:hashed").hexdigest()
    return parseSIPConf(parseText((text or SIP_CONF).replace("{md5}", md5), "sip.conf"))


class Harness:
    """A started PeerService; C{send(text)} feeds a request, C{last} is the last response."""

    def __init__(self, text=None, dataDir=None, clock=None, start=True):
        self.clock = clock or Clock()
        if self.clock.seconds() == 0:
            self.clock.advance(1_800_000_000)
        self.ownsDir = dataDir is None
        self.dataDir = dataDir or tempfile.mkdtemp(prefix="txpbx-sipreg-")
        self.pbx = FakePBX(reactor=self.clock, dataDir=self.dataDir)
        self.stack = FakeStack(self.clock)
        self.service = PeerService(self.pbx, self.stack, sipConf(text), reactor=self.clock)
        self.registrar = FakeRegistrar(self.pbx, "chan_sip")
        self.service.install(self.registrar)
        self.cseq = 0
        self.callId = "reg-call-1"
        if start:
            self.service.startService()

    def stop(self, keep=False):
        """Stop the service; remove the data directory it made unless C{keep}."""
        d = self.service.stopService()
        if self.ownsDir and not keep:
            import shutil

            d.addBoth(lambda result: (shutil.rmtree(self.dataDir, ignore_errors=True), result)[1])
        return d

    @property
    def transport(self):
        return self.stack.transport

    @property
    def last(self):
        return self.transport.responses()[-1]

    def events(self, name):
        return [e for e in self.pbx.eventLog if e.name == name]

    def register(self, user="1001", contact=None, expires=None, auth=None, source=PHONE,
                 extra=(), callId=None, cseq=None, contactLine=True):
        self.cseq += 1
        lines = [
            "REGISTER sip:txpbx.test SIP/2.0",
            f"Via: SIP/2.0/UDP {source.host}:{source.port};branch=z9hG4bK-{self.cseq}-{callId or self.callId}",
            f"From: <sip:{user}@txpbx.test>;tag=ft{self.cseq}",
            f"To: <sip:{user}@txpbx.test>",
            f"Call-ID: {callId or self.callId}",
            f"CSeq: {cseq or self.cseq} REGISTER",
            "Max-Forwards: 70",
            "User-Agent: TestPhone/1.0",
        ]
        if contactLine:
            lines.append(f"Contact: {contact or f'<sip:{user}@{source.host}:{source.port}>'}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if auth:
            lines.append(f"Authorization: {auth}")
        lines.extend(extra)
        data = ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()
        self.stack.transactions.messageReceived(parseMessage(data), source)
        return self.last

    def answer(self, challengeResponse, user="1001", password="right", algorithm=None, nc=1, uri="sip:txpbx.test"):
        values = challengeResponse.headers.rawValues("WWW-Authenticate")
        if algorithm is not None:
            values = [v for v in values if f"algorithm={algorithm}" in v]
        challenge = chooseChallenge(values)
        return buildAuthorization(challenge, "REGISTER", uri, user, password, "cn0nce", nc)

    def registerWithAuth(self, user="1001", password="right", **kw):
        challenge = self.register(user=user, **kw)
        assert challenge.status == 401, challenge
        return self.register(user=user, auth=self.answer(challenge, user, password), **kw)
