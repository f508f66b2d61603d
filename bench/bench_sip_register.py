"""
Registrations per second with digest authentication, against a real
C{twistd pbx} process on 127.0.0.1.

SIPp plays many distinct phones (an injection file of users and passwords):
REGISTER, 401, REGISTER with credentials ([authentication]), 200. The PBX
runs with a generated sip.conf of --peers dynamic peers (plus --warmup
others). Each run starts a fresh daemon, warms it up with --warmup
registrations of the extra peers (first-use costs: imports, caches, the
SQLite writer thread), then measures --peers registrations, one per peer.
Afterwards the bindings are counted in the SQLite file (they must all be
persisted), and the resident memory of the PBX process is compared before
and after, per 10,000 registered peers.

    python bench/bench_sip_register.py [--peers 10000] [--runs 3] [--rate 5000]
        [--limit 200] [--warmup 1000] [--gcthreshold N] [--profile FILE]

Figures per run and the median over runs:

  - SIPp's cumulative rate and the wall-clock rate. The machine may be
    shared and SIPp runs beside the daemon, so these depend on the load.
  - The PBX's CPU time: the whole process, and its main (reactor) thread
    alone. Registrations per reactor CPU-second is what one core would give
    if the daemon had it to itself; the rest is the SQLite writer thread.
  - How much of the run the reactor spent on a CPU and how much it was
    ready but waiting for one (the neighbours' share of the machine), and
    SIPp's own CPU time.
  - Failures (their share must stay under 0.1 %) and bindings persisted.
  - Memory: the location service's cost per 10,000 peers measured in
    process with tracemalloc (bindings made from parsed REGISTERs), and the
    daemon's RSS growth, which also holds what is only transient (final
    responses kept for Timer J, nonce-counts until the nonces go stale).

--profile FILE runs the first daemon under cProfile (twistd --profile) and
writes the statistics to FILE (pstats format) when it stops. With
BENCH_THREADS=1 the CPU time of each of the daemon's threads is printed;
with BENCH_DEBUG=1 the tail of SIPp's and the daemon's output.

Load stays on loopback and is bounded by --peers and --warmup registrations.
"""

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from tests import scenarios  # noqa: E402
from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir  # noqa: E402

SCENARIO = scenarios.register(
    user="[field0]", headers=["Contact: <sip:[field0]@[local_ip]:[local_port]>", "Expires: 3600"],
    authentication='[authentication username="[field0]" password="[field1]"]')


def rssKiB(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpuSeconds(path):
    """User plus system CPU time from a /proc stat file (a process or one of its threads)."""
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runQueueSeconds(pid):
    """
    How long the reactor thread was ready to run but waited for a CPU
    (/proc schedstat): high when the machine is shared, and then the
    wall-clock rate says more about the neighbours than about the PBX.
    """
    try:
        with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def processCPU(pid):
    return cpuSeconds(f"/proc/{pid}/stat")


def reactorCPU(pid):
    """The main thread's CPU time: the reactor (the thread id of the main thread is the pid)."""
    return cpuSeconds(f"/proc/{pid}/task/{pid}/stat")


class BenchPBXProcess(PBXProcess):
    """The daemon, optionally under twistd's cProfile support."""

    def __init__(self, configDir, profile=None):
        super().__init__(configDir)
        self.profile = profile

    def start(self):
        if self.profile is None:
            return super().start()
        import threading

        cmd = [self.python, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=",
               f"--profile={self.profile}", "--profiler=cprofile", "--savestats", "pbx", "-c", self.configDir]
        self.process = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", type=int, default=10000, help="measured registrations (one per peer)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=5000, help="SIPp call rate ceiling per second")
    parser.add_argument("--limit", type=int, default=200, help="SIPp concurrent registrations")
    parser.add_argument("--warmup", type=int, default=1000, help="registrations of other peers first")
    parser.add_argument("--gcthreshold", type=int, default=None,
                        help="pbx.conf gcthreshold (default: the daemon's own default)")
    parser.add_argument("--profile", default=None, help="cProfile the daemon into this pstats file")
    args = parser.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        sys.exit("sipp is not installed (Debian package sip-tester)")

    measureBindings(args.peers)
    results = []
    for run in range(args.runs):
        profile = args.profile if run == 0 else None
        results.append(runOnce(args, sipp, run + 1, profile))
    if len(results) > 1:
        print(f"== median of {len(results)} runs")
        for key, label, unit in (("wallRate", "wall-clock rate", "registrations/s"),
                                 ("cpuRate", "per PBX CPU-second", "registrations"),
                                 ("reactorRate", "per reactor CPU-second", "registrations"),
                                 ("failures", "failures", "")):
            print(f"{label:<28} {statistics.median(r[key] for r in results):.0f} {unit}")


