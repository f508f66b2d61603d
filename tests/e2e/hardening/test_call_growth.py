"""
No growth per call: thousands of SIP calls (SIPp UAC -> Dial(SIP/uas) ->
SIPp UAS over loopback UDP, two SIP sessions, two channels, two RTP
sessions and a bridge each) leave nothing behind.

Two properties, both counted, never timed:

  - a finished call makes no cyclic garbage: its objects are freed by
    reference counting the moment it ends, whatever the collector's
    thresholds (pbx.conf gcthreshold freezes the start-up heap and runs
    the young collection rarely: cyclic garbage there piled up, about
    35 KB a call);
  - once the last transaction's linger time is over, the live objects of
    the call path (channels, drivers, sessions, dialogs, transactions, RTP
    sessions, bridges, timers) are back at their counts before the calls.
"""

import collections
import gc

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from tests import inprocess, scenarios
from tests import sipp as sippRun
from tests.sipp import freePort, waitBound

CALLS = 2000

#: The call path's own classes (by name): none may outlive its call. (The
#: RTP sockets and their protocols are not counted: the RTP engine keeps a
#: bounded pool of closed sessions' ports for reuse.)
CALL_PATH = (
    "Channel", "SIPDriver", "InviteSession", "InviteMachine", "Dialog", "ClientTransaction",
    "ServerTransaction", "RTPSession", "Bridge", "DelayedCall", "Failure", "MediaStream",
)

# Not the shipped etc/: the call needs a peer for the SIPp callee and a
# dialplan that dials it (the same configuration as bench/bench_sip_calls.py).
SIP_CONF = """[general]
context = growth
allowguest = yes
udpbindaddr = 127.0.0.1:0
useragent = txpbx-test

[uas]
type = peer
host = 127.0.0.1
port = {uasPort}
context = growth
insecure = invite
disallow = all
allow = ulaw,alaw
"""

EXTENSIONS = """[general]
static = yes

[growth]
exten => _X.,1,Dial(SIP/uas)
 same => n,Hangup()
"""


def dropBufferedLogEvents():
    """
    In a test process nobody begins Twisted's logging (twistd does), so the
    global log keeps the last 65,536 events for whoever begins it later, and
    each event keeps the object that logged it (C{log_source}) alive: a
    bounded buffer, not growth, but it would blur the counts. Forget them.
    """
    from twisted.logger import globalLogBeginner

    for name in ("_initialBuffer", "_temporaryObserver"):
        buffer = getattr(getattr(globalLogBeginner, name, None), "_buffer", None)
        if buffer is not None:
            buffer.clear()


def callPathCounts():
    dropBufferedLogEvents()
    gc.collect()
    names = set(CALL_PATH)
    counts = collections.Counter(type(o).__name__ for o in gc.get_objects() if type(o).__name__ in names)
    return {name: counts.get(name, 0) for name in CALL_PATH}


class CallGrowthTests(unittest.TestCase):
    timeout = 600

    @defer.inlineCallbacks
    def test_callsLeaveNothingBehind(self):
        uasPort = freePort()
        _, etc = inprocess.makeEtc(self, {
            "sip.conf": SIP_CONF.format(uasPort=uasPort), "extensions.conf": EXTENSIONS,
            "modules.conf": inprocess.modulesConf("pbx_config", "chan_sip", "res_sdp_rtp", "app_dial"),
        })
        pbx = yield inprocess.startPBX(self, etc)
        port = inprocess.sipPort(pbx)
        callee = sippRun.spawn([sippRun.sippPath(), "-sn", "uas", "-i", "127.0.0.1", "-p", str(uasPort),
                                "-nostdin", "-mp", str(freePort())])
        self.addCleanup(sippRun.stop, callee)
        yield waitBound(uasPort)
        caller = scenarios.write(self, scenarios.caller(user="sipp", end="bye", optional="global"), "uac.xml")

        def calls(n):
            return sippRun.runDeferred(sippRun.sippArgs(
                caller, port, service="1000", calls=n, timeout=300,
                extra=["-r", "200", "-l", "100", "-d", "0"]))

        warm = yield calls(50)
        sippRun.check(self, warm, "warm-up calls")
        stack = pbx.loader.modules["chan_sip"].module.stack
        yield self.drained(pbx, stack)
        gc.collect()
        before = callPathCounts()

        gc.disable()
        self.addCleanup(gc.enable)
        try:
            result = yield calls(CALLS)
        finally:
            gc.enable()
        sippRun.check(self, result, f"{CALLS} calls")
        # Every call is over: what the collector finds now is cyclic garbage
        # the calls made (reference counting could not free it).
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            garbage = collections.Counter(type(o).__name__ for o in gc.garbage)
        finally:
            gc.set_debug(0)
            del gc.garbage[:]
        left = {name: garbage[name] for name in CALL_PATH if garbage.get(name)}
        self.assertEqual(left, {}, f"cyclic garbage from {CALLS} calls: {garbage.most_common(20)}")

        yield self.drained(pbx, stack)
        gc.collect()
        after = callPathCounts()
        self.assertEqual(after, before)
        self.assertEqual(len(pbx.channels), 0)

    @defer.inlineCallbacks
    def drained(self, pbx, stack, bound=180):
        """Wait (bounded) until no channel and no transaction is left (Timer K/J linger up to 32 s)."""
        transactions = stack.transactions
        for _ in range(bound):
            if not len(pbx.channels) and not transactions._clients and not transactions._servers \
                    and not transactions._absorbing:
                return
            yield task.deferLater(reactor, 1.0, lambda: None)
