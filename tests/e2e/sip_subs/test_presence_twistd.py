"""
Subscriptions as a user meets them: a real C{twistd -n pbx} with a test
configuration, SIPp subscribers, the manager over TCP and the remote
console. Presence follows PRESENCE_STATE() written through the manager, a
busy lamp follows DEVICE_STATE(Custom:x) written through the manager, and
ExtensionState, ExtensionStateList, core show hints, sip show subscriptions
and the refusals (489, 423) hold on the daemon.
"""

import os
import re
import subprocess
import sys
import time

import pytest

from tests import sipp as sippRun
from tests.ami import AMI, PATIENCE, managerConf, waitUntil
from tests.e2e.sip_subs.support import EXTENSIONS, MODULES, SCENARIOS, SIP_CONF, VOICEMAIL, \
    freePort
from tests.pbxprocess import ROOT, PBXProcess, cleanup, makeConfigDir

HINTS = """exten => 1003,hint,Custom:desk,CustomPresence:1003
exten => 1003,1,Hangup()
"""

# Its own configuration (from the subscription tests' support): watchers
# without secrets, hints on test devices and a manager with commandformat =
# output, none of which the shipped etc/ has.
MANAGER = managerConf(secret="s3cret", general="commandformat = output\n")


def sipp(scenario, port, service, timeout=20):
    """A SIPp subscriber playing C{scenario} once (a Popen)."""
    return sippRun.spawn(sippRun.sippArgs(
        os.path.join(SCENARIOS, scenario), port, service=service, localPort=freePort(),
        timeout=timeout), cwd=os.path.dirname(SCENARIOS))


def finished(process, what):
    sippRun.finished(process, what, timeout=PATIENCE + 10)


@pytest.fixture
def daemon():
    etc = makeConfigDir({
        "modules.conf": MODULES + "load => manager\nload => func_devstate\n"
                                  "load => func_presencestate\n",
        "sip.conf": SIP_CONF.format(bobPort=freePort()),
        "extensions.conf": EXTENSIONS + HINTS,
        "voicemail.conf": VOICEMAIL,
        "manager.conf": MANAGER,
        "pbx.conf": "[options]\nverbose = 3\n",
    })
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(60)
        sipPort = int(process.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)").group(1))
        amiPort = int(process.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)").group(1))
        ami = AMI(amiPort, secret="s3cret")
        yield process, sipPort, ami
        ami.close()
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


