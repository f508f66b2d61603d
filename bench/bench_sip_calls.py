"""
Calls per second through a B2BUA on 127.0.0.1: SIPp UAC -> B2BUA -> SIPp UAS,
INVITE to BYE (200 ms of call), at increasing offered rates.

    python bench/bench_sip_calls.py [--rates 100,200,400,700,1000] [--seconds 5]
                                    [--no-sippy] [--verbose N] [--profile FILE]

Two B2BUAs run the same steps in the same run:

  txpbx    C{twistd -n pbx} (chan_sip, res_sdp_rtp, app_dial) with the
           dialplan C{exten => _X.,1,Dial(SIP/uas)}: two SIP sessions, two
           channels, two RTP sessions and a bridge per call;
  sippy    sippy's C{b2bua_simple} (PyPI C{sippy}), installed in a throwaway
           virtual environment under the temporary directory, never as a
           dependency of txpbx.

For each rate the script prints SIPp's successful and failed calls, the
achieved rate and the B2BUA's CPU milliseconds per call; at the end the
highest rate each sustained (under 0.1 % failed calls, and completed at 85 %
or more of the offered pace) and txpbx's ratio to sippy. --verbose sets
pbx.conf's verbose (0 by default; the sample etc/ has 3); --profile FILE runs
txpbx under cProfile (twistd --profile) and writes pstats to FILE when it
stops (CPU per call then includes the profiler's overhead). Loopback only, bounded call counts, every process ended by its PID.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from tests import scenarios  # noqa: E402
from tests.inprocess import modulesConf  # noqa: E402
from tests.sipp import freePort  # noqa: E402

SIPPY_VERSION = "2.5.0"

#: A rate counts as sustained only when the calls also completed at (nearly)
#: the offered pace: SIPp start-up and the last calls' 200 ms take a few
#: tenths of a second of each run's wall time.
KEPT_UP = 0.85

SIP_CONF = """[general]
context = bench
allowguest = yes
udpbindaddr = 127.0.0.1:{port}
useragent = txpbx-bench

[uas]
type = peer
host = 127.0.0.1
port = {uasPort}
context = bench
insecure = invite
disallow = all
allow = ulaw,alaw
"""

EXTENSIONS = """[general]
static = yes

[bench]
exten => _X.,1,Dial(SIP/uas)
 same => n,Hangup()
