"""
Concurrent encrypted (SDES-SRTP) relayed calls against the same count in
plain RTP, in one run: loss and median latency the relay adds.

Each call has two legs relaying to each other natively (RTPSession.relayTo,
what a bridge of two RTP legs does). In 'srtp' the legs are the PBX's
SecureRTPSession keyed as SDES (RFC 4568) gives them (AES_CM_128_HMAC_SHA1_80,
one master key per direction and leg): every packet is decrypted on the leg
it arrives on and encrypted again with the other leg's key. In 'plain' they
are RTPSession. The phones (Python processes, pylibsrtp through
pbxcore.media.srtp for their own SRTP; loopback only) play both phones of
every call, 50 packets a second each way, and time each packet from send to
receipt through the relay (the phones' own protect/unprotect included, a
few microseconds). Both modes use the same phones, so the two rows compare.
The relay's own counts (datagrams in and out, SRTP failures, drops) and the
phones' CPU tell where a loss happened: packets the relay sent that the
phones never read were lost in the phones' socket buffers (phones behind).

    python bench/bench_srtp_relay.py                    # 25 50 100 calls, srtp and plain
    python bench/bench_srtp_relay.py --calls 50 --seconds 10

The target of issue 14: concurrent encrypted calls meeting "<= 0.1 % lost,
< 1 ms median added", against the same count in plain RTP. The machine's
load average is printed first: the figures mean little when other work
competes for the CPUs. Load is bounded: loopback only, fixed duration.
"""

import argparse
import json
import multiprocessing
import os
import select
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from bench_rtp_relay import _percentile  # noqa: E402

RTP_START = 42000
SUITE = "AES_CM_128_HMAC_SHA1_80"


# -- the PBX side ------------------------------------------------------------------

def serve(calls, mode):
    """Run the relay for C{calls} calls until stdin closes; print CPU used and counts."""
    from twisted.internet import reactor, stdio
    from twisted.protocols.basic import LineReceiver

    from pbxcore.media.rtpsession import RTPEngine, RTPSettings
    from pbxcore.media.securertp import SecureRTPSession
    from pbxcore.media.srtp import newMasterKey

    engine = RTPEngine(RTPSettings(rtpstart=RTP_START, rtpend=RTP_START + 4 * calls + 100,
                                   rtcpinterval=5000), reactor=reactor)
    legs = []
    for _ in range(calls):
        pair = []
        for _ in range(2):
            if mode == "srtp":
                leg = SecureRTPSession(engine, symmetric=True)
                pbxKey, phoneKey = newMasterKey(SUITE), newMasterKey(SUITE)
                leg.useSDES(SUITE, pbxKey, phoneKey)
                keys = (pbxKey.hex(), phoneKey.hex())
            else:
                leg = engine.createSession(symmetric=True)
                keys = None
            leg.start("127.0.0.1")
            pair.append((leg, keys))
        (a, keysA), (b, keysB) = pair
        a.relayTo(b)
        b.relayTo(a)
        legs.append([[a.localPort, keysA], [b.localPort, keysB]])

    class Control(LineReceiver):
        delimiter = b"\n"

        def connectionMade(self):
            self.start = os.times()
            self.sendLine(json.dumps(legs).encode())

        def lineReceived(self, line):
            if line == b"mark":
                self.start = os.times()
                self.sendLine(b"ok")

        def connectionLost(self, reason):
            end = os.times()
            cpu = (end.user - self.start.user) + (end.system - self.start.system)
            sessions = list(engine.sessions)
            sys.stderr.write(json.dumps({
                "cpu": cpu, "in": sum(r.received for r in sessions),
                "out": sum(r.sent for r in sessions),
                "dropped": sum(r.dropped for r in sessions),
                "srtpFailed": sum(getattr(r, "srtpFailed", 0) for r in sessions)}) + "\n")
            sys.stderr.flush()
            reactor.stop()

    stdio.StandardIO(Control())
    reactor.run()


# -- the phones ----------------------------------------------------------------------

