"""SIPp runs and REGISTER scenario variants for the registrar tests."""

import os
import shutil
import subprocess
import tempfile
from xml.sax.saxutils import escape

SCENARIOS = os.path.join(os.path.dirname(__file__), "scenarios")

# Liveness bound only: a hung SIPp fails the test instead of blocking CI.
SIPP_TIMEOUT = "15s"

_VARIANT = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="REGISTER variant">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[service]@[remote_ip]>;tag=[pid]t[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
{headers}
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

  <recv response="401" auth="true"/>

  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[service]@[remote_ip]>;tag=[pid]t[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
{headers}
      [authentication]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

  <recv response="{status}">
    <action>
{checks}
    </action>
  </recv>
</scenario>
"""


def variant(status, headers=(), checks=()):
    """
    A REGISTER, 401, authenticated REGISTER scenario ending with C{status};
    C{checks} are (regexp, header or None for the whole message, inverse).
    """
    headerText = "\n".join(f"      {h}" for h in headers)
    lines = []
    for i, (regexp, header, inverse) in enumerate(checks):
        where = f'search_in="hdr" header="{header}"' if header else 'search_in="msg"'
        check = 'check_it_inverse="true"' if inverse else 'check_it="true"'
        regexp = escape(regexp, {'"': "&quot;"})
        lines.append(f'      <ereg regexp="{regexp}" {where} {check} assign_to="v{i}"/>')
        lines.append(f'      <log message="check {i}: [$v{i}]"/>')
    text = _VARIANT.format(headers=headerText, status=status, checks="\n".join(lines) or "      <log message=\"done\"/>")
    fd, path = tempfile.mkstemp(suffix=".xml", prefix="sipreg-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def freeUDPPort():
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sipp(scenario, port, user, password, authUser=None, calls=1, extra=(), localPort=None):
    """
    Run SIPp (UDP client on 127.0.0.1) and return (exit code, output).
    C{localPort} pins SIPp's own port, so successive runs register the same
    Contact (SIPp otherwise takes 5060 when it is free, any port when not).
    """
    if localPort is None:
        localPort = freeUDPPort()
    binary = shutil.which("sipp")
    assert binary is not None, "sipp is not installed (Debian package sip-tester); these tests need it"
    path = scenario if os.path.isabs(scenario) else os.path.join(SCENARIOS, scenario)
    args = [binary, "-sf", path, "-s", user, "-au", authUser or user, "-ap", password,
            "-i", "127.0.0.1", "-p", str(localPort), "-m", str(calls), "-nostdin",
            "-timeout", SIPP_TIMEOUT, "-timeout_error", *extra, f"127.0.0.1:{port}"]
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    finally:
        if os.path.basename(path).startswith("sipreg-"):
            os.unlink(path)  # a one-use variant
    return result.returncode, result.stdout[-2500:] + result.stderr[-2500:]