def measureBindings(count):
    """
    tracemalloc's count of what C{count} registered peers cost the location
    service (bindings, their addresses, the expiry heap), in process. The
    bindings come from parsed REGISTERs through the registrar's decision,
    so they hold what the daemon's do (strings cut from each message).
    """
    import gc
    import tracemalloc

    from channels.sip.net.address import Address
    from channels.sip.wire.parser import parseMessage
    from channels.sip.driver.peers import RegistrarSettings
    from channels.sip.driver.registrar import LocationService, processRegister

    settings = RegistrarSettings(maxexpiry=7200)
    location = LocationService(None)
    now = 1_800_000_000.0
    messages = []
    for i in range(count):
        user, port = f"u{i:06d}", 20000 + i % 40000
        messages.append(("\r\n".join([
            "REGISTER sip:127.0.0.1:5060 SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{i}-2;rport",
            f"From: <sip:{user}@127.0.0.1>;tag={i}t2",
            f"To: <sip:{user}@127.0.0.1>",
            f"Call-ID: {i}-{port}@127.0.0.1",
            "CSeq: 2 REGISTER",
            f"Contact: <sip:{user}@127.0.0.1:{port}>",
            "User-Agent: Phone/1.0",
            "Expires: 3600",
            "Content-Length: 0", "", ""]).encode(), user, port))
    gc.collect()
    tracemalloc.start()
    first = tracemalloc.take_snapshot()
    for data, user, port in messages:
        request = parseMessage(data)
        source = Address("UDP", request.topVia.host, port)
        outcome = processRegister(request, user, (), settings, now, source)
        location.replace(user, outcome.bindings)
        del request, outcome
    gc.collect()
    second = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(stat.size_diff for stat in second.compare_to(first, "filename"))
    print(f"== location service, in process ({count} registered peers, {len(location)} bindings)")
    print(f"memory per 10,000 registered peers   {used / count * 10000 / 2**20:.1f} MiB (tracemalloc)")


