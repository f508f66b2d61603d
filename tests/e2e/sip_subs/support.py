"""
A real PBX on loopback with chan_sip, voicemail and SIP subscriptions, and
SIPp runs against it (subscribers, callers, callees).
"""

import os

from twisted.internet import defer, reactor, task

from tests import inprocess
from tests.inprocess import modulesConf
from tests import sipp as sippRun
from tests.sipp import check, freePort  # noqa: F401 (the subscription tests import them here)

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")

MODULES = modulesConf(
    "pbx_config", "chan_sip", "res_sdp_rtp", "app_dial", "app_voicemail", "res_sip_subscriptions")

# A configuration of its own (not the shipped etc/): the subscription tests
# need watchers without secrets (SIPp has no digest for SUBSCRIBE dialogs),
# custom subscription expiry bounds and hints on test devices.
# Authentication is the shipped default (MD5).
SIP_CONF = """[general]
context = guest
allowguest = no
udpbindaddr = 127.0.0.1:0
useragent = txpbx-test
subminexpiry = 60
submaxexpiry = 3600

[watcher]
type = friend
host = dynamic
context = phones
mailbox = 1001@default

[alice]
type = friend
host = dynamic
context = phones
disallow = all
allow = ulaw

[locked]
type = friend
host = dynamic
context = phones
allowsubscribe = no

[bob]
type = friend
host = 127.0.0.1
port = {bobPort}
context = phones
insecure = invite,port
disallow = all
allow = ulaw
"""

EXTENSIONS = """[general]
static = yes

[phones]
exten => 1001,hint,SIP/bob
exten => 1001,1,Dial(SIP/bob,10)
 same => n,Hangup()
exten => 1002,hint,Custom:lamp
exten => vm,1,VoiceMail(1001@default,s)
 same => n,Hangup()
exten => vmmain,1,VoiceMailMain(1001@default,s)
 same => n,Hangup()
"""

VOICEMAIL = """[general]
minsecs = 0
maxsilence = 5
[default]
1001 => 1234,Watcher
"""


@defer.inlineCallbacks
def startPBX(testCase, bobPort=None, extra=None):
    """A running PBX on loopback; returns (pbx, SIP port)."""
    base, etc = inprocess.makeEtc(testCase, prefix="txpbx-subs-")
    files = {
        "modules.conf": MODULES,
        "sip.conf": SIP_CONF.format(bobPort=bobPort or freePort()),
        "extensions.conf": EXTENSIONS,
        "voicemail.conf": VOICEMAIL,
        "pbx.conf": f"[options]\nverbose = 0\n[directories]\nastspooldir = {base}/spool\n"
                    f"astdatadir = {base}/data\n",
    }
    files.update(extra or {})
    inprocess.writeFiles(etc, files)
    pbx = yield inprocess.startPBX(testCase, etc)
    return pbx, inprocess.sipPort(pbx)


def sipp(scenario, port=None, localPort=0, service=None, extra=(), timeout=20):
    """SIPp playing C{scenario} once; a Deferred of (exit code, output)."""
    return sippRun.runDeferred(sippRun.sippArgs(
        os.path.join(SCENARIOS, scenario), port, service=service,
        localPort=localPort or freePort(), timeout=timeout, extra=extra))


def sleep(seconds):
    return task.deferLater(reactor, seconds, lambda: None)


def scenarioWithTone(testCase, scenario, tonePath):
    """A copy of C{scenario} (in a temporary folder) streaming C{tonePath} as RTP."""
    with open(os.path.join(SCENARIOS, scenario)) as f:
        text = f.read().replace("@TONE@", tonePath)
    return sippRun.writeScenario(text, scenario, testCase)
