"""
A bare UDP responder for the OPTIONS benchmark's baseline: it answers every
OPTIONS with 200 by copying Via, From, To, Call-ID and CSeq, and parses
nothing else. Usage: python bench/bare_sip_responder.py [PORT]; prints
"listening PORT" once bound (127.0.0.1 only).
"""

import sys

from twisted.internet import protocol

COPIED = (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq")


class BareResponder(protocol.DatagramProtocol):
    def datagramReceived(self, data, addr):
        if not data.startswith(b"OPTIONS "):
            return
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        out = [b"SIP/2.0 200 OK"]
        for line in head[1:]:
            name = line.split(b":", 1)[0].strip().lower()
            if name in COPIED:
                out.append(line)
        out.append(b"Content-Length: 0\r\n\r\n")
        self.transport.write(b"\r\n".join(out), addr)


def main(argv):
    from twisted.internet import reactor

    port = reactor.listenUDP(int(argv[1]) if len(argv) > 1 else 0, BareResponder(), interface="127.0.0.1")
    print(f"listening {port.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv)