def phones(args):
    """One phone process: both phones of some calls; (sent, received, latencies, failed)."""
    from pbxcore.media.srtp import SRTPContext, SRTPError

    pairs, seconds, start = args
    began = time.process_time()
    legs = []
    for pair in pairs:
        for port, keys in pair:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            # The phone sends with its key and takes the PBX's (SDES both ways).
            srtp = (SRTPContext(SUITE, bytes.fromhex(keys[1]), bytes.fromhex(keys[0]))
                    if keys else None)
            legs.append((s, ("127.0.0.1", port), srtp))
    byFd = {s.fileno(): (s, srtp) for s, _, srtp in legs}
    poller = select.epoll()
    for s, _, _ in legs:
        poller.register(s.fileno(), select.EPOLLIN)
    header = struct.Struct("!BBHII")
    stamp = struct.Struct("!qI")
    pad = b"\xff" * (160 - 12)

    def send(i, seq, sentAt):
        s, target, srtp = legs[i]
        packet = header.pack(0x80, 0, seq & 0xFFFF, 160 * seq, 1000 + i) + stamp.pack(sentAt, i) + pad
        s.sendto(srtp.protect(packet) if srtp else packet, target)

    # Prime every leg (symmetric RTP learns the phone's address from its first packet).
    for i in range(len(legs)):
        send(i, 0, 0)
    startNs = int(start * 1e9)
    while time.monotonic() < start:
        time.sleep(0.001)
    sent = received = failed = 0
    latencies = []
    count = len(legs)
    end = start + seconds
    nextSend = [start + 0.02 * i / count for i in range(count)]   # spread over 20 ms
    seqs = [1] * count
    order = 0
    while True:
        now = time.monotonic()
        while True:
            i = order % count
            when = nextSend[i]
            if when > now or when >= end:
                break
            try:
                send(i, seqs[i], time.monotonic_ns())
                sent += 1
            except BlockingIOError:
                pass
            seqs[i] += 1
            nextSend[i] = when + 0.02
            order += 1
        if now > end + 0.5:
            break
        timeout = max(0.0, min(nextSend[order % count], end + 0.5) - time.monotonic())
        for fd, _ in poller.poll(timeout):
            s, srtp = byFd[fd]
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                arrived = time.monotonic_ns()
                # Only relayed audio (RTCP to port + 1 may land on another phone's socket).
                if len(data) < 24 or data[1] & 0x7F != 0:
                    continue
                if srtp is not None:
                    try:
                        data = srtp.unprotect(data)
                    except SRTPError:
                        failed += 1
                        continue
                sentAt, _ = stamp.unpack_from(data, 12)
                if sentAt >= startNs:
                    latencies.append((arrived - sentAt) / 1e6)
                    received += 1
    for s, _, _ in legs:
        s.close()
    return sent, received, latencies, failed, time.process_time() - began


def run(calls, seconds, mode, workers):
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(calls),
                              "--mode", mode],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    legs = json.loads(child.stdout.readline())
    workers = max(1, min(workers, calls))
    start = time.monotonic() + 0.5
    child.stdin.write(b"mark\n")
    child.stdin.flush()
    child.stdout.readline()
    with multiprocessing.Pool(workers) as pool:
        results = pool.map(phones, [(legs[i::workers], seconds, start) for i in range(workers)])
    child.stdin.close()
    report = [line for line in child.stderr.read().decode().splitlines()
              if line.startswith('{"cpu"')]
    child.wait()
    if not report:
        raise SystemExit(f"the relay process for {calls} calls did not report")
    counts = json.loads(report[-1])
    sent = sum(r[0] for r in results)
    received = sum(r[1] for r in results)
    hist = {}
    for r in results:
        for x in r[2]:
            b = int(x * 100)
            hist[b] = hist.get(b, 0) + 1
    return {"calls": calls, "mode": mode, "sent": sent, "received": received,
            "loss": 100.0 * (sent - received) / sent if sent else 0.0,
            "median": _percentile(hist, 0.5), "p99": _percentile(hist, 0.99),
            "cpu": counts["cpu"] / (seconds + 1.0), "phoneFailed": sum(r[3] for r in results),
            "srtpFailed": counts["srtpFailed"], "dropped": counts["dropped"],
            "relayIn": counts["in"], "relayOut": counts["out"],
            "phonesCpu": sum(r[4] for r in results) / (seconds + 0.5)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2, help="phone processes (default 2)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("srtp", "plain"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.mode)
        return
    if max(args.calls) > 1000:
        raise SystemExit("at most 1000 calls (the load stays bounded)")
    print(f"SDES-SRTP ({SUITE}) against plain RTP, native relay, {args.seconds:g} s per run, "
          f"50 packets/s per direction per leg, {args.workers} Python phone processes, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the first run")
    print(f"{'calls':>6} {'media':>6} {'sent':>8} {'lost %':>7} {'median ms':>10} {'p99 ms':>8} "
          f"{'PBX CPU':>8} {'phones CPU':>10}  ok  {'relay in':>9} {'relay out':>9} "
          f"{'srtp failed':>11} {'dropped':>7}")
    for calls in args.calls:
        for mode in ("srtp", "plain"):
            r = run(calls, args.seconds, mode, args.workers)
            ok = r["loss"] <= 0.1 and r["median"] < 1.0
            print(f"{calls:>6} {mode:>6} {r['sent']:>8} {r['loss']:>7.3f} {r['median']:>10.3f} "
                  f"{r['p99']:>8.3f} {100 * r['cpu']:>7.1f}% {100 * r['phonesCpu']:>9.1f}%  "
                  f"{'yes' if ok else 'no':<3} {r['relayIn']:>9} {r['relayOut']:>9} "
                  f"{r['srtpFailed'] + r['phoneFailed']:>11} {r['dropped']:>7}")
            sys.stdout.flush()
    print(f"load average {os.getloadavg()[0]:.2f} after the last run")


if __name__ == "__main__":
    main()
