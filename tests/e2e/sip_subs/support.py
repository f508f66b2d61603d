"""
A real PBX on loopback with chan_sip, voicemail and SIP subscriptions, and
SIPp runs against it (subscribers, callers, callees).
"""

import os
import shutil
import socket
import tempfile

from twisted.internet import defer, protocol, reactor

from pbxcore.service import PBXService

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")

MODULES = """[modules]
autoload = no
load => pbx_config
load => chan_sip
load => res_sdp_rtp
load => app_dial
load => app_voicemail
load => res_sip_subscriptions
"""

SIP_CONF = """[general]
context = guest
allowguest = no
udpbindaddr = 127.0.0.1:0
useragent = txpbx-test
authalgorithms = md5
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


def freePort() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@defer.inlineCallbacks
def startPBX(testCase, bobPort=None, extra=None):
    """A running PBX on loopback; returns (pbx, SIP port)."""
    base = tempfile.mkdtemp(prefix="txpbx-subs-")
    testCase.addCleanup(shutil.rmtree, base, True)
    etc = os.path.join(base, "etc")
    os.makedirs(etc)
    files = {
        "modules.conf": MODULES,
        "sip.conf": SIP_CONF.format(bobPort=bobPort or freePort()),
        "extensions.conf": EXTENSIONS,
        "voicemail.conf": VOICEMAIL,
        "pbx.conf": f"[options]\nverbose = 0\n[directories]\nastspooldir = {base}/spool\n"
                    f"astdatadir = {base}/data\n",
    }
    files.update(extra or {})
    for name, text in files.items():
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    pbx = PBXService(etc)
    pbx.startService()
    testCase.addCleanup(pbx.stopService)
    yield pbx.booted
    stack = pbx.loader.modules["chan_sip"].module.stack
    return pbx, stack.listening[0].getHost().port


class _Collect(protocol.ProcessProtocol):
    def __init__(self, done):
        self.done = done
        self.output = []

    def outReceived(self, data):
        self.output.append(data)

    errReceived = outReceived

    def processEnded(self, reason):
        code = getattr(reason.value, "exitCode", None)
        self.done.callback((code, b"".join(self.output).decode("utf-8", "replace")))


def sipp(scenario, port=None, localPort=0, service=None, extra=(), timeout=20):
    """SIPp playing C{scenario} once; a Deferred of (exit code, output)."""
    path = shutil.which("sipp")
    if path is None:
        raise AssertionError("sipp is not installed (Debian package sip-tester)")
    args = [path, "-sf", os.path.join(SCENARIOS, scenario), "-t", "u1", "-i", "127.0.0.1",
            "-p", str(localPort or freePort()), "-m", "1", "-nostdin",
            "-timeout", f"{timeout}s", "-timeout_error", "-mp", str(freePort()), *extra]
    if service is not None:
        args += ["-s", service]
    if port is not None:
        args.append(f"127.0.0.1:{port}")
    done = defer.Deferred()
    reactor.spawnProcess(_Collect(done), args[0], args, env=dict(os.environ))
    return done


def check(testCase, result, what):
    code, output = result
    testCase.assertEqual(code, 0, f"sipp {what} failed:\n{output[:1500]}\n...\n{output[-2500:]}")


def sleep(seconds):
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)


def scenarioWithTone(testCase, scenario, tonePath):
    """A copy of C{scenario} (in a temporary folder) streaming C{tonePath} as RTP."""
    folder = tempfile.mkdtemp(prefix="txpbx-subs-sipp-")
    testCase.addCleanup(shutil.rmtree, folder, True)
    with open(os.path.join(SCENARIOS, scenario)) as f:
        text = f.read().replace("@TONE@", tonePath)
    path = os.path.join(folder, scenario)
    with open(path, "w") as f:
        f.write(text)
    return path
