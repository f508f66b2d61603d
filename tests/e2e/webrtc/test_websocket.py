"""
SIP over WebSocket (RFC 7118) against a real C{twistd pbx} on the shipped
etc/ (ports rewritten to 0), with a WebSocket client written here on
wsproto over a plain socket: the C{sip} subprotocol is required, a REGISTER
needs digest as over any transport, a bad frame gets a SIP 400, an oversized
message closes the connection with 1009, and an abrupt close drops the
binding made over it. The PBX keeps serving after each.
"""

import hashlib
import re
import socket
import uuid

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection, CloseConnection, RejectConnection, RejectData, Request, TextMessage,
)

from tests.e2e.http.support import PATIENCE, get, httpPort, shippedEtc
from tests.pbxprocess import PBXProcess, cleanup


@pytest.fixture(scope="module")
def pbx():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        yield process, httpPort(process)
    finally:
        process.kill()
        cleanup(etc)


class Client:
    """A WebSocket client on a blocking socket: enough for one SIP dialogue."""

    def __init__(self, port, subprotocols=("sip",)):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.ws.send(Request(host=f"127.0.0.1:{port}", target="/ws",
                                               subprotocols=list(subprotocols))))
        self.pending = []
        self.accepted = None
        self.rejected = None
        while self.accepted is None and self.rejected is None:
            self._read()

    def _read(self):
        data = self.sock.recv(65536)
        self.ws.receive_data(data or None)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.accepted = event
            elif isinstance(event, (RejectConnection, RejectData)):
                self.rejected = self.rejected or event
            else:
                self.pending.append(event)
        return bool(data)

    def send(self, text):
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def event(self):
        while not self.pending:
            if not self._read():
                raise AssertionError("connection closed")
        return self.pending.pop(0)

    def message(self):
        text = ""
        while True:
            event = self.event()
            assert isinstance(event, TextMessage), event
            text += event.data
            if event.message_finished:
                return text


def register(client, auth=None, cseq=1, callId=None):
    branch = "z9hG4bK" + uuid.uuid4().hex[:10]
    lines = [
        "REGISTER sip:127.0.0.1 SIP/2.0",
        f"Via: SIP/2.0/WS abcdef.invalid;branch={branch}",
        "From: <sip:2001@127.0.0.1>;tag=t1", "To: <sip:2001@127.0.0.1>",
        f"Call-ID: {callId}", f"CSeq: {cseq} REGISTER", "Max-Forwards: 70",
        "Contact: <sip:2001@abcdef.invalid;transport=ws>", "Expires: 300",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    client.send("\r\n".join(lines + ["Content-Length: 0", "", ""]))
    return client.message()


def digest(challenge, method="REGISTER", uri="sip:127.0.0.1"):
    params = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge.split(" ", 1)[1]))
    algorithm = params.get("algorithm", "MD5").upper()
    h = (lambda s: hashlib.sha256(s.encode()).hexdigest()) if algorithm == "SHA-256" \
        else (lambda s: hashlib.md5(s.encode()).hexdigest())
    ha1 = h(f"2001:{params['realm']}:change-me-2001")
    ha2 = h(f"{method}:{uri}")
    response = h(f"{ha1}:{params['nonce']}:00000001:abc:auth:{ha2}")
    return (f'Digest username="2001", realm="{params["realm"]}", nonce="{params["nonce"]}", '
            f'uri="{uri}", response="{response}", algorithm={algorithm}, qop=auth, nc=00000001, '
            f'cnonce="abc"')


def test_plain_get_and_a_handshake_without_sip_are_refused(pbx):
    _, port = pbx
    status, _, _ = get(f"http://127.0.0.1:{port}/ws")
    assert status == 426
    client = Client(port, subprotocols=("chat",))
    assert client.rejected is not None and client.rejected.status_code == 400


