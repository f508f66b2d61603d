"""
Helpers for the SIP call tests: a real PBXService on loopback (chan_sip,
res_sdp_rtp, Dial, Echo) and SIPp instances playing callers and callees.
"""

import os

from twisted.internet import defer

from tests import inprocess
from tests.inprocess import modulesConf
from tests import sipp as sippRun
from tests.sipp import check, freePort, waitBound  # noqa: F401 (the call tests import them here)

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")

MODULES = modulesConf(
    "pbx_config", "chan_sip", "res_sdp_rtp", "app_dial", "app_echo", "app_message")

# A configuration of its own (not the shipped etc/): the call tests need
# peers the sample has not got (SIPp callees at fixed ports with
# insecure=invite,port, a peer without a secret, codec mixes per peer) and a
# dialplan of test extensions. Authentication is the shipped default (MD5).
SIP_CONF = """[general]
context = guest
allowguest = no
udpbindaddr = 127.0.0.1:0
useragent = txpbx-test

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


@defer.inlineCallbacks
def startPBX(testCase, bobPort=5999, carolPort=5998, davePort=5997, dialTimeout=10, extra=None):
    """A running PBX on loopback; returns (pbx, sipPort)."""
    files = {
        "modules.conf": MODULES,
        "sip.conf": SIP_CONF.format(bobPort=bobPort, carolPort=carolPort, davePort=davePort),
        "extensions.conf": EXTENSIONS.format(dialTimeout=dialTimeout),
        "pbx.conf": "[options]\nverbose = 0\n",
    }
    files.update(extra or {})
    _, etc = inprocess.makeEtc(testCase, files, prefix="txpbx-sipcalls-")
    pbx = yield inprocess.startPBX(testCase, etc)
    return pbx, inprocess.sipPort(pbx)


def sipp(scenario, port=None, localPort=0, calls=1, service=None, extra=(), timeout=20):
    """
    Start SIPp with C{scenario} (a name in this folder's scenarios, or a
    path); a Deferred firing with (exit code, output). Without C{port} it
    is a callee waiting on C{localPort}.
    """
    return sippRun.runDeferred(sippRun.sippArgs(
        os.path.join(SCENARIOS, scenario), port, service=service, localPort=localPort,
        calls=calls, timeout=timeout, extra=extra))
