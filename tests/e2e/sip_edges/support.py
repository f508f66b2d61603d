"""
The shipped etc/ copied unchanged into a fresh folder, with only its ports
rewritten (SIP UDP and TCP on 127.0.0.1:0, the manager and HTTP on port 0, so that
tests run side by side), started as a real PBXService on the global reactor;
SIPp scenarios played against it.
"""

import os
import re
import shutil
import tempfile

from twisted.internet import defer

from tests import inprocess
from tests import sipp as sippRun

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SHIPPED_ETC = os.path.join(ROOT, "etc")
SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")

# (file, key, new value): the only lines rewritten in the copy.
PORT_REWRITES = (
    ("sip.conf", "udpbindaddr", "127.0.0.1:0"),
    ("sip.conf", "tcpbindaddr", "127.0.0.1:0"),
    ("manager.conf", "port", "0"),
    ("http.conf", "bindport", "0"),
)


def copyShippedEtc(testCase, rewrites=PORT_REWRITES):
    """
    A copy of the shipped etc/ in a fresh folder (removed when C{testCase}
    ends) with only the C{rewrites} applied; the folder of the copy. The
    sample's relative folders (../var/...) land next to the copy.
    """
    base = tempfile.mkdtemp(prefix="txpbx-shipped-")
    testCase.addCleanup(shutil.rmtree, base, True)
    etc = os.path.join(base, "etc")
    shutil.copytree(SHIPPED_ETC, etc)
    for name, key, value in rewrites:
        path = os.path.join(etc, name)
        with open(path) as f:
            text = f.read()
        pattern = re.compile(rf"^(\s*{re.escape(key)}\s*=>?\s*)[^;\s]+", re.M)
        text, count = pattern.subn(lambda m: m.group(1) + value, text, count=1)
        assert count == 1, f"{name} has no {key} line to rewrite"
        with open(path, "w") as f:
            f.write(text)
    return etc


@defer.inlineCallbacks
def startShippedPBX(testCase):
    """A PBXService on the shipped etc/ (ports rewritten); (pbx, SIP UDP port)."""
    etc = copyShippedEtc(testCase)
    pbx = yield inprocess.startPBX(testCase, etc)
    return pbx, inprocess.sipPort(pbx)


def sipp(scenario, port, service=None, extra=(), timeout=20, calls=1):
    """
    Play C{scenario} (a name in this folder's scenarios, or a path) against
    127.0.0.1:C{port}; a Deferred firing with (exit code, output).
    """
    return sippRun.runDeferred(sippRun.sippArgs(
        os.path.join(SCENARIOS, scenario), port, service=service, calls=calls,
        timeout=timeout, extra=extra))
