"""
The shipped sample configuration (C{etc/}) as tests use it: copied unchanged
into a fresh folder, with only its listening ports rewritten to free ones (so
several test runs on one machine never wait for 5060/5038) and nothing else.
Authentication, codecs, peers and the dialplan stay exactly as shipped: a
test on this copy meets what a user who runs C{twistd -n pbx -c etc/} meets.
"""

import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_ETC = os.path.join(ROOT, "etc")


@dataclass
class SamplePorts:
    sip: int
    manager: int
    http: int | None = None


def freeUDPAndTCPPort() -> int:
    """A loopback port free for both UDP and TCP right now (SIP binds both)."""
    for _ in range(100):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
        finally:
            tcp.close()
            udp.close()
    raise AssertionError("no loopback port free for both UDP and TCP")


def freeTCPPort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rewrite(path, pattern, replacement, expected=1):
    """Replace C{pattern} (a multi-line regex) in the file; it must match C{expected} times."""
    with open(path) as f:
        text = f.read()
    text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count != expected:
        raise AssertionError(f"{os.path.basename(path)}: expected {expected} match(es) of "
                             f"{pattern!r} in the shipped file, found {count}")
    with open(path, "w") as f:
        f.write(text)


def rewritePorts(etc, ports: SamplePorts) -> None:
    """Point the listeners of a copy of the sample at C{ports} (nothing else changes)."""
    sip = os.path.join(etc, "sip.conf")
    _rewrite(sip, r"^(udpbindaddr\s*=\s*127\.0\.0\.1):5060\b", rf"\g<1>:{ports.sip}")
    _rewrite(sip, r"^(tcpbindaddr\s*=\s*127\.0\.0\.1):5060\b", rf"\g<1>:{ports.sip}")
    _rewrite(os.path.join(etc, "manager.conf"), r"^(port\s*=\s*)5038\b", rf"\g<1>{ports.manager}")
    http = os.path.join(etc, "http.conf")
    if os.path.exists(http):
        with open(http) as f:
            text = f.read()
        if re.search(r"^bindport\s*=", text, re.MULTILINE):
            ports.http = ports.http or freeTCPPort()
            _rewrite(http, r"^(bindport\s*=\s*)\d+", rf"\g<1>{ports.http}")
        if re.search(r"^tlsbindaddr\s*=", text, re.MULTILINE):
            _rewrite(http, r"^(tlsbindaddr\s*=\s*[^:\s;]+):\d+", rf"\g<1>:{freeTCPPort()}")


def copySample(base=None, ports: SamplePorts | None = None):
    """
    Copy C{etc/} into C{base}/etc (a new temporary folder when C{base} is
    None) with free ports; returns (etc, ports). The embedded store and the
    control socket go to C{base}/var, as the shipped relative paths say.
    """
    base = base or tempfile.mkdtemp(prefix="txpbx-sample-")
    etc = os.path.join(base, "etc")
    shutil.copytree(SAMPLE_ETC, etc, ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))
    ports = ports or SamplePorts(sip=freeUDPAndTCPPort(), manager=freeTCPPort())
    rewritePorts(etc, ports)
    return etc, ports


def sampleForTest(testCase, ports: SamplePorts | None = None):
    """L{copySample} removed when C{testCase} (a trial TestCase) ends."""
    base = tempfile.mkdtemp(prefix="txpbx-sample-")
    testCase.addCleanup(shutil.rmtree, base, True)
    return copySample(base, ports)
