"""
A real PBXService on the global reactor in this test process, from
configuration files written into a fresh temporary directory.
"""

import os
import shutil
import tempfile

from twisted.internet import defer


def modulesConf(*names, autoload=False):
    """A modules.conf loading exactly C{names} (in that order), autoload off."""
    return "[modules]\nautoload = {}\n{}".format(
        "yes" if autoload else "no", "".join(f"load => {name}\n" for name in names))


def makeEtc(testCase, files=(), prefix="txpbx-e2e-"):
    """
    A temporary C{base} holding C{base}/etc with C{files} (name -> text),
    removed when C{testCase} ends; returns (base, etc).
    """
    base = tempfile.mkdtemp(prefix=prefix)
    testCase.addCleanup(shutil.rmtree, base, True)
    etc = os.path.join(base, "etc")
    os.makedirs(etc)
    writeFiles(etc, dict(files))
    return base, etc


def writeFiles(folder, files):
    """Write C{files} (name -> text) into C{folder}."""
    for name, text in files.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)


@defer.inlineCallbacks
def startPBX(testCase, etc):
    """Start a PBXService on C{etc}, stopped when C{testCase} ends; fires once booted."""
    from pbxcore.service import PBXService

    pbx = PBXService(etc)
    pbx.startService()
    testCase.addCleanup(pbx.stopService)
    yield pbx.booted
    return pbx


def sipPort(pbx) -> int:
    """The UDP port chan_sip bound (the configurations bind 127.0.0.1:0)."""
    stack = pbx.loader.modules["chan_sip"].module.stack
    return stack.listening[0].getHost().port