"""

# SIPp's built-in uac, except that provisional responses are accepted at
# any point (a B2BUA may relay a 180 after the 200: sippy does) and the call
# lasts 200 ms (sippy loses BYEs sent right after the ACK).
UAC_SCENARIO = scenarios.caller(user="sipp", end="bye", optional="global", pause=200)

MODULES = modulesConf("pbx_config", "chan_sip", "res_sdp_rtp", "app_dial")


def cpuSeconds(pid):
    """User + system CPU of C{pid} from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def waitForUDP(port, timeout=20.0):
    """Wait until something answers OPTIONS on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    s.bind(("127.0.0.1", 0))
    local = s.getsockname()[1]
    n = 0
    while time.monotonic() < deadline:
        n += 1
        msg = (f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKprobe{n}\r\n"
               f"From: <sip:probe@127.0.0.1:{local}>;tag=p{n}\r\nTo: <sip:probe@127.0.0.1>\r\n"
               f"Call-ID: probe{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), ("127.0.0.1", port))
        try:
            s.recvfrom(65535)
            s.close()
            return
        except OSError:
            time.sleep(0.2)
    s.close()
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}")


def startTxpbx(base, port, uasPort, verbose=0, profile=None):
    etc = os.path.join(base, "txpbx", "etc")
    os.makedirs(etc)
    for name, text in (("sip.conf", SIP_CONF.format(port=port, uasPort=uasPort)),
                       ("extensions.conf", EXTENSIONS), ("modules.conf", MODULES),
                       ("pbx.conf", f"[options]\nverbose = {verbose}\n" + os.environ.get("PBXCONF_EXTRA", ""))):
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = open(os.path.join(base, "txpbx.log"), "w")
    profiling = [f"--profile={profile}", "--profiler=cprofile", "--savestats"] if profile else []
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
         "--pidfile=", *profiling, "pbx", "-c", etc], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc


def sippyPython(base):
    """A virtual environment with sippy, in the temporary directory."""
    venv = os.path.join(base, "sippy-venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    subprocess.run([python, "-m", "pip", "install", "-q", f"sippy=={SIPPY_VERSION}"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return python


def startSippy(python, base, port, uasPort):
    log = open(os.path.join(base, "sippy.log"), "w")
    return subprocess.Popen(
        [python, "-m", "sippy.b2bua_simple", "-f", "-l", "127.0.0.1", "-p", str(port),
         "-n", f"127.0.0.1:{uasPort}", "-L", os.path.join(base, "sippy-b2bua.log")],
        stdout=log, stderr=subprocess.STDOUT, cwd=base)


def startUAS(port):
    return subprocess.Popen(
        ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-nostdin",
         "-mp", str(freePort()), "-max_recv_loops", "10000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


_COUNTER = re.compile(r"^\s*(Successful call|Failed call)\s*\|\s*\d+\s*\|\s*(\d+)", re.M)


def runUAC(scenario, target, rate, calls, limit):
    """One SIPp UAC run; returns (successful, failed, wall seconds)."""
    started = time.monotonic()
    proc = subprocess.run(
        ["sipp", "-sf", scenario, "-s", "1000", "-i", "127.0.0.1", "-p", "0", "-r", str(rate),
         "-m", str(calls), "-l", str(limit), "-d", "0", "-nostdin", "-timeout", "60s",
         "-recv_timeout", "10000", "-mp", str(freePort()), "-max_recv_loops", "10000",
         "-max_sched_loops", "10000", f"127.0.0.1:{target}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - started
    counts = dict((name, int(value)) for name, value in _COUNTER.findall(proc.stdout))
    ok = counts.get("Successful call", 0)
    failed = counts.get("Failed call", 0)
    failed += max(0, calls - ok - failed)  # calls never completed count as failures
    return ok, failed, wall


def measure(name, pid, port, rates, seconds, scenario):
    print(f"\n{name}: SIPp uac -> 127.0.0.1:{port} -> SIPp uas")
    print(f"  {'offered/s':>9} {'calls':>6} {'ok':>6} {'failed':>6} {'achieved/s':>10} {'CPU ms/call':>11}")
    best = 0
    for rate in rates:
        calls = int(rate * seconds)
        before = cpuSeconds(pid)
        ok, failed, wall = runUAC(scenario, port, rate, calls, limit=max(200, rate * 2))
        cpu = cpuSeconds(pid) - before
        achieved = ok / wall if wall else 0.0
        perCall = 1000.0 * cpu / ok if ok else float("nan")
        kept = achieved >= KEPT_UP * rate
        print(f"  {rate:>9} {calls:>6} {ok:>6} {failed:>6} {achieved:>10.0f} {perCall:>11.2f}"
              f"{'' if kept else '  (fell behind)'}")
        if failed <= calls * 0.001 and kept:
            best = rate
        else:
            break
    print(f"  highest rate with < 0.1 % failed calls, kept up with: {best}/s")
    return best


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="100,200,400,700,1000,1400")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-sippy", action="store_true")
    parser.add_argument("--verbose", type=int, default=0, help="pbx.conf verbose of txpbx")
    parser.add_argument("--profile", default=None, help="cProfile txpbx into this pstats file")
    options = parser.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("sipp is not installed (Debian package sip-tester)")
    rates = [int(r) for r in options.rates.split(",")]
    base = tempfile.mkdtemp(prefix="txpbx-bench-calls-")
    procs = []
    scenario = os.path.join(base, "uac.xml")
    with open(scenario, "w") as f:
        f.write(UAC_SCENARIO)
    try:
        uasPort = freePort()
        uas = startUAS(uasPort)
        procs.append(uas)
        port = freePort()
        pbx = startTxpbx(base, port, uasPort, options.verbose,
                         os.path.abspath(options.profile) if options.profile else None)
        procs.append(pbx)
        waitForUDP(port)
        results = {"txpbx": measure("txpbx", pbx.pid, port, rates, options.seconds, scenario)}
        stop(pbx)
        if not options.no_sippy:
            python = sippyPython(base)
            sport = freePort()
            sippy = startSippy(python, base, sport, uasPort)
            procs.append(sippy)
            time.sleep(1.0)
            results["sippy"] = measure("sippy b2bua_simple", sippy.pid, sport, rates, options.seconds, scenario)
            stop(sippy)
        print()
        for name, best in results.items():
            print(f"{name:>8}: {best} calls/s")
        if results.get("sippy"):
            print(f"   ratio: txpbx / sippy = {results['txpbx'] / results['sippy']:.2f}")
        elif "sippy" in results:
            print(f"   ratio: not defined, sippy sustained none of the offered rates "
                  f"(lowest {rates[0]}/s)")
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
