"""
Helpers for the SIP call tests: a real PBXService on loopback (chan_sip,
res_sdp_rtp, Dial, Echo) and SIPp instances playing callers and callees.
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
load => app_echo
load => app_message
"""

SIP_CONF = """[general]
context = guest
allowguest = no
udpbindaddr = 127.0.0.1:0
useragent = txpbx-test
authalgorithms = md5

[alice]
type = friend
host = dynamic
secret = wonderland
context = calls
disallow = all
allow = ulaw,alaw

[open]
type = friend
host = dynamic
context = calls
disallow = all
allow = ulaw,alaw

[bob]
type = friend
host = 127.0.0.1
port = {bobPort}
context = calls
insecure = invite,port
call-limit = 1
disallow = all
allow = ulaw,alaw

[dave]
type = friend
host = 127.0.0.1
port = {davePort}
context = calls
insecure = invite,port
defaultuser = dave
secret = davesecret
disallow = all
allow = ulaw

[carol]
type = friend
host = 127.0.0.1
port = {carolPort}
context = calls
insecure = invite,port
disallow = all
allow = ulaw,alaw
"""

EXTENSIONS = """[general]
static = yes

[calls]
exten => echo,1,Answer()
 same => n,Echo()
exten => answerhangup,1,Answer()
 same => n,Wait(0.3)
 same => n,Hangup()
exten => ring,1,Ringing()
 same => n,Wait(20)
 same => n,Hangup()
exten => bob,1,Set(TRANSFER_CONTEXT=calls)
 same => n,Dial(SIP/bob,{dialTimeout})
 same => n,Set(GLOBAL(LASTSTATUS)=${{DIALSTATUS}})
 same => n,Hangup()
exten => dave,1,Dial(SIP/dave,10)
 same => n,Hangup()
exten => msg,1,Set(MESSAGE(body)=echo: ${{MESSAGE(body)}})
 same => n,MessageSend(sip:carol,${{MESSAGE(from)}})
 same => n,Set(GLOBAL(MSGSTATUS)=${{MESSAGE_SEND_STATUS}})
exten => carol,1,Dial(SIP/carol,10)
 same => n,Hangup()
"""


def freePort() -> int:
    """A UDP port nothing listens on now (for SIPp callees with a fixed port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@defer.inlineCallbacks
def startPBX(testCase, bobPort=5999, carolPort=5998, davePort=5997, dialTimeout=10, extra=None):
    """A running PBX on loopback; returns (pbx, sipPort)."""
    base = tempfile.mkdtemp(prefix="txpbx-sipcalls-")
    testCase.addCleanup(shutil.rmtree, base, True)
    etc = os.path.join(base, "etc")
    os.makedirs(etc)
    files = {
        "modules.conf": MODULES,
        "sip.conf": SIP_CONF.format(bobPort=bobPort, carolPort=carolPort, davePort=davePort),
        "extensions.conf": EXTENSIONS.format(dialTimeout=dialTimeout),
        "pbx.conf": "[options]\nverbose = 0\n",
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


@defer.inlineCallbacks
def waitBound(port, timeout=10.0):
    """Wait until something (a SIPp callee) has bound UDP 127.0.0.1:port."""
    from twisted.internet import task

    deadline = reactor.seconds() + timeout
    while reactor.seconds() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return
        finally:
            s.close()
        yield task.deferLater(reactor, 0.05, lambda: None)
    raise AssertionError(f"nothing bound 127.0.0.1:{port} within {timeout}s")


def sippPath() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise AssertionError("sipp is not installed (Debian package sip-tester); these tests need it")
    return path


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


def sipp(scenario, port=None, localPort=0, calls=1, service=None, extra=(), timeout=20):
    """
    Start SIPp with C{scenario}; a Deferred firing with (exit code, output).
    Without C{port} it is a callee waiting on C{localPort}.
    """
    args = [sippPath(), "-sf", os.path.join(SCENARIOS, scenario), "-t", "u1", "-i", "127.0.0.1",
            "-p", str(localPort), "-m", str(calls), "-nostdin", "-timeout", f"{timeout}s",
            "-timeout_error", "-mp", str(freePort()), *extra]
    if service is not None:
        args += ["-s", service]
    if port is not None:
        args.append(f"127.0.0.1:{port}")
    done = defer.Deferred()
    reactor.spawnProcess(_Collect(done), args[0], args, env=dict(os.environ))
    return done


def check(testCase, result, what):
    code, output = result
    testCase.assertEqual(code, 0, f"sipp {what} failed:\n{output[-4000:]}")
