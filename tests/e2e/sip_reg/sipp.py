"""SIPp runs and REGISTER scenario variants for the registrar tests."""

import os
import tempfile
from xml.sax.saxutils import escape

from tests import scenarios
from tests import sipp as sippRun
from tests.sipp import freePort as freeUDPPort

SCENARIOS = os.path.join(os.path.dirname(__file__), "scenarios")

# Liveness bound only: a hung SIPp fails the test instead of blocking CI.
SIPP_TIMEOUT = 15


def variant(status, headers=(), checks=()):
    """
    A REGISTER, 401, authenticated REGISTER scenario ending with C{status};
    C{checks} are (regexp, header or None for the whole message, inverse).
    """
    lines = []
    for i, (regexp, header, inverse) in enumerate(checks):
        where = f'search_in="hdr" header="{header}"' if header else 'search_in="msg"'
        check = 'check_it_inverse="true"' if inverse else 'check_it="true"'
        regexp = escape(regexp, {'"': "&quot;"})
        lines.append(f'      <ereg regexp="{regexp}" {where} {check} assign_to="v{i}"/>')
        lines.append(f'      <log message="check {i}: [$v{i}]"/>')
    action = "\n    <action>\n" + "\n".join(lines) + "\n    </action>\n  " if lines else ""
    text = scenarios.register(status, headers, action)
    fd, path = tempfile.mkstemp(suffix=".xml", prefix="sipreg-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def sipp(scenario, port, user, password, authUser=None, calls=1, extra=(), localPort=None):
    """
    Run SIPp (UDP client on 127.0.0.1) and return (exit code, output).
    C{localPort} pins SIPp's own port, so successive runs register the same
    Contact (SIPp otherwise takes 5060 when it is free, any port when not).
    """
    path = scenario if os.path.isabs(scenario) else os.path.join(SCENARIOS, scenario)
    args = sippRun.sippArgs(
        path, port, service=user, localPort=localPort or freeUDPPort(), calls=calls,
        timeout=SIPP_TIMEOUT, extra=["-au", authUser or user, "-ap", password, *extra])
    try:
        code, output = sippRun.run(args, timeout=60)
    finally:
        if os.path.basename(path).startswith("sipreg-"):
            os.unlink(path)  # a one-use variant
    return code, output[-5000:]


def uas(scenario, port, timeout=30):
    """A SIPp server playing C{scenario} once on 127.0.0.1:C{port} (a Popen)."""
    return sippRun.spawn(sippRun.sippArgs(
        os.path.join(SCENARIOS, scenario), localPort=port, timeout=timeout, extra=["-nd"]))
