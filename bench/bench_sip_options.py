"""
OPTIONS answered per second over UDP on 127.0.0.1: the PBX as it runs in
production (C{twistd -n pbx -c DIR}, the sample configuration with every
bundled module loaded, moved to free ports) against a bare Twisted
responder that only copies five headers. SIPp drives both with the same
bounded load.

    python bench/bench_sip_options.py [--calls 20000] [--rate 100000] [--limit 100] [--runs 1]

Prints, for each server, SIPp's cumulative call rate, successes and
failures, the server's CPU time per answered request (fairer than wall
time on a loaded machine), and the PBX's share of the bare rate (target:
>= 0.5). The PBX runs twice: with pbx.conf's default collector setting
(gcthreshold = 50000) and with gcthreshold = 0 (Python's own collector
settings), to show what that setting is worth.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from tests.sipp import freePort  # noqa: E402  (SIPp tries 5060 first when given no port)

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


def _setKey(text, key, value):
    """Set C{key = value} in the first section that has it (or [general]/[options])."""
    pattern = re.compile(rf"^;?\s*{re.escape(key)}\s*=.*$", re.M)
    if pattern.search(text):
        return pattern.sub(f"{key} = {value}", text, count=1)
    return re.sub(r"^\[(general|options)\]\s*$", lambda m: f"{m.group(0)}\n{key} = {value}",
                  text, count=1, flags=re.M)


def makePBXConfig(top, sipPort, gcthreshold):
    """The sample etc/ copied under C{top}, on free loopback ports."""
    etc = os.path.join(top, "etc")
    shutil.copytree(os.path.join(ROOT, "etc"), etc)

    def edit(name, **keys):
        path = os.path.join(etc, name)
        with open(path) as f:
            text = f.read()
        for key, value in keys.items():
            text = _setKey(text, key, value)
        with open(path, "w") as f:
            f.write(text)

    edit("sip.conf", udpbindaddr=f"127.0.0.1:{sipPort}", tcpenable="no")
    edit("manager.conf", port=str(freePort(socket.SOCK_STREAM)))
    if gcthreshold is not None:
        edit("pbx.conf", gcthreshold=str(gcthreshold))
    return etc


class Server:
    """A server subprocess, its port, its log and its CPU time."""

    def __init__(self, args, port=None, ready=None, logPath=None):
        self.args = args
        self.port = port
        self.ready = ready
        self.logPath = logPath

    def start(self):
        env = dict(os.environ, PYTHONPATH=ROOT)
        if self.ready is None:
            self.proc = subprocess.Popen(
                [sys.executable, *self.args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, cwd=ROOT, env=env)
            match = re.match(r"listening (\d+)", self.proc.stdout.readline())
            if not match:
                self.stop()
                raise SystemExit(f"server {self.args} did not start")
            self.port = int(match.group(1))
            return self
        self.log = open(self.logPath, "w")
        self.proc = subprocess.Popen(
            [sys.executable, *self.args], stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with open(self.logPath) as f:
                if self.ready in f.read():
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        with open(self.logPath) as f:
            raise SystemExit(f"server {self.args} did not boot:\n{f.read()[-3000:]}")

    def cpuSeconds(self):
        """User + system CPU time of the process so far (Linux /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.ready is not None:
            self.log.close()


def runSipp(scenario, port, calls, rate, limit):
    started = time.monotonic()
    result = subprocess.run(
        ["sipp", "-sf", scenario, "-t", "u1", "-i", "127.0.0.1", "-p", str(freePort()), "-m", str(calls),
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


def servers(tmp):
    """(name, Server) for the bare responder and the PBX, GC setting default and off."""
    yield "bare responder", Server([os.path.join(HERE, "bare_sip_responder.py")])
    for name, gcthreshold in (("pbx (default)", None), ("pbx gcthreshold=0", 0)):
        port = freePort()
        top = tempfile.mkdtemp(dir=tmp)
        etc = makePBXConfig(top, port, gcthreshold)
        yield name, Server(
            ["-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=", "pbx", "-c", etc],
            port=port, ready="PBX fully booted", logPath=os.path.join(top, "twistd.log"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=100000)
    parser.add_argument("--limit", type=int, default=100, help="OPTIONS outstanding at once")
    parser.add_argument("--runs", type=int, default=1, help="SIPp runs against each server")
    options = parser.parse_args()
    if shutil.which("sipp") is None:
        raise SystemExit("sipp is not installed (Debian package sip-tester)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        scenario = os.path.join(tmp, "options.xml")
        with open(scenario, "w") as f:
            f.write(SCENARIO)
        for name, server in servers(tmp):
            server.start()
            try:
                for _ in range(options.runs):
                    before = server.cpuSeconds()
                    r = runSipp(scenario, server.port, options.calls, options.rate, options.limit)
                    r["cpu"] = server.cpuSeconds() - before
                    results.setdefault(name, []).append(r)
            finally:
                server.stop()
    print(f"OPTIONS over UDP, {options.calls} requests, at most {options.limit} outstanding, "
          f"{options.runs} run(s) each")
    for name, runs in results.items():
        for r in runs:
            perCPU = r["ok"] / r["cpu"] if r["cpu"] else float("nan")
            print(f"  {name:18s} {r['rate']:9.0f} answered/s   ok {r['ok']:6d}   failed {r['failed']:4d}   "
                  f"wall {r['wall']:.2f}s   server CPU {r['cpu']:.2f}s ({perCPU:.0f}/CPU-s)   "
                  f"sipp exit {r['code']}")

    def best(name, key):
        values = [r[key] for r in results[name]]
        return max(values) if key == "rate" else values

    bare = best("bare responder", "rate")
    bareCPU = max(r["ok"] / r["cpu"] for r in results["bare responder"] if r["cpu"])
    for name in ("pbx (default)", "pbx gcthreshold=0"):
        ratio = best(name, "rate") / bare
        cpuRatio = max(r["ok"] / r["cpu"] for r in results[name] if r["cpu"]) / bareCPU
        print(f"  {name} / bare = {ratio:.2f} by answered/s, {cpuRatio:.2f} by answers per CPU-second "
              f"(best runs; target >= 0.50)")


if __name__ == "__main__":
    main()
