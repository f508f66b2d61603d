"""A real PBXService on the global reactor, from a copy of a test etc/."""

import os
import shutil
import tempfile

from twisted.internet import defer

from pbxcore.service import PBXService

HERE = os.path.dirname(os.path.abspath(__file__))
SELFTEST_ETC = os.path.join(HERE, "..", "..", "data", "selftest", "etc")


@defer.inlineCallbacks
def startPBX(testCase, source=SELFTEST_ETC):
    """
    Copy C{source} into a fresh directory, start a PBXService on it and
    stop it when the test ends. Returns the running service.
    """
    base = tempfile.mkdtemp(prefix="txpbx-e2e-core-")
    testCase.addCleanup(shutil.rmtree, base, True)
    etc = os.path.join(base, "etc")
    shutil.copytree(source, etc)
    pbx = PBXService(etc)
    pbx.startService()
    stopped = []

    def stop():
        if not stopped:
            stopped.append(True)
            return pbx.stopService()

    testCase.addCleanup(stop)
    pbx.stopNow = stop
    yield pbx.booted
    return pbx


def installTestTechnology(pbx):
    """The scriptable Test technology, registered on a real PBX."""
    from pbxcore import testing

    return testing.TestTechnology.install(pbx)


def originate(pbx, dest, **kw):
    """Originate Local/C{dest}; a Deferred of the OriginateResponse dict."""
    return defer.Deferred.fromCoroutine(pbx.engine.originate("Local", dest, **kw))
