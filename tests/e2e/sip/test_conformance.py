"""
The RFC 4475 / RFC 5118 messages sent unchanged to the running stack over
UDP, each answered as tests/data/conformance/expected.tsv allows, and the
stack still answering a well-formed OPTIONS after each one.

As the data's README says, the server is bound to 127.0.0.1:5060 and the
messages come from 127.0.0.2:5060 (127.0.0.2:5070 for mpart01.dat), where the
Via-routed answers arrive.
"""

import csv
import os
import uuid

from twisted.internet import defer, reactor
from twisted.internet.error import CannotListenError
from twisted.internet.task import deferLater
from twisted.trial import unittest

from channels.sip.driver.config import BindAddress
from channels.sip.wire.headers import splitValues
from channels.sip.wire.grammar import parseVia
from tests.e2e.sip.support import listenClient, startStack
from tests.pbxprocess import PBXProcess
from tests.sample import sampleForTest

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "conformance")
# Seconds spent trying to bind 127.0.0.1:5060 while another program (a SIPp,
# a sample PBX of another test run) holds it: a liveness bound.
BIND_WAIT = 90


def expectations():
    with open(os.path.join(DATA, "expected.tsv"), newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def viaPort(data: bytes) -> int:
    """The port of the message's top Via, where the answer goes (5060 by default)."""
    for line in data.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"via", b"v"):
            try:
                via = parseVia(splitValues(value.decode("utf-8", "replace"))[0])
            except ValueError:
                return 5060
            return via.port or 5060
    return 5060


