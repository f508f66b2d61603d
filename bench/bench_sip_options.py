"""
OPTIONS answered per second over UDP on 127.0.0.1: the full SIP stack
(transport, transactions, user agent) against a bare Twisted responder that
only copies five headers. SIPp drives both with the same bounded load.

    python bench/bench_sip_options.py [--calls 20000] [--rate 100000] [--limit 100]

Prints, for each server, SIPp's cumulative call rate, successes and
failures, and the full stack's share of the bare rate (target: >= 0.5).
A third run shows the stack with the garbage collector tuned (see
L{serveStack}).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="OPTIONS benchmark">
  <send retrans="500">
    <![CDATA[

      OPTIONS sip:pbx@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]t[call_number]
      To: <sip:pbx@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


def serveStack(tuneGC=False):
    """
    Child mode: run the full stack on 127.0.0.1, port 0; print the port.
    With C{tuneGC}, freeze the start-up heap and collect less often: a
    process-wide setting the PBX does not make today, measured to show
    what the collector costs with tens of thousands of live transactions.
    """
    sys.path.insert(0, ROOT)
    from twisted.internet import reactor

    from channels.sip.config import BindAddress, SIPGeneral
    from channels.sip.module import SIPStack

    stack = SIPStack(SIPGeneral(udpBind=BindAddress("127.0.0.1", 0)))
    stack.start()
    if tuneGC:
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(50000, 20, 100)
    print(f"listening {stack.listening[0].getHost().port}", flush=True)
    reactor.run()


def startServer(args):
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    line = proc.stdout.readline()
    match = re.match(r"listening (\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"server {args} did not start: {line!r}")
    return proc, int(match.group(1))


def freeUDPPort():
    # SIPp tries 5060 first when given no port; stay off it.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runSipp(scenario, port, calls, rate, limit):
    started = time.monotonic()
    result = subprocess.run(
        ["sipp", "-sf", scenario, "-t", "u1", "-i", "127.0.0.1", "-p", str(freeUDPPort()), "-m", str(calls),
         "-r", str(rate), "-l", str(limit), "-nostdin", "-timeout", "120s", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
    )
    wall = time.monotonic() - started

    def last(label):
        found = re.findall(rf"{label}\s*\|\s*([\d.]+)[^|]*\|\s*([\d.]+)", result.stdout)
        return float(found[-1][1]) if found else float("nan")

    return {
        "rate": last("Call Rate"),
        "ok": int(last("Successful call")),
        "failed": int(last("Failed call")),
        "wall": wall,
        "code": result.returncode,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=100000)
    parser.add_argument("--limit", type=int, default=100, help="OPTIONS outstanding at once")
    parser.add_argument("--serve-stack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tune-gc", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve_stack:
        return serveStack(options.tune_gc)
    if shutil.which("sipp") is None:
        raise SystemExit("sipp is not installed (Debian package sip-tester)")
    with tempfile.TemporaryDirectory() as tmp:
        scenario = os.path.join(tmp, "options.xml")
        with open(scenario, "w") as f:
            f.write(SCENARIO)
        results = {}
        for name, args in (("bare responder", [os.path.join(HERE, "bare_sip_responder.py")]),
                           ("full stack", [os.path.abspath(__file__), "--serve-stack"]),
                           ("stack, GC tuned", [os.path.abspath(__file__), "--serve-stack", "--tune-gc"])):
            proc, port = startServer(args)
            try:
                results[name] = runSipp(scenario, port, options.calls, options.rate, options.limit)
            finally:
                proc.terminate()
                proc.wait()
    print(f"OPTIONS over UDP, {options.calls} requests, at most {options.limit} outstanding")
    for name, r in results.items():
        print(f"  {name:15s} {r['rate']:9.0f} answered/s   ok {r['ok']:6d}   failed {r['failed']:4d}   "
              f"wall {r['wall']:.2f}s   sipp exit {r['code']}")
    for name in ("full stack", "stack, GC tuned"):
        ratio = results[name]["rate"] / results["bare responder"]["rate"]
        print(f"  {name} / bare = {ratio:.2f} (target >= 0.50)")


if __name__ == "__main__":
    main()
