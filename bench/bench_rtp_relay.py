"""
Concurrent relayed G.711 calls: how many can one PBX process carry?

Each call has two legs (two RTP sessions from the rtp.conf range) relaying
to each other; load generators (separate processes, loopback only) play
both phones of every call, each sending 50 packets a second, and time
every packet from send to receipt through the relay. For each call count
it prints packets lost, the median and 99th percentile latency through the
relay, the PBX process's CPU time per call, and the relay's own counts
(datagrams received and sent, packets it dropped): a loss the relay did not
count happened in the kernel's socket buffers.

    python bench/bench_rtp_relay.py                     # 50 100 200 300 500 calls
    python bench/bench_rtp_relay.py --calls 100 400 --seconds 5 --mode bridge

The phones are a small C program (bench/rtp_phones.c, compiled with the
system's cc into a temporary directory) so that the load generator costs
far less than the relay it measures; --generator python uses the Python
phones instead (no compiler needed, but they fall behind first). The PBX's
CPU is measured in its own process, the phones' separately.

Modes: 'native' links the two RTP sessions (RTPSession.relayTo, what a
bridge of two RTP legs does); 'bridge' carries every packet as a frame
through two channels and the core's two-party Bridge. --reader socket makes
every RTP socket a reactor reader of its own instead of reading them all
through the engine's one epoll set (to measure what that saves).

The machine's load average is printed first: the latency figures mean
little when other work competes for the CPUs.

The target of issue 7: 500 calls with at most 0.1 % loss and under 1 ms
median latency added. Load is bounded: loopback only, fixed duration.
"""

import argparse
import atexit
import json
import shutil
import tempfile
import multiprocessing
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

RTP_START = 40000


# -- the PBX side ------------------------------------------------------------------

def serve(calls, mode, reader="shared"):
    """Run the relay for C{calls} calls until stdin closes; print CPU used."""
    from twisted.internet import reactor, stdio
    from twisted.protocols.basic import LineReceiver

    from pbxcore.media.rtpsession import RTPEngine, RTPSettings

    engine = RTPEngine(RTPSettings(rtpstart=RTP_START, rtpend=RTP_START + 4 * calls + 100,
                                   rtcpinterval=5000), reactor=reactor,
                       sharedReader=reader == "shared")
    legs = []
    pumps = []
    for _ in range(calls):
        a = engine.createSession(symmetric=True)
        b = engine.createSession(symmetric=True)
        a.start("127.0.0.1")
        b.start("127.0.0.1")
        if mode == "native":
            a.relayTo(b)
            b.relayTo(a)
        else:
            pumps.append(_bridged(a, b, reactor))
        legs.append((a.localPort, b.localPort))

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
                "dropped": sum(r.dropped for r in sessions)}) + "\n")
            sys.stderr.flush()
            reactor.stop()

    stdio.StandardIO(Control())
    reactor.run()


def _bridged(a, b, reactor):
    """Two channels on sessions a and b in the core's two-party Bridge."""
    from twisted.internet import defer

    from pbxcore.bridge import Bridge
    from pbxcore.channel import Channel
    from pbxcore.frame import ChannelState

    class Driver:
        def __init__(self, rtp):
            self.rtp = rtp

        def writeFrame(self, channel, frame):
            self.rtp.writeFrame(frame)

        def hangup(self, channel, cause):
            pass

        def sendDigitBegin(self, channel, digit):
            self.rtp.sendDigitBegin(digit)

        def sendDigitEnd(self, channel, digit, durationMs):
            self.rtp.sendDigitEnd(digit, durationMs)

        def indicate(self, channel, control, data=None):
            pass

    class PBX:
        events = None
        settings = None

        def __init__(self):
            self.reactor = reactor

        def emitEvent(self, *args):
            pass

    class NoEvents:
        """Nobody listens: channel events are never built."""

        def wants(self, name):
            return False

        def __len__(self):
            return 0

    pbx = PBX()
    pbx.events = NoEvents()
    channels = []
    for rtp in (a, b):
        channel = Channel(pbx, f"Bench/{rtp.localPort}", driver=Driver(rtp),
                          state=ChannelState.UP)
        channel.owned = True
        rtp.onFrame = channel.frameReceived
        channels.append(channel)
    bridge = Bridge(pbx)
    return defer.Deferred.fromCoroutine(bridge.run(*channels))


# -- the relay's own Python cost ------------------------------------------------------

