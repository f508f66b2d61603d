"""
DTLS-SRTP and SRTP relay costs.

1. DTLS handshakes per second: complete DTLS 1.2 handshakes with use_srtp
   between two endpoints over memory BIOs (pbxcore.media.dtls, one core, CPU
   time; both ends are in this process, so a PBX doing only its own half
   does about twice as many).
2. The relay path per packet, encrypted against plain: a packet received on
   one leg is decrypted (SRTP, libsrtp), relayed, and encrypted again with
   the other leg's keys, against the same relay of plain RTP; from the cost
   per packet, the calls one core relays (a call: two legs, 50 packets/s each
   way, so 100 relayed packets/s). No kernel and no reactor: the Python and
   libsrtp cost of the relay path alone (sends go to a stand-in socket).

    python bench/bench_dtls.py [--handshakes 200] [--packets 200000]
"""

import argparse
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pbxcore.media.dtls import CLIENT, SERVER, DTLSCertificate, DTLSEndpoint  # noqa: E402
from pbxcore.media.rtpsession import RTPEngine, RTPSettings  # noqa: E402
from pbxcore.media.securertp import SecureRTPSession  # noqa: E402
from pbxcore.media.srtp import SRTPContext, newMasterKey  # noqa: E402


def handshakes(count):
    a, b = DTLSCertificate.generate("a"), DTLSCertificate.generate("b")
    started = time.process_time()
    for _ in range(count):
        client = DTLSEndpoint(a, CLIENT, b.fingerprint)
        server = DTLSEndpoint(b, SERVER, a.fingerprint)
        pending, to = client.start(), server
        while pending:
            replies = []
            for datagram in pending:
                replies += to.receive(datagram)
            pending, to = replies, (client if to is server else server)
        assert client.done and server.done
    return count / (time.process_time() - started)


class _Sock:
    def sendto(self, data, addr):
        pass


class _Port:
    socket = _Sock()

    def __init__(self, port):
        self.port = port

    def getHost(self):
        return self

    def write(self, data, addr):
        pass

    def stopListening(self):
        pass


class _Reactor:
    now = 0.0

    def seconds(self):
        return self.now

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        return _Port(port)

    def callLater(self, delay, f, *a):
        class Call:
            def active(self):
                return False

            def cancel(self):
                pass
        return Call()


def relay(packets, secure):
    reactor = _Reactor()
    engine = RTPEngine(RTPSettings(rtpstart=40000, rtpend=40010, rtcpinterval=0),
                       reactor=reactor, sharedReader=False)
    make = (lambda: SecureRTPSession(engine)) if secure else engine.createSession
    a, b = make(), make()
    a.start("127.0.0.1")
    b.start("127.0.0.1")
    b.setRemote(("127.0.0.1", 4000))
    a.relayTo(b)
    phone = None
    if secure:
        phoneKey, aKey, bKey, otherKey = (newMasterKey() for _ in range(4))
        a.useSDES("AES_CM_128_HMAC_SHA1_80", aKey, phoneKey)
        b.useSDES("AES_CM_128_HMAC_SHA1_80", bKey, otherKey)
        phone = SRTPContext("AES_CM_128_HMAC_SHA1_80", phoneKey, aKey)
    header = struct.Struct("!BBHII")
    pad = b"\xff" * 160
    datagrams = [header.pack(0x80, 0, i, 160 * i, 1234) + pad for i in range(65536)]
    if phone is not None:
        # What the phone sends: encrypted once, before the clock starts.
        datagrams = [phone.protect(d) for d in datagrams]
    packets = min(packets, 65536)   # one sequence cycle: SRTP refuses replays
    addr = ("127.0.0.1", 5000)
    receive = a.rtpDatagram
    started = time.process_time()
    for i in range(packets):
        reactor.now = i * 0.02
        receive(datagrams[i], addr)
    spent = time.process_time() - started
    assert b.sent == packets, (b.sent, packets)
    return spent / packets


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handshakes", type=int, default=200)
    parser.add_argument("--packets", type=int, default=60000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = [handshakes(args.handshakes) for _ in range(args.runs)]
    print(f"DTLS-SRTP handshakes (both ends in one process, CPU time): "
          f"best {max(rates):.0f}/s, runs {', '.join(f'{r:.0f}' for r in rates)}")
    for secure in (False, True):
        costs = [relay(args.packets, secure) for _ in range(args.runs)]
        best = min(costs)
        name = "SRTP -> SRTP (decrypt, relay, encrypt)" if secure else "RTP -> RTP (plain)"
        print(f"relay {name}: best {best * 1e6:.2f} us/packet; one core relays about "
              f"{1 / (best * 100):.0f} calls (100 packets/s a call)")


if __name__ == "__main__":
    main()
