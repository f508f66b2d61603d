"""
Packaging as a user meets it: the wheel builds, installs into a fresh virtual
environment, C{twistd pbx --help} works there, the bundled module descriptors
are discovered, and a separate third-party distribution installed next to it
is loaded by a real C{twistd -n pbx} process.
"""

import os

import pytest

from tests.pbxprocess import ROOT, PBXProcess, cleanup, makeConfigDir
from tests.wheels import makeVenv, run

HELLO = os.path.join(ROOT, "tests", "data", "thirdparty", "txpbx_hello")


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    """
    A fresh venv with the txpbx wheel and the third-party wheel installed, and
    their dependencies (Twisted with TLS, zope.interface) from the package index.
    """
    top = tmp_path_factory.mktemp("pkg")
    python = makeVenv(str(top), ROOT, HELLO)
    names = os.listdir(top / "wheels")
    assert any(n.startswith("txpbx-") for n in names), names
    assert any(n.startswith("txpbx_hello-") for n in names), names
    env = os.path.dirname(os.path.dirname(python))
    return {"python": python, "bin": os.path.join(env, "bin"), "top": str(top)}


def test_wheelHasTheDropInsAndNoPackageInit(environment):
    out = run([environment["python"], "-c",
               "import twisted.plugins.pbx_modules as m, os; print(m.__file__)"],
              cwd=environment["top"]).stdout.strip()
    assert "site-packages" in out and "/venv/" in out
    plugins = os.path.dirname(out)
    assert os.path.exists(os.path.join(plugins, "pbx.py"))
    assert not os.path.exists(os.path.join(os.path.dirname(plugins), "__init__.py")) or \
        "twisted" in open(os.path.join(os.path.dirname(plugins), "__init__.py")).read()


def test_twistdPbxHelpInVenv(environment):
    result = run([os.path.join(environment["bin"], "twistd"), "pbx", "--help"],
                 cwd=environment["top"])
    assert "--config=" in result.stdout


def test_bundledDescriptorsDiscovered(environment):
    result = run([environment["python"], "-c",
                  "from pbxcore.loader import discoverDescriptors as d; "
                  "print(' '.join(sorted(d())))"], cwd=environment["top"])
    names = result.stdout.split()
    for name in ("pbx_config", "chan_sip", "chan_local", "app_dial", "manager", "app_hello"):
        assert name in names, names


def test_thirdPartyModuleLoadedByTwistd(environment):
    etc = makeConfigDir({
        "modules.conf": "[modules]\nautoload = no\nload => app_hello.so\nload => pbx_config\n",
        "extensions.conf": "[default]\nexten => 100,1,Hello(world)\n",
    })
    pbx = PBXProcess(etc, python=environment["python"], cwd=environment["top"]).start()
    try:
        pbx.waitBooted(60)
        assert "txpbx_hello loaded: application Hello registered" in pbx.output
        assert "loaded module app_hello" in pbx.output
        assert pbx.stop() == 0
        assert "txpbx_hello unloaded" in pbx.output
    finally:
        pbx.kill()
        cleanup(etc)