def micro(packets=200000):
    """
    The relay's per-packet Python cost alone: datagrams handed straight to
    one leg of a linked pair, sends going to a socket stand-in that drops
    them. No kernel, no reactor: what the code of the relay path costs.
    """
    from pbxcore.media.rtpsession import RTPEngine, RTPSettings

    class Sock:
        def sendto(self, data, addr):
            pass

    class Port:
        socket = Sock()

        def __init__(self, port):
            self.port = port

        def getHost(self):
            return self

        def write(self, data, addr):
            pass

        def stopListening(self):
            pass

    class Reactor:
        def seconds(self):
            return now

        def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
            return Port(port)

    now = 0.0
    engine = RTPEngine(RTPSettings(rtpstart=RTP_START, rtpend=RTP_START + 10, rtcpinterval=0),
                       reactor=Reactor())
    a, b = engine.createSession(), engine.createSession()
    a.start("127.0.0.1")
    b.start("127.0.0.1")
    b.setRemote(("127.0.0.1", 4000))
    a.relayTo(b)
    header = struct.Struct("!BBHII")
    pad = b"\xff" * 160
    # One whole sequence cycle: the stream wraps as a long call's does.
    datagrams = [header.pack(0x80, 0, i, 160 * i, 1234) + pad for i in range(65536)]
    addr = ("127.0.0.1", 5000)
    receive = a.rtpDatagram
    started = time.process_time()
    for i in range(packets):
        now = i * 0.02
        receive(datagrams[i & 0xFFFF], addr)
    spent = time.process_time() - started
    return spent / packets, b.sent


# -- the phones ----------------------------------------------------------------------

def phones(args):
    """One generator process: both phones of some calls; returns its measurements."""
    pairs, seconds, start = args
    sockets = []
    for pbxA, pbxB in pairs:
        for port in (pbxA, pbxB):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sockets.append((s, ("127.0.0.1", port)))
    byFd = {s.fileno(): s for s, _ in sockets}
    poller = select.epoll()
    for s, _ in sockets:
        poller.register(s.fileno(), select.EPOLLIN)
    header = struct.Struct("!BBHII")
    stamp = struct.Struct("!qI")
    payloadPad = b"\xff" * (160 - 12)
    # Prime every leg (symmetric RTP learns the phone's address from its
    # first packet, as it would from the SDP of a real call).
    for index, (s, target) in enumerate(sockets):
        s.sendto(header.pack(0x80, 0, 0, 0, 1000 + index) + stamp.pack(0, index) + payloadPad,
                 target)
    startNs = int(start * 1e9)
    while time.monotonic() < start:
        time.sleep(0.001)
    sent = received = 0
    latencies = []
    count = len(sockets)
    end = start + seconds
    # Phones are spread over the 20 ms packet interval, as real ones are.
    nextSend = [start + 0.02 * i / count for i in range(count)]
    seqs = [1] * count
    order = 0
    while True:
        now = time.monotonic()
        while order < count * 10**9:
            i = order % count
            when = nextSend[i]
            if when > now or when >= end:
                break
            s, target = sockets[i]
            body = stamp.pack(time.monotonic_ns(), i) + payloadPad
            try:
                s.sendto(header.pack(0x80, 0, seqs[i] & 0xFFFF, 160 * seqs[i], 1000 + i) + body,
                         target)
                sent += 1
            except BlockingIOError:
                pass
            seqs[i] += 1
            nextSend[i] = when + 0.02
            order += 1
        if now > end + 0.5:
            break
        upcoming = nextSend[order % count]
        timeout = max(0.0, min(upcoming, end + 0.5) - time.monotonic())
        for fd, _ in poller.poll(timeout):
            s = byFd[fd]
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                # Only relayed audio (RTCP reports to port + 1 may land on
                # another phone's socket).
                if len(data) >= 24 and data[1] & 0x7F == 0:
                    sentAt, _ = stamp.unpack_from(data, 12)
                    if sentAt >= startNs:
                        latencies.append((time.monotonic_ns() - sentAt) / 1e6)
                        received += 1
    for s, _ in sockets:
        s.close()
    return sent, received, latencies