def runSIPp(sipp, work, scenario, users, name, port, args):
    """
    One SIPp run over C{users}; returns (successes, failures, SIPp's rate,
    wall seconds, SIPp's CPU seconds).
    """
    inf = os.path.join(work, f"{name}.csv")
    with open(inf, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in users))
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(
        [sipp, "-sf", scenario, "-inf", inf, "-i", "127.0.0.1", "-p", "0", "-m", str(len(users)),
         "-r", str(args.rate), "-l", str(args.limit), "-nostdin", "-timeout", "300s",
         "-trace_stat", "-stf", os.path.join(work, f"{name}-stat.csv"), f"127.0.0.1:{port}"],
        capture_output=True, text=True, cwd=work)
    wall = time.monotonic() - started
    childrenAfter = resource.getrusage(resource.RUSAGE_CHILDREN)
    sippCPU = (childrenAfter.ru_utime + childrenAfter.ru_stime) - (children.ru_utime + children.ru_stime)
    output = result.stdout + result.stderr
    if os.environ.get("BENCH_DEBUG"):
        print(output[-4000:])
    ok = re.search(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", output)
    failed = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", output)
    rate = re.search(r"Call Rate\s+\|\s+[\d.]+ cps\s+\|\s+([\d.]+) cps", output)
    successes = int(ok.group(1)) if ok else 0
    failures = int(failed.group(1)) if failed else len(users) - successes
    return successes, failures, rate.group(1) if rate else "?", wall, sippCPU


def runOnce(args, sipp, run, profile):
    work = tempfile.mkdtemp(prefix="bench-sipreg-")
    users = [(f"u{i:06d}", f"pw{i:06d}") for i in range(args.peers)]
    warm = [(f"w{i:06d}", f"wpw{i:06d}") for i in range(args.warmup)]
    peers = "".join(f"[{u}](phone)\nsecret = {p}\n" for u, p in warm + users)
    sipConf = ("[general]\nudpbindaddr = 127.0.0.1:0\nrealm = bench\nauthalgorithms = md5,sha-256\n"
               "maxexpiry = 7200\n[phone](!)\ntype = friend\nhost = dynamic\ncontext = internal\n" + peers)
    pbxConf = "[options]\nverbose = 0\n"
    if args.gcthreshold is not None:
        pbxConf += f"gcthreshold = {args.gcthreshold}\n"
    etc = makeConfigDir({"sip.conf": sipConf, "pbx.conf": pbxConf,
                         "modules.conf": "[modules]\nautoload = no\nload => chan_sip\n"})
    scenario = os.path.join(work, "register.xml")
    with open(scenario, "w") as f:
        f.write(SCENARIO)

    pbx = BenchPBXProcess(etc, profile).start()
    try:
        pbx.waitBooted(timeout=120)
        port = int(pbx.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)").group(1))
        pid = pbx.process.pid
        warmFailures = 0
        if warm:
            _, warmFailures, _, _, _ = runSIPp(sipp, work, scenario, warm, "warmup", port, args)
        time.sleep(0.5)
        before = rssKiB(pid)
        cpuBefore, reactorBefore, waitBefore = processCPU(pid), reactorCPU(pid), runQueueSeconds(pid)
        successes, failures, rate, wall, sippCPU = runSIPp(sipp, work, scenario, users, "measured", port, args)
        after = rssKiB(pid)
        if os.environ.get("BENCH_THREADS"):
            for tid in sorted(os.listdir(f"/proc/{pid}/task")):
                print(f"thread {tid}: {cpuSeconds(f'/proc/{pid}/task/{tid}/stat'):.2f} s")
        cpu = processCPU(pid) - cpuBefore
        reactor = reactorCPU(pid) - reactorBefore
        waited = runQueueSeconds(pid) - waitBefore
        if os.environ.get("BENCH_DEBUG"):
            print(pbx.output[-4000:])
    finally:
        status = pbx.stop(timeout=120)
    dataDir = os.path.join(os.path.dirname(etc), "var", "lib")
    with sqlite3.connect(os.path.join(dataDir, "sip_registrations.sqlite3")) as db:
        try:
            persisted = db.execute("SELECT COUNT(*) FROM sip_bindings WHERE peer LIKE 'u%'").fetchone()[0]
        except sqlite3.Error:
            persisted = 0
    cleanup(etc)
    shutil.rmtree(work, ignore_errors=True)

    print(f"== run {run}{' (under cProfile: ' + profile + ')' if profile else ''}")
    print(f"warm-up                      {len(warm)} registrations, {warmFailures} failed")
    print(f"registrations attempted      {args.peers}")
    print(f"successful                   {successes}")
    print(f"failed                       {failures} ({100.0 * failures / max(1, args.peers):.3f} %)")
    print(f"SIPp cumulative rate         {rate} registrations/s")
    print(f"wall-clock rate              {successes / wall:.0f} registrations/s ({wall:.1f} s)")
    print(f"PBX CPU time                 {cpu:.2f} s = {successes / max(cpu, 1e-9):.0f} registrations per CPU-second")
    print(f"reactor thread CPU time      {reactor:.2f} s = {successes / max(reactor, 1e-9):.0f} "
          "registrations per CPU-second")
    print(f"reactor busy / waiting       {100 * reactor / wall:.0f} % of the run on a CPU, "
          f"{100 * waited / wall:.0f} % ready but waiting for one")
    print(f"SIPp CPU time                {sippCPU:.2f} s ({100 * sippCPU / wall:.0f} % of a core)")
    print(f"bindings persisted           {persisted}")
    print(f"PBX RSS before / after       {before / 1024:.1f} MiB / {after / 1024:.1f} MiB")
    print(f"RSS growth per 10,000        {(after - before) / 1024 * 10000 / max(1, successes):.1f} MiB "
          "(bindings plus the transactions still held for Timer J)")
    print(f"PBX exit status              {status}")
    return {"wallRate": successes / wall, "cpuRate": successes / max(cpu, 1e-9),
            "reactorRate": successes / max(reactor, 1e-9), "failures": failures}


if __name__ == "__main__":
    main()