def probe(port):
    callId = "probe-" + uuid.uuid4().hex
    data = (
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.2:{port};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
        "From: <sip:probe@127.0.0.2>;tag=p1\r\n"
        "To: <sip:127.0.0.1>\r\n"
        f"Call-ID: {callId}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    return callId, data


def _method(response):
    try:
        return response.cseq.method
    except ValueError:
        return None


def ack(response) -> bytes:
    """The ACK a client sends for a non-2xx final to an INVITE (RFC 3261 §17.1.1.3)."""
    via = response.headers.getall("Via")[0]
    lines = ["ACK sip:pbx@127.0.0.1 SIP/2.0", f"Via: {via}", "Max-Forwards: 70"]
    for name in ("From", "To", "Call-ID"):
        lines += [f"{name}: {v}" for v in response.headers.rawValues(name)]
    lines += [f"CSeq: {response.cseq.number} ACK", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


def allowed(answer: str, codes: list) -> bool:
    options = answer.split("|")
    if not codes:
        return "none" in options or any(o == "none" for o in options)
    if len(codes) != 1:
        return False
    code = codes[0]
    if str(code) in options:
        return True
    return "policy" in options and code != 400 and not 500 <= code < 600


class ConformanceTests(unittest.TestCase):
    # Room for BIND_WAIT and 61 messages on a loaded machine (a liveness bound).
    timeout = 400
    # Where the messages are sent: the data's 5060 for the bare stack; the
    # shipped etc/ under twistd takes a free port (tests.sample), so that it
    # never waits for another run's PBX on 5060.
    serverPort = 5060

    @defer.inlineCallbacks
    def startOn5060(self):
        """The data wants 127.0.0.1:5060; wait while another program holds it (BIND_WAIT seconds at most)."""
        deadline = reactor.seconds() + BIND_WAIT
        while True:
            try:
                return startStack(self, udpBind=BindAddress("127.0.0.1", self.serverPort))
            except CannotListenError:
                if reactor.seconds() > deadline:
                    raise
                yield deferLater(reactor, 0.25, lambda: None)

    @defer.inlineCallbacks
    def clientOn(self, port):
        """The sending socket on 127.0.0.2:C{port}, waited for while another run holds it."""
        deadline = reactor.seconds() + BIND_WAIT
        while True:
            try:
                return listenClient(self, "127.0.0.2", port)
            except CannotListenError:
                if reactor.seconds() > deadline:
                    raise
                yield deferLater(reactor, 0.25, lambda: None)

    @defer.inlineCallbacks
    def test_everyMessage(self):
        yield self.startOn5060()
        yield self.sendEveryMessage()

    @defer.inlineCallbacks
    def test_everyMessageToTwistdPbx(self):
        """
        The same run against the product as users start it: a real
        C{twistd -n pbx} on the shipped etc/ copied unchanged but for its
        ports (free ones, L{tests.sample}); the answers still go to the
        messages' Via ports on 127.0.0.2.
        """
        etc, ports = sampleForTest(self)
        self.serverPort = ports.sip
        pbx = PBXProcess(etc).start()
        self.addCleanup(pbx.kill)
        pbx.waitBooted(60)
        yield self.sendEveryMessage()
        self.assertEqual(pbx.stop(), 0, pbx.output)
        self.assertNotIn("Traceback", pbx.output)

    @defer.inlineCallbacks
    def serving(self, client, tries=6):
        """An OPTIONS answered from C{client} (127.0.0.2:5060), asked up to C{tries} times."""
        for attempt in range(tries):
            callId, data = probe(5060)
            client.transport.write(data, ("127.0.0.1", self.serverPort))
            try:
                answer = yield client.waitForCallId(callId)
            except AssertionError:
                if attempt == tries - 1:
                    raise
            else:
                self.assertEqual(answer.status, 200)
                return

    @defer.inlineCallbacks
    def sendEveryMessage(self):
        clients = {}
        seen = []
        failures = []
        rows = expectations()
        onDisk = {f"{d}/{f}" for d in ("rfc4475", "rfc5118") for f in os.listdir(os.path.join(DATA, d))}
        # Every message of the data has its row, and every row is sent below.
        self.assertEqual({row["file"] for row in rows}, onDisk)
        self.assertEqual(len(rows), 61)
        checked = []
        # First the server answers at all (a slow start on a loaded machine is no failure).
        clients[5060] = yield self.clientOn(5060)
        yield self.serving(clients[5060])
        for row in rows:
            with open(os.path.join(DATA, row["file"]), "rb") as f:
                data = f.read()
            # The answer goes to the Via's port: 5060, 5070 for mpart01.dat,
            # and a few others; listen there and probe from the same socket.
            port = viaPort(data)
            if port not in clients:
                clients[port] = yield self.clientOn(port)
            client = clients[port]
            start = len(client.received)
            client.transport.write(data, ("127.0.0.1", self.serverPort))
            callId, probeData = probe(port)
            client.transport.write(probeData, ("127.0.0.1", self.serverPort))
            try:
                answer = yield client.waitForCallId(callId)
            except AssertionError:
                raise AssertionError(f"no answer to the OPTIONS sent after {row['file']}")
            if answer.status != 200:
                failures.append(f"{row['file']}: the OPTIONS after it got {answer.status}")
            window = client.received[start:]
            window = window[: window.index(answer)]
            # Leave out the probes' answers and INVITE finals repeated by an
            # earlier transaction. A message that repeats an earlier one's
            # branch is answered by that transaction again: that counts.
            mine = [m for m in window if not (m.callId or "").startswith("probe-")
                    and not (_method(m) == "INVITE" and m.toBytes() in seen)]
            seen.extend(m.toBytes() for m in mine)
            for m in mine:
                if _method(m) == "INVITE" and m.status >= 300:
                    client.transport.write(ack(m), ("127.0.0.1", self.serverPort))
            codes = [m.status for m in mine]
            checked.append(row["file"])
            if not allowed(row["answer"], codes):
                failures.append(f"{row['file']}: got {codes or 'nothing'}, allowed {row['answer']}")
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertEqual(checked, [row["file"] for row in rows])
        self.assertNotIn(500, [m.status for c in clients.values() for m in c.received])