def test_register_needs_digest_and_a_closed_socket_drops_the_binding(pbx):
    process, port = pbx
    client = Client(port)
    assert client.accepted.subprotocol == "sip"
    callId = uuid.uuid4().hex
    challenge = register(client, callId=callId)
    assert challenge.startswith("SIP/2.0 401"), challenge
    # The Via the phone sent comes back stamped with where it came from.
    assert re.search(r"Via: SIP/2\.0/WS abcdef\.invalid;branch=\S+;received=127\.0\.0\.1", challenge)
    header = re.search(r"(?m)^WWW-Authenticate: (.*)\r$", challenge).group(1)
    ok = register(client, auth=digest(header), cseq=2, callId=callId)
    assert ok.startswith("SIP/2.0 200"), ok
    assert "transport=ws" in ok
    process.waitFor(r"Registered SIP '2001' at ws:127\.0\.0\.1:\d+", PATIENCE)
    client.sock.close()          # no close frame: the browser tab was killed
    process.waitFor(r"SIP/2001: WebSocket ws:127\.0\.0\.1:\d+ closed, binding dropped", PATIENCE)
    process.waitFor(r"Unregistered SIP '2001'", PATIENCE)


def test_bad_frames_get_a_sip_400_and_the_connection_stays(pbx):
    _, port = pbx
    client = Client(port)
    client.send("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bKbad\r\n"
                "CSeq: banana\r\n\r\n")
    answer = client.message()
    assert answer.startswith("SIP/2.0 400"), answer
    client.send("\r\n\r\n")      # a keep-alive: no answer
    client.send("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bKok\r\n"
                "From: <sip:a@x.invalid>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ok1\r\n"
                "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    answer = client.message()
    assert answer.startswith("SIP/2.0 "), answer
    assert "Call-ID: ok1" in answer


def test_an_oversized_message_closes_with_1009(pbx):
    process, port = pbx
    client = Client(port)
    client.send("OPTIONS sip:127.0.0.1 SIP/2.0\r\n" + "X-Filler: " + "a" * 70000 + "\r\n\r\n")
    event = client.event()
    assert isinstance(event, CloseConnection) and event.code == 1009, event
    # Still serving.
    assert Client(port).accepted.subprotocol == "sip"
    assert "Traceback" not in process.output


def test_wss_over_the_https_server(tmp_path):
    """
    With http.conf's TLS on, the same /ws over HTTPS is transport WSS: the
    binding says so. (The shipped http.conf has TLS off: the test turns it on
    with a certificate it makes, which is why it edits the copy.)
    """
    import ssl

    from tests.e2e.http.support import rewrite
    from tests.e2e.sip.certs import writeTLSFiles

    paths, _ = writeTLSFiles(str(tmp_path / "tls"), ["127.0.0.1", "localhost"])

    def edit(etc):
        rewrite(etc, "http.conf", r"(?m)^tlsenable = no.*$",
                f"tlsenable = yes\ntlsbindaddr = 127.0.0.1:0\ntlscertfile = {paths['cert']}\n"
                f"tlsprivatekey = {paths['key']}")
    etc = shippedEtc(edit)
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        port = int(process.waitFor(r"HTTPS server listening on 127\.0\.0\.1:(\d+)", PATIENCE).group(1))
        context = ssl.create_default_context(cafile=paths["ca"])
        client = Client.__new__(Client)
        raw = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        client.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        client.ws = WSConnection(ConnectionType.CLIENT)
        client.sock.sendall(client.ws.send(Request(host=f"127.0.0.1:{port}", target="/ws",
                                                   subprotocols=["sip"])))
        client.pending, client.accepted, client.rejected = [], None, None
        while client.accepted is None and client.rejected is None:
            client._read()
        assert client.accepted.subprotocol == "sip"
        callId = uuid.uuid4().hex
        challenge = register(client, callId=callId)
        header = re.search(r"(?m)^WWW-Authenticate: (.*)\r$", challenge).group(1)
        ok = register(client, auth=digest(header), cseq=2, callId=callId)
        assert ok.startswith("SIP/2.0 200"), ok
        process.waitFor(r"Registered SIP '2001' at wss:127\.0\.0\.1:\d+", PATIENCE)
        client.sock.close()
        process.waitFor(r"SIP/2001: WebSocket wss:127\.0\.0\.1:\d+ closed, binding dropped", PATIENCE)
    finally:
        process.kill()
        cleanup(etc)