def console(process, line):
    result = subprocess.run(
        [sys.executable, "-m", "pbxcore.console.cli", "-c", process.configDir, "-rx", line],
        cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr
    return result.stdout


def subscriptionCount(ami):
    match = re.search(r"(\d+) active SIP subscriptions?", ami.command("sip show subscriptions"))
    return int(match.group(1)) if match else 0


def test_refusalsAndMessageSummaryOnTheDaemon(daemon):
    process, port, ami = daemon
    for scenario in ("subscribe_noevent.xml", "subscribe_unknown.xml", "subscribe_brief.xml"):
        finished(sipp(scenario, port, "1001", timeout=10), scenario)
    finished(sipp("subscribe_mwi_brief.xml", port, "1001"), "message-summary")
    # chan_sip does not call the subscription keys unknown
    assert "unknown key 'subminexpiry'" not in process.output


def test_presenceFollowsPresenceStateWrittenThroughTheManager(daemon):
    process, port, ami = daemon
    watcher = sipp("subscribe_presence.xml", port, "1003")
    waitUntil(lambda: subscriptionCount(ami) == 1 or watcher.poll() is not None,
              "the presence subscription")
    response = ami.action("Setvar", Variable="PRESENCE_STATE(CustomPresence:1003)",
                          Value="away,,Out to lunch")
    assert response["Response"] == "Success", response
    event = ami.waitEvent("PresenceStatus", Exten="1003")
    assert (event["Context"], event["Status"], event["Message"]) == \
        ("phones", "away", "Out to lunch")
    assert event["Hint"] == "Custom:desk,CustomPresence:1003"
    response = ami.action("Getvar", Variable="PRESENCE_STATE(CustomPresence:1003,message)")
    assert response["Value"] == "Out to lunch"
    response = ami.action("PresenceState", Provider="CustomPresence:1003")
    assert response["State"] == "away"
    time.sleep(0.3)  # let the subscriber answer the first NOTIFY before the next
    ami.action("Setvar", Variable="PRESENCE_STATE(CustomPresence:1003)", Value="dnd")
    finished(watcher, "presence watcher")
    hints = console(process, "core show hints")
    [line] = [l for l in hints.splitlines() if "1003@phones" in l]
    assert "Custom:desk,CustomPresence:1003" in line and "Presence:dnd" in line, hints


def test_busyLampFollowsDeviceStateWrittenThroughTheManager(daemon):
    process, port, ami = daemon
    response = ami.action("ExtensionState", Exten="1003", Context="phones")
    assert (response["Status"], response["StatusText"], response["Hint"]) == \
        ("0", "Idle", "Custom:desk")
    watcher = sipp("subscribe_dialog_custom.xml", port, "1003")
    waitUntil(lambda: subscriptionCount(ami) == 1 or watcher.poll() is not None,
              "the dialog subscription")
    listing = ami.command("sip show subscriptions")
    assert "1003@phones" in listing and "dialog-info+xml" in listing, listing
    ami.action("Setvar", Variable="DEVICE_STATE(Custom:desk)", Value="INUSE")
    event = ami.waitEvent("ExtensionStatus", Exten="1003")
    assert (event["Status"], event["StatusText"]) == ("1", "InUse")
    assert ami.waitEvent("DeviceStateChange", Device="Custom:desk")["State"] == "INUSE"
    response = ami.action("ExtensionState", Exten="1003", Context="phones")
    assert (response["Status"], response["StatusText"]) == ("1", "InUse")
    messages = ami.action("ExtensionStateList", until="ExtensionStateListComplete")
    states = {(m["Exten"], m["Context"]): m["StatusText"] for m in messages
              if m.get("Event") == "ExtensionStatus"}
    assert states[("1003", "phones")] == "InUse"
    assert ("1001", "phones") in states and ("1002", "phones") in states
    hints = console(process, "core show hints")
    [line] = [l for l in hints.splitlines() if "1003@phones" in l]
    assert "State:InUse" in line and re.search(r"Watchers +1", line), hints
    assert "3 hints registered" in hints
    time.sleep(0.3)  # let the subscriber answer the confirmed NOTIFY first
    ami.action("Setvar", Variable="DEVICE_STATE(Custom:desk)", Value="NOT_INUSE")
    finished(watcher, "dialog watcher")
    assert subscriptionCount(ami) == 0


def test_staleSubscriberIsDropped(daemon):
    process, port, ami = daemon
    watcher = sipp("subscribe_stale.xml", port, "1003")
    waitUntil(lambda: subscriptionCount(ami) == 1 or watcher.poll() is not None,
              "the dialog subscription")
    ami.action("Setvar", Variable="DEVICE_STATE(Custom:desk)", Value="BUSY")
    finished(watcher, "stale watcher")
    waitUntil(lambda: subscriptionCount(ami) == 0, "the stale subscription to go")
    assert "dropped: NOTIFY answered 481" in process.output


def test_voicemailConsoleAndManagerOnTheDaemon(daemon):
    process, port, ami = daemon
    users = console(process, "voicemail show users")
    assert re.search(r"default +1001 +Watcher", users), users
    assert "1 voicemail users configured." in users
    response = ami.action("MailboxCount", Mailbox="1001@default")
    assert (response["NewMessages"], response["OldMessages"]) == ("0", "0")
    messages = ami.action("VoicemailUsersList", until="VoicemailUserEntryComplete")
    [entry] = [m for m in messages if m.get("Event") == "VoicemailUserEntry"]
    assert (entry["VoiceMailbox"], entry["Fullname"]) == ("1001", "Watcher")
