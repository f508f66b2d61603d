"""
Capacity by the project's one rule, beside the peers, in the same run.

    python bench/capacity.py [call] [register] [options] [--anchors DIR]
                             [--duration 8] [--rounds 1] [--out DIR] [--no-peer]

The method and its scripts live in the shared anchors folder (by default
C{../shared/anchors} next to the checkout; C{--anchors} or C{ANCHORS_DIR}
moves it; its C{setup} installs SIPp, Kamailio and sippy): SIPp load in rate
steps; a step passes when under 1 % of calls failed, SIPp's retransmissions
stayed under 1 % of calls, every call finished and calls were created at 95 %
or more of the asked rate; calls hold 1 s; the server's CPU is read from
/proc. For each kind asked, one round runs txpbx through C{anchor-sut} and
then the peer through its own script, and the ratio of the two sustained
rates is printed:

  call      C{twistd pbx} with C{exten => _X.,1,Dial(SIP/uas)} (two SIP
            sessions, two channels, two RTP port pairs and a bridge a call),
            beside sippy's C{b2bua_simple} (C{anchor-sippy-b2bua});
  register  REGISTER with digest for 10,000 distinct phones (users
            u00001..u10000, password C{pw-<user>}, bindings persisted in the
            embedded SQLite store), beside Kamailio's in-memory registrar
            with digest (C{anchor-kamailio-registrar auth});
  options   OPTIONS to the server, beside a bare Twisted responder
            (C{anchor-twisted-udp sip}).

The configuration each kind runs on is written by this script (the peers'
users and the next hop are the method's, not the sample's); the daemon logs
at the sample's default verbosity. Everything binds 127.0.0.1; load is
bounded by the anchors' step counts; processes are ended by PID.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: The port and next hop anchor-sut puts into the command.
SUT_SIP = "[general]\nudpbindaddr = {ip}:{port}\ntcpenable = no\nuseragent = txpbx\n"

CALL_SIP = SUT_SIP + """context = bench
allowguest = yes

[uas]
type = peer
host = {ip}
port = {uas_port}
context = bench
insecure = invite
disallow = all
allow = ulaw,alaw
"""

CALL_EXTENSIONS = """[general]
static = yes

[bench]
; the anchors' caller dials "service"; any number works too
exten => service,1,Dial(SIP/uas)
 same => n,Hangup()
exten => _X.,1,Dial(SIP/uas)
 same => n,Hangup()
"""

REGISTER_SIP = SUT_SIP + """realm = txpbx
maxexpiry = 7200