def buildPhones():
    """Compile rtp_phones.c; the path of the binary, or None without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    directory = tempfile.mkdtemp(prefix="txpbx-bench-")
    atexit.register(shutil.rmtree, directory, True)
    out = os.path.join(directory, "rtp_phones")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rtp_phones.c")
    subprocess.run([cc, "-O2", "-o", out, source], check=True)
    return out


def cPhones(binary, chunks, seconds):
    """Run one C phone process per chunk of legs; (sent, received, histogram, cpu)."""
    procs = []
    for pairs in chunks:
        ports = [str(p) for pair in pairs for p in pair]
        procs.append(subprocess.Popen([binary, str(seconds), "500", *ports],
                                      stdout=subprocess.PIPE))
    sent = received = 0
    cpu = 0.0
    hist = {}
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 30)
        result = json.loads(out)
        sent += result["sent"]
        received += result["received"]
        cpu += result["cpu"]
        for b, n in result["hist"]:
            hist[b] = hist.get(b, 0) + n
    return sent, received, hist, cpu


def _percentile(hist, fraction):
    """The latency (ms) at C{fraction} of a histogram of 10 us bins."""
    total = sum(hist.values())
    if not total:
        return float("nan")
    wanted = fraction * total
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= wanted:
            return (b * 10 + 5) / 1000.0
    return float("nan")


def run(calls, seconds, mode, workers, binary=None, reader="shared"):
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(calls),
                              "--mode", mode, "--reader", reader],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    legs = json.loads(child.stdout.readline())
    workers = max(1, min(workers, calls))
    start = time.monotonic() + 0.5
    chunks = [(legs[i::workers], seconds, start) for i in range(workers)]
    child.stdin.write(b"mark\n")
    child.stdin.flush()
    child.stdout.readline()
    if binary is not None:
        chunks = [legs[i::workers] for i in range(workers)]
        sent, received, hist, phonesCpu = cPhones(binary, chunks, seconds)
    else:
        with multiprocessing.Pool(workers) as pool:
            results = pool.map(phones, chunks)
        sent = sum(r[0] for r in results)
        received = sum(r[1] for r in results)
        hist = {}
        for r in results:
            for x in r[2]:
                b = int(x * 100)
                hist[b] = hist.get(b, 0) + 1
        phonesCpu = float("nan")
    child.stdin.close()
    report = [line for line in child.stderr.read().decode().splitlines()
              if line.startswith('{"cpu"')]
    if not report:
        raise SystemExit(f"the relay process for {calls} calls did not report its CPU time")
    counts = json.loads(report[-1])
    cpu = counts["cpu"]
    child.wait()
    loss = 100.0 * (sent - received) / sent if sent else 0.0
    return {"calls": calls, "sent": sent, "received": received, "loss": loss,
            "median": _percentile(hist, 0.5), "p99": _percentile(hist, 0.99),
            "cpuPerCall": cpu / (seconds + 1.0) / calls, "cpu": cpu / (seconds + 1.0),
            "phonesCpu": phonesCpu / (seconds + 0.5),
            "relayIn": counts["in"], "relayOut": counts["out"], "relayDropped": counts["dropped"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[50, 100, 200, 300, 500])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--mode", choices=("native", "bridge"), default="native")
    parser.add_argument("--workers", type=int, default=max(1, min(4, (os.cpu_count() or 2) // 2)),
                        help="load generator processes (default: half the CPUs, 1 to 4)")
    parser.add_argument("--generator", choices=("c", "python"), default="c")
    parser.add_argument("--reader", choices=("shared", "socket"), default="shared",
                        help="RTP sockets read through the engine's one epoll set (shared, "
                             "the default) or each as a reactor reader of its own (socket)")
    parser.add_argument("--micro", action="store_true",
                        help="only the relay path's Python cost per packet (no sockets)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.micro:
        results = [micro() for _ in range(5)]
        best = min(r[0] for r in results)
        print(f"relay path, Python only: {best * 1e6:.2f} us per packet "
              f"(best of 5 x 200,000; {results[0][1]} sent each)")
        return
    if args.serve:
        serve(args.serve, args.mode, args.reader)
        return
    binary = buildPhones() if args.generator == "c" else None
    if args.generator == "c" and binary is None:
        print("no C compiler: using the Python phones")
    load = os.getloadavg()[0]
    print(f"mode {args.mode}, {args.reader} RTP reader, {args.seconds:g} s per run, "
          f"50 packets/s per direction per leg, "
          f"{args.workers} {'C' if binary else 'Python'} generator processes, "
          f"{os.cpu_count()} CPUs, load average {load:.2f} before the first run")
    print(f"{'calls':>6} {'sent':>8} {'lost %':>7} {'median ms':>10} {'p99 ms':>8} "
          f"{'PBX CPU':>8} {'CPU ms/s per call':>18} {'phones CPU':>11}  ok  "
          f"{'relay in':>9} {'relay out':>9} {'dropped':>7}")
    for calls in args.calls:
        r = run(calls, args.seconds, args.mode, args.workers, binary, args.reader)
        ok = r["loss"] <= 0.1 and r["median"] < 1.0
        print(f"{r['calls']:>6} {r['sent']:>8} {r['loss']:>7.3f} {r['median']:>10.3f} "
              f"{r['p99']:>8.3f} {100 * r['cpu']:>7.1f}% {1000 * r['cpuPerCall']:>18.3f} "
              f"{100 * r['phonesCpu']:>10.1f}%  {'yes' if ok else 'no':<3} "
              f"{r['relayIn']:>9} {r['relayOut']:>9} {r['relayDropped']:>7}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
