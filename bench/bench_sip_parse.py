"""
Messages parsed and serialised per second, one core: txpbx's SIP codec
against Twisted's own twisted.protocols.sip.MessagesParser fed the same
bytes (it checks the start line and frames the body; it parses no header).

Rows: "codec only" frames and splits like Twisted's; "parseMessage" also
validates everything a UAS relies on (Via, CSeq, From, To, Contact,
Request-URI); "parse+views" then builds the typed top Via, CSeq and tags.
The aim: "parseMessage+toBytes", the transport's path, at least twice
Twisted's rate for both messages. Figures are the best of several rounds
of process CPU time, so other load on a shared machine counts less.
Run: PYTHONPATH=. python bench/bench_sip_parse.py [seconds-per-case]
"""

import sys
import time
import warnings

warnings.filterwarnings("ignore")

from twisted.protocols import sip as tsip  # noqa: E402

from channels.sip.wire.parser import StreamParser, parseMessage  # noqa: E402

SDP = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"t=0 0\r\n"
    b"m=audio 49170 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
    b"a=ptime:20\r\n"
    b"a=sendrecv\r\n"
)

INVITE = (
    b"INVITE sip:1000@192.0.2.20:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:alice@example.com>;tag=1928301774\r\n'
    b"To: <sip:1000@example.com>\r\n"
    b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n"
    b"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO\r\n"
    b"Supported: replaces, timer\r\n"
    b"User-Agent: bench/1.0\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n"
    b"\r\n" + SDP
)

OK = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\r\n"
    b'From: "Alice" <sip:alice@example.com>;tag=1928301774\r\n'
    b"To: <sip:1000@example.com>;tag=a6c85cf\r\n"
    b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:1000@192.0.2.20:5060>\r\n"
    b"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
    b"Server: bench/1.0\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def rate(fn, seconds, rounds=5):
    """
    Calls of fn per CPU second: the best of several rounds of about
    C{seconds / rounds} each, measured in process time so that other load
    on the machine does not count against the code measured.
    """
    best = 0.0
    for _ in range(rounds):
        n = 0
        batch = 200
        start = time.process_time()
        deadline = start + seconds / rounds
        while True:
            for _ in range(batch):
                fn()
            n += batch
            now = time.process_time()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def oursDatagram(data):
    def run():
        msg = parseMessage(data)
        msg.toBytes()

    return run


def oursStream(data):
    def run():
        parser = StreamParser()
        (msg,) = parser.feed(data)
        msg.toBytes()

    return run


def oursCodec(data):
    def run():
        msg = parseMessage(data, validate=False)
        msg.toBytes()

    return run


def oursTyped(data):
    def run():
        msg = parseMessage(data)
        msg.topVia.branch, msg.cseq.number, msg.fromTag, msg.toTag
        msg.toBytes()

    return run


def twisted(data):
    def run():
        got = []
        parser = tsip.MessagesParser(got.append)
        parser.dataReceived(data)
        parser.dataDone()
        assert len(got) == 1, got
        got[0].toString()

    return run


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(f"{'message':10} {'codec':32} {'msgs/CPU-s':>10}")
    for label, data in (("INVITE+SDP", INVITE), ("200 OK", OK)):
        theirs = rate(twisted(data), seconds)
        for name, make in (
            ("txpbx codec only (no validation)", oursCodec),
            ("txpbx parseMessage+toBytes", oursDatagram),
            ("txpbx StreamParser+toBytes", oursStream),
            ("txpbx parse+views+toBytes", oursTyped),
        ):
            ours = rate(make(data), seconds)
            print(f"{label:10} {name:32} {ours:10.0f}  ({ours / theirs:.2f}x Twisted)")
        print(f"{label:10} {'twisted MessagesParser+toString':32} {theirs:10.0f}")


if __name__ == "__main__":
    main()
