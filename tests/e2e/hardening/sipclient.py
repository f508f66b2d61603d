"""
A minimal blocking SIP REGISTER client over a real UDP socket bound to a
chosen loopback address (127.0.0.x): the guesser and the honest phone of
the brute-force tests. Run it off the reactor thread (deferToThread).
"""

import socket
import uuid

from channels.sip.wire.digest import buildAuthorization, chooseChallenge


class Registrar:
    def __init__(self, host, port, localHost, user="1001"):
        self.target = ("127.0.0.1", port)
        self.user = user
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((localHost, 0))
        self.sock.settimeout(10.0)  # a liveness bound: the PBX answers every REGISTER
        self.local = self.sock.getsockname()
        self.callId = uuid.uuid4().hex
        self.cseq = 0
        self.uri = f"sip:{host}"

    def close(self):
        self.sock.close()

    def _request(self, authorization=None, expires=120):
        self.cseq += 1
        host, port = self.local
        lines = [
            f"REGISTER {self.uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{uuid.uuid4().hex};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@{self.target[0]}>;tag={self.callId[:8]}",
            f"To: <sip:{self.user}@{self.target[0]}>",
            f"Call-ID: {self.callId}",
            f"CSeq: {self.cseq} REGISTER",
            f"Contact: <sip:{self.user}@{host}:{port}>",
            f"Expires: {expires}",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines += ["Content-Length: 0", "", ""]
        self.sock.sendto("\r\n".join(lines).encode(), self.target)
        while True:
            data, _ = self.sock.recvfrom(65535)
            if not data.startswith(b"SIP/2.0 "):
                continue  # a request from the PBX (MWI NOTIFY, qualify OPTIONS): not ours to answer
            status, headers = _parse(data)
            if status >= 200:
                return status, headers

    def register(self, password, expires=120):
        """
        Send a REGISTER, answer its challenge with C{password}; the final
        (status, [(header name, value)]) of the answer to the credentials.
        """
        status, headers = self._request(expires=expires)
        if status != 401:
            return status, headers
        challenge = chooseChallenge([v for k, v in headers if k.lower() == "www-authenticate"])
        auth = buildAuthorization(challenge, "REGISTER", self.uri, self.user, password,
                                  cnonce=uuid.uuid4().hex[:16])
        return self._request(auth, expires)


def _parse(data):
    head = data.decode("utf-8", "replace").split("\r\n\r\n", 1)[0].split("\r\n")
    status = int(head[0].split()[1])
    headers = []
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return status, headers


def shape(answer):
    """What a guesser can compare between two answers: status and header names in order."""
    status, headers = answer
    return status, [name.lower() for name, _ in headers]