[phone](!)
type = friend
host = dynamic
context = internal
"""

OPTIONS_SIP = SUT_SIP + "allowguest = yes\ncontext = bench\n"

#: The sample's default verbosity; nothing is logged per call at it.
PBX_CONF = "[options]\nverbose = 3\ndebug = 0\n"


def modulesConf(*names):
    return "[modules]\nautoload = no\n" + "".join(f"load => {n}\n" for n in names)


KINDS = {
    # kind: (anchor-sut KIND, files, peer script and its arguments, peer's result folder)
    "call": ("call", {
        "sip.conf": CALL_SIP,
        "extensions.conf": CALL_EXTENSIONS,
        "modules.conf": modulesConf("pbx_config", "chan_sip", "res_sdp_rtp", "app_dial"),
        "rtp.conf": "[general]\nrtpstart = 20000\nrtpend = 40000\n",
    }, ["anchor-sippy-b2bua"], "sippy-b2bua"),
    "register": ("register-auth", {
        "sip.conf": REGISTER_SIP,
        "modules.conf": modulesConf("chan_sip"),
    }, ["anchor-kamailio-registrar", "auth"], "kamailio-register-auth"),
    "options": ("options", {
        "sip.conf": OPTIONS_SIP,
        # The anchors' OPTIONS ask for "ping": an extension, or the answer is 404 as Asterisk's.
        "extensions.conf": "[general]\nstatic = yes\n\n[bench]\nexten => ping,1,Hangup()\n",
        "modules.conf": modulesConf("pbx_config", "chan_sip"),
    }, ["anchor-twisted-udp", "sip"], "twisted-sip-options"),
}


def writeConfig(base, kind, users):
    """The configuration folder for C{kind}; {ip} and friends stay for anchor-sut to fill."""
    files = dict(KINDS[kind][1])
    files["pbx.conf"] = PBX_CONF
    if kind == "register":
        files["sip.conf"] += "".join(
            f"[u{i:05d}](phone)\nsecret = pw-u{i:05d}\n" for i in range(1, users + 1))
    etc = os.path.join(base, kind, "etc")
    os.makedirs(etc)
    for name, text in files.items():
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    return etc


def materialise(etc, ip, port, uasPort):
    """anchor-sut replaces {ip} only in the command: write the values into the files."""
    for name in os.listdir(etc):
        path = os.path.join(etc, name)
        with open(path) as f:
            text = f.read()
        text = text.replace("{ip}", ip).replace("{port}", str(port)).replace("{uas_port}", str(uasPort))
        with open(path, "w") as f:
            f.write(text)


def summary(folder):
    try:
        with open(os.path.join(folder, "summary.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run(cmd, env, log):
    print("$", " ".join(cmd), flush=True)
    with open(log, "a") as f:
        # SIPp writes its error logs into the working folder: keep them with the results.
        return subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT,
                              cwd=os.path.dirname(log)).returncode


def describe(s):
    if not s or not s.get("best"):
        return "no step passed", 0
    best = s["best"]
    cpu = (best.get("cpu_pct") or {}).get("server")
    return (f"{s['best_rate']}/s (server CPU {cpu} %, response {best.get('response_ms')} ms, "
            f"retrans {best.get('retransmissions')}, first fail {s.get('first_fail')})"), s["best_rate"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*", help="call, register, options (default: all three)")
    parser.add_argument("--anchors", default=os.environ.get("ANCHORS_DIR") or os.path.join(ROOT, "..", "shared", "anchors"))
    parser.add_argument("--duration", type=int, default=8, help="seconds per rate step (ANCHORS_DURATION)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", default=None)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--no-peer", action="store_true", help="measure txpbx only")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs twistd")
    args = parser.parse_args()

    args.kinds = args.kinds or list(KINDS)
    for kind in args.kinds:
        if kind not in KINDS:
            parser.error(f"unknown kind {kind!r}: choose from {', '.join(KINDS)}")
    anchors = os.path.abspath(args.anchors)
    if not os.path.exists(os.path.join(anchors, "anchor-sut")):
        sys.exit(f"no anchors at {anchors}: pass --anchors DIR (its ./setup installs the peers)")
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="txpbx-capacity-"))
    ip = "127.0.0.1"
    results = {k: {"txpbx": [], "peer": []} for k in args.kinds}
    for rnd in range(1, args.rounds + 1):
        for kind in args.kinds:
            sutKind, _, peerCmd, peerName = KINDS[kind]
            roundOut = os.path.join(out, f"round{rnd}")
            env = dict(os.environ, ANCHORS_OUT=roundOut, ANCHORS_DURATION=str(args.duration),
                       ANCHORS_REG_USERS=str(args.users),
                       PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
            port = int(env.get("PORT_SUT", 15068))
            uasPort = int(env.get("PORT_UAS", 15070))
            etc = writeConfig(os.path.join(out, f"config{rnd}"), kind, args.users)
            materialise(etc, ip, port, uasPort)
            name = f"txpbx-{kind}"
            log = os.path.join(out, "run.log")
            run([os.path.join(anchors, "anchor-sut"), name, sutKind, "--",
                 args.python, "-c", "from twisted.scripts.twistd import run; run()",
                 "-n", "--pidfile=", "pbx", "-c", etc], env, log)
            results[kind]["txpbx"].append(summary(os.path.join(roundOut, name)))
            if not args.no_peer:
                run([os.path.join(anchors, peerCmd[0])] + peerCmd[1:], env, log)
                results[kind]["peer"].append(summary(os.path.join(roundOut, peerName)))
            time.sleep(2)

    print(f"\nresults in {out} (steps of {args.duration} s, {args.rounds} round(s))")
    for kind in args.kinds:
        peerName = KINDS[kind][3]
        ratios = []
        for i, s in enumerate(results[kind]["txpbx"]):
            text, rate = describe(s)
            line = f"{kind:9} round {i + 1}: txpbx {text}"
            if results[kind]["peer"]:
                ptext, prate = describe(results[kind]["peer"][i])
                line += f"\n{'':9}          {peerName} {ptext}"
                if prate:
                    ratios.append(rate / prate)
                    line += f"\n{'':9}          ratio {rate / prate:.2f}"
            print(line)
        if ratios:
            print(f"{kind:9} median ratio over rounds: {statistics.median(ratios):.2f}")
    with open(os.path.join(out, "capacity.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
