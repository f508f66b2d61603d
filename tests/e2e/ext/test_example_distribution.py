"""
The example third-party distribution (examples/txpbx_example) as a user
meets it: built into a wheel, installed with txpbx into a fresh virtual
environment, loaded by a real C{twistd -n pbx}, exercised by SIPp and a
manager client, then managed at runtime through C{pbx -rx} and the manager:
unload refused under a live call, forced unload with the call unaffected,
load again, and a reload with a broken file keeping the old configuration.
"""

import os

import pytest

from tests.e2e.ext.support import (
    AMI,
    EXAMPLE,
    MANAGER_CONF,
    PATIENCE,
    SIP_CONF,
    Console,
    makeVenv,
    sipp,
    waitUntil,
)
from tests.pbxprocess import ROOT, PBXProcess, cleanup, makeConfigDir

MODULES = """\
[modules]
autoload = yes
noload => chan_local
"""

EXTENSIONS = """\
[calls]
exten => 100,1,Answer()
 same => n,ExampleNode()
 same => n,Echo()
"""


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    top = str(tmp_path_factory.mktemp("ext"))
    python = makeVenv(top, ROOT, EXAMPLE)
    return {"python": python, "bin": os.path.dirname(python), "top": top}


@pytest.fixture(scope="module")
def pbx(environment):
    etc = makeConfigDir({
        "modules.conf": MODULES,
        "manager.conf": MANAGER_CONF,
        "sip.conf": SIP_CONF,
        "extensions.conf": EXTENSIONS,
        "example.conf": "[general]\nnode = node-e2e\nrejectheader = X-Block\nrejectvalue = yes\n",
    })
    process = PBXProcess(etc, python=environment["python"], cwd=environment["top"]).start()
    try:
        process.waitBooted(60)
        process.sipPort = int(process.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)").group(1))
        process.amiPort = int(process.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)").group(1))
        process.console = Console(os.path.join(environment["bin"], "pbx"), etc, environment["top"])
        yield process
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


def moduleRow(console, name):
    """The 'module show like' row of C{name} as words, or None."""
    for line in console(f"module show like {name}").splitlines():
        if line.split()[:1] == [name]:
            return line.split()
    return None


def test_loadedFromTheVirtualEnvironment(pbx):
    assert "res_example loaded: node node-e2e" in pbx.output
    assert "loaded module res_example" in pbx.output
    row = moduleRow(pbx.console, "res_example")
    assert row is not None and "Running" in row
    assert "ExampleNode" in pbx.console("core show applications like Example")
    ami = AMI(pbx.amiPort)
    try:
        status = ami.action("ExampleStatus")
        assert status["Response"] == "Success" and status["Node"] == "node-e2e", status
        assert ami.action("ModuleCheck", Module="res_example")["Response"] == "Success"
    finally:
        ami.close()


def test_blockedInviteRefusedWith403(pbx):
    code, output = sipp("example_block.xml", pbx.sipPort, "100")
    assert code == 0, output
    pbx.waitFor(r"res_example: X-Block: yes in INVITE .*, 403")


def test_runtimeManagementUnderALiveCall(pbx):
    console = pbx.console
    caller = sipp("example_call.xml", pbx.sipPort, "100", background=True)
    ami = AMI(pbx.amiPort)
    try:
        waitUntil(lambda: ami.action("ExampleStatus").get("ActiveCalls") == "1",
                  "the call to hold res_example")
        channel = waitUntil(lambda: console("core show channels concise").split("!")[0].strip(),
                            "the SIP channel")
        assert channel.startswith("SIP/")
        waitUntil(lambda: ami.action("Getvar", Channel=channel, Variable="EXAMPLE_NODE")
                  .get("Value") == "node-e2e", "ExampleNode() to run")
        assert moduleRow(console, "res_example")[-3] == "1"  # Use Count

        # In use: refused by the console and by the manager.
        out = console("module unload res_example")
        assert "in use" in out and "refused" in out, out
        response = ami.action("ModuleLoad", LoadType="unload", Module="res_example")
        assert response["Response"] == "Error" and "in use" in response["Message"], response
        assert moduleRow(console, "res_example") is not None

        # Forced: every registration goes, the live call carries on.
        assert console("module unload -f res_example") == "Unloaded res_example\n"
        assert moduleRow(console, "res_example") is None
        assert "res_example unloaded" in pbx.output
        assert "No such command" not in console("core show applications like Example")
        assert "ExampleNode" not in console("core show applications like Example")
        assert "No such command" in console("example show status")
        assert ami.action("ExampleStatus")["Response"] == "Error"
        assert ami.action("ModuleCheck", Module="res_example")["Response"] == "Error"
        assert console("core show channels concise").startswith(channel + "!")

        # The call ends normally; its cookie is destroyed even after the unload.
        assert ami.action("Hangup", Channel=channel)["Response"] == "Success"
        output, _ = caller.communicate(timeout=PATIENCE + 10)
        assert caller.returncode == 0, output
        pbx.waitFor(r"res_example: cookie of call .* destroyed after \d+ requests")
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
        ami.close()


def test_loadAndReloadWithBrokenFile(pbx):
    console = pbx.console
    ami = AMI(pbx.amiPort)
    try:
        if moduleRow(console, "res_example") is None:
            response = ami.action("ModuleLoad", LoadType="load", Module="res_example")
            assert response["Response"] == "Success", response
        assert moduleRow(console, "res_example") is not None
        path = os.path.join(pbx.configDir, "example.conf")
        with open(path, "w") as f:
            f.write("[general]\nnode = node-new\nt38 = perhaps\n")
        out = console("module reload res_example")
        assert out == (f"Unable to reload res_example: {path}:3: "
                       f"t38 must be yes or no, not 'perhaps'\n"), out
        response = ami.action("ModuleLoad", LoadType="reload", Module="res_example")
        assert response["Response"] == "Error" and f"{path}:3:" in response["Message"], response
        assert ami.action("ExampleStatus")["Node"] == "node-e2e"
        # The old configuration still works: blocked INVITEs are still refused.
        code, output = sipp("example_block.xml", pbx.sipPort, "100")
        assert code == 0, output

        with open(path, "w") as f:
            f.write("[general]\nnode = node-new\n")
        assert console("module reload res_example") == "Module 'res_example' reloaded successfully.\n"
        assert ami.action("ExampleStatus")["Node"] == "node-new"
    finally:
        ami.close()
