"""
Registrations per second with digest authentication, against a real
C{twistd pbx} process on 127.0.0.1.

SIPp plays many distinct phones (an injection file of users and passwords):
REGISTER, 401, REGISTER with credentials ([authentication]), 200. The PBX
runs with a generated sip.conf of --peers dynamic peers. Afterwards the
bindings are counted in the SQLite file (they must all be persisted), and
the resident memory of the PBX process is compared before and after, per
10,000 registered peers.

    python bench/bench_sip_register.py [--peers 10000] [--rate 5000] [--limit 200]

Prints SIPp's cumulative rate, successes and failures, the failure share,
the persisted binding count and memory figures. Load stays on loopback and
is bounded by --peers registrations.
"""

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from tests.pbxprocess import PBXProcess, cleanup, makeConfigDir  # noqa: E402

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="REGISTER with digest, one user per call">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@[remote_ip]>;tag=[pid]t[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@[remote_ip]>;tag=[pid]t[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      [authentication username="[field0]" password="[field1]"]
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


def rssKiB(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpuSeconds(pid):
    """User plus system CPU time of C{pid} so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pbxPid(process):
    """The twistd process (PBXProcess runs it directly as its child)."""
    return process.process.pid


class TunedPBXProcess(PBXProcess):
    """
    The same daemon with the collector's first generation made larger
    (gc.set_threshold(50000, 20, 100)): the allocation-heavy SIP path then
    spends far less time in collections.
    """

    def start(self):
        import subprocess as sp

        code = "import gc; gc.set_threshold(50000, 20, 100); from twisted.scripts.twistd import run; run()"
        cmd = [self.python, "-c", code, "-n", "--pidfile=", "pbx", "-c", self.configDir]
        self.process = sp.Popen(cmd, cwd=self.cwd, env=self.env, stdin=sp.DEVNULL,
                                stdout=sp.PIPE, stderr=sp.STDOUT, text=True)
        import threading

        threading.Thread(target=self._read, daemon=True).start()
        return self


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", type=int, default=10000)
    parser.add_argument("--rate", type=int, default=5000, help="SIPp call rate ceiling per second")
    parser.add_argument("--limit", type=int, default=200, help="SIPp concurrent registrations")
    args = parser.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        sys.exit("sipp is not installed (Debian package sip-tester)")

    measureBindings(args.peers)
    for tuned in (False, True):
        runOnce(args, sipp, tuned)


def measureBindings(count):
    """
    tracemalloc's count of what C{count} registered peers cost the location
    service (bindings, their addresses, the expiry heap), in process.
    """
    import tracemalloc

    from channels.sip.address import Address
    from channels.sip.registrar import Binding, LocationService

    location = LocationService(None)
    now = 1_800_000_000.0
    tracemalloc.start()
    first = tracemalloc.take_snapshot()
    for i in range(count):
        user = f"u{i:06d}"
        source = Address("UDP", "127.0.0.1", 20000 + i % 40000)
        location.replace(user, (Binding(user, f"sip:{user}@127.0.0.1:{20000 + i % 40000}", now + 3600, source,
                                        "Phone/1.0", (), f"{i:x}-callid@127.0.0.1", 2, None, now),))
    second = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(stat.size_diff for stat in second.compare_to(first, "filename"))
    print(f"== location service, in process ({count} registered peers)")
    print(f"memory per 10,000 registered peers   {used / count * 10000 / 2**20:.1f} MiB (tracemalloc)")


def runOnce(args, sipp, tuned):
    work = tempfile.mkdtemp(prefix="bench-sipreg-")
    users = [(f"u{i:06d}", f"pw{i:06d}") for i in range(args.peers)]
    peers = "".join(f"[{u}](phone)\nsecret = {p}\n" for u, p in users)
    sipConf = ("[general]\nudpbindaddr = 127.0.0.1:0\nrealm = bench\nauthalgorithms = md5,sha-256\n"
               "maxexpiry = 7200\n[phone](!)\ntype = friend\nhost = dynamic\ncontext = internal\n" + peers)
    etc = makeConfigDir({"sip.conf": sipConf, "pbx.conf": "[options]\nverbose = 0\n",
                         "modules.conf": "[modules]\nautoload = no\nload => chan_sip\n"})
    scenario = os.path.join(work, "register.xml")
    with open(scenario, "w") as f:
        f.write(SCENARIO)
    inf = os.path.join(work, "users.csv")
    with open(inf, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in users))

    pbx = (TunedPBXProcess if tuned else PBXProcess)(etc).start()
    try:
        pbx.waitBooted(timeout=120)
        port = int(pbx.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)").group(1))
        time.sleep(0.5)
        before = rssKiB(pbxPid(pbx))
        cpuBefore = cpuSeconds(pbxPid(pbx))
        started = time.monotonic()
        result = subprocess.run(
            [sipp, "-sf", scenario, "-inf", inf, "-i", "127.0.0.1", "-p", "0", "-m", str(args.peers),
             "-r", str(args.rate), "-l", str(args.limit), "-nostdin", "-timeout", "300s",
             "-trace_stat", "-stf", os.path.join(work, "stat.csv"), f"127.0.0.1:{port}"],
            capture_output=True, text=True, cwd=work)
        wall = time.monotonic() - started
        after = rssKiB(pbxPid(pbx))
        cpu = cpuSeconds(pbxPid(pbx)) - cpuBefore
        output = result.stdout + result.stderr
        if os.environ.get("BENCH_DEBUG"):
            print(output[-4000:])
            print(pbx.output[-4000:])
        ok = re.search(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", output)
        failed = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", output)
        rate = re.search(r"Call Rate\s+\|\s+[\d.]+ cps\s+\|\s+([\d.]+) cps", output)
        successes = int(ok.group(1)) if ok else 0
        failures = int(failed.group(1)) if failed else args.peers - successes
    finally:
        status = pbx.stop(timeout=60)
    dataDir = os.path.join(os.path.dirname(etc), "var", "lib")
    with sqlite3.connect(os.path.join(dataDir, "sip_registrations.sqlite3")) as db:
        try:
            persisted = db.execute("SELECT COUNT(*) FROM sip_bindings").fetchone()[0]
        except sqlite3.Error:
            persisted = 0
    cleanup(etc)
    shutil.rmtree(work, ignore_errors=True)

    print(f"== {'GC tuned (threshold 50000)' if tuned else 'default GC'}")
    print(f"registrations attempted      {args.peers}")
    print(f"successful                   {successes}")
    print(f"failed                       {failures} ({100.0 * failures / max(1, args.peers):.3f} %)")
    print(f"SIPp cumulative rate         {rate.group(1) if rate else '?'} registrations/s")
    print(f"wall-clock rate              {successes / wall:.0f} registrations/s ({wall:.1f} s)")
    print(f"PBX CPU time                 {cpu:.2f} s = {successes / max(cpu, 1e-9):.0f} registrations per CPU-second")
    print(f"bindings persisted           {persisted}")
    print(f"PBX RSS before / after       {before / 1024:.1f} MiB / {after / 1024:.1f} MiB")
    print(f"RSS growth per 10,000        {(after - before) / 1024 * 10000 / max(1, successes):.1f} MiB "
          "(bindings plus the transactions still held for Timer J)")
    print(f"PBX exit status              {status}")


if __name__ == "__main__":
    main()
