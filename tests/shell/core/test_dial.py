"""Dial, the bridge and Local channels, with scripted Test channels on a Clock."""

from twisted.trial.unittest import TestCase

from pbxcore.frame import ChannelState, Control, HangupCause, dtmfFrame, voiceFrame

from .support import call, makePBX


def reactorTurn(clock):
    """
    Run the calls that are due now, as one turn of a real reactor does
    (Clock.advance(0) would also run the ones they schedule for now).
    """
    due = [c for c in clock.getDelayedCalls() if c.getTime() <= clock.seconds()]
    for c in due:
        if c.active():
            clock.calls.remove(c)
            c.called = 1
            c.func(*c.args, **c.kw)

DIALPLAN = """
[default]
exten => 1,1,Dial(${TARGET},${TIMEOUT},${OPTS})
 same => n,Set(AFTER=${DIALSTATUS})
exten => h,1,Set(HSTATUS=${DIALSTATUS})
"""


class DialTests(TestCase):

    def dial(self, target, timeout="", options=""):
        pbx, tech = makePBX(test=self, dialplan=DIALPLAN)
        pbx.globals.update(TARGET=target, TIMEOUT=timeout, OPTS=options)
        caller, _ = call(pbx, tech, "1")
        return pbx, tech, caller

    def test_twoTargetsFirstAnswerWins(self):
        pbx, tech, caller = self.dial("Test/a/ring/answer:3&Test/b/ring:1/answer:2", "20")
        a, b = tech.created[1:]
        self.assertEqual(a.linkedid, caller.linkedid)
        self.assertEqual(caller.driver.indications, [Control.RINGING])
        pbx.reactor.advance(2)
        self.assertEqual(b.state, ChannelState.UP)
        self.assertTrue(caller.isUp)
        self.assertTrue(a.isHungUp)
        self.assertEqual(a.hangupCause, HangupCause.ANSWERED_ELSEWHERE)
        self.assertEqual(caller.getVariable("DIALEDPEERNAME"), b.name)
        self.assertIs(caller.bridge, b.bridge)
        # media flows both ways through the bridge
        b.frameReceived(voiceFrame("ulaw", b"\xff" * 160))
        caller.frameReceived(voiceFrame("ulaw", b"\x7f" * 160))
        caller.frameReceived(dtmfFrame("5"))
        self.assertEqual(caller.driver.written[-1].data, b"\xff" * 160)
        self.assertEqual(b.driver.written[-1].data, b"\x7f" * 160)
        self.assertEqual(b.driver.digits, ["5"])
        pbx.reactor.advance(7)
        b.hungUp(HangupCause.NORMAL_CLEARING)
        self.assertTrue(caller.isHungUp)
        self.assertTrue(b.isHungUp)
        self.assertEqual(caller.getVariable("DIALSTATUS"), "ANSWER")
        self.assertEqual(caller.getVariable("ANSWEREDTIME"), "7")
        self.assertEqual(caller.getVariable("DIALEDTIME"), "9")
        self.assertIsNone(caller.getVariable("AFTER"))
        names = [e.name for e in pbx.eventLog if e.name.startswith(("Dial", "Bridge"))]
        self.assertEqual(names[:2], ["DialBegin", "DialBegin"])
        self.assertIn("DialState", names)
        self.assertEqual(names[-5:], ["BridgeEnter", "BridgeEnter", "BridgeLeave",
                                      "BridgeLeave", "BridgeDestroy"])
        ends = {e.get("DestChannel"): e.get("DialStatus") for e in pbx.eventsNamed("DialEnd")}
        self.assertEqual(ends, {a.name: "CANCEL", b.name: "ANSWER"})
        self.assertEqual(len(pbx.channels), 0)

    def test_gContinuesAfterCalleeHangup(self):
        pbx, tech, caller = self.dial("Test/a/hangup:4", "", "g")
        self.assertIsNone(caller.getVariable("AFTER"))
        self.assertTrue(caller.isUp)
        pbx.reactor.advance(4)
        self.assertEqual(caller.getVariable("AFTER"), "ANSWER")
        self.assertTrue(caller.isHungUp)

    def test_callerHangupEndsBridge(self):
        pbx, tech, caller = self.dial("Test/a")
        callee = tech.created[1]
        self.assertTrue(callee.isUp)
        caller.hungUp(HangupCause.NORMAL_CLEARING)
        self.assertTrue(callee.isHungUp)
        self.assertEqual(callee.driver.hangups, [HangupCause.NORMAL_CLEARING])
        self.assertEqual(caller.getVariable("HSTATUS"), "ANSWER")

    def test_allBusy(self):
        pbx, tech, caller = self.dial("Test/busy&Test/b/busy:1", "10")
        pbx.reactor.advance(1)
        self.assertEqual(caller.getVariable("AFTER"), "BUSY")
        self.assertEqual(caller.getVariable("HANGUPCAUSE"), "17")
        self.assertEqual(caller.hangupCause, HangupCause.USER_BUSY)  # fallthrough cause

    def test_congestion(self):
        pbx, tech, caller = self.dial("Test/congestion")
        self.assertEqual(caller.getVariable("AFTER"), "CONGESTION")

    def test_noAnswerTimeout(self):
        pbx, tech, caller = self.dial("Test/noanswer&Test/b/noanswer", "5")
        legs = tech.created[1:]
        pbx.reactor.advance(4.9)
        self.assertIsNone(caller.getVariable("AFTER"))
        pbx.reactor.advance(0.1)
        self.assertEqual(caller.getVariable("AFTER"), "NOANSWER")
        self.assertTrue(all(leg.isHungUp for leg in legs))
        self.assertEqual([leg.hangupCause for leg in legs], [HangupCause.NO_ANSWER] * 2)

    def test_unavailable(self):
        pbx, tech, caller = self.dial("Test/unavailable&Nope/x")
        self.assertEqual(caller.getVariable("AFTER"), "CHANUNAVAIL")
        self.assertEqual(caller.getVariable("HANGUPCAUSE"), "66")

    def test_cancelWhileRinging(self):
        pbx, tech, caller = self.dial("Test/noanswer", "30")
        callee = tech.created[1]
        pbx.reactor.advance(1)
        caller.hungUp(HangupCause.NORMAL_CLEARING)
        self.assertTrue(callee.isHungUp)
        self.assertEqual(caller.getVariable("HSTATUS"), "CANCEL")

    def test_rejectedCountsAsUnavailable(self):
        pbx, tech, caller = self.dial("Test/reject:1", "30")
        pbx.reactor.advance(1)
        self.assertEqual(caller.getVariable("AFTER"), "CHANUNAVAIL")


class LocalTests(TestCase):

    def test_localCallRunsDialplanAndAnswers(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Set(__TOP=${CALLERID(num)})
 same => n,Dial(Local/inner@sub,10)
 same => n,Set(AFTER=${DIALSTATUS})
[sub]
exten => inner,1,Set(SEEN=${TOP})
 same => n,Answer()
 same => n,Echo()
""")
        caller, _ = call(pbx, tech, "1", callerNumber="555")
        one = [c for c in pbx.channels if c.name.endswith(";1")][0]
        two = [c for c in pbx.channels if c.name.endswith(";2")][0]
        self.assertTrue(one.name.startswith("Local/inner@sub-"))
        self.assertEqual(two.getVariable("SEEN"), "")  # CALLERID() is not registered here
        self.assertEqual(two.caller.number, "555")
        self.assertEqual(two.linkedid, caller.linkedid)
        self.assertTrue(caller.isUp and one.isUp and two.isUp)
        caller.frameReceived(voiceFrame("ulaw", b"\x01" * 160))
        # Frames cross a Local pair on the next reactor turn, each way.
        pbx.reactor.advance(0)
        pbx.reactor.advance(0)
        self.assertEqual(caller.driver.written[-1].data, b"\x01" * 160)
        caller.frameReceived(dtmfFrame("#"))
        pbx.reactor.advance(0)
        # Echo ended on '#': ;2 falls off the end, the hangup crosses to the caller.
        self.assertTrue(two.isHungUp and one.isHungUp and caller.isHungUp)
        self.assertEqual(caller.getVariable("DIALSTATUS"), "ANSWER")
        self.assertEqual(len(pbx.channels), 0)
        self.assertEqual(pbx.registrar("LocalChannelModule").useCount, 0)

    def test_echoFacingEchoGivesTheReactorBack(self):
        """
        Two Echo applications on the halves of one Local pair bounce a frame
        between them: each crossing takes a reactor turn, so the PBX keeps
        serving instead of looping inside one turn.
        """
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 100,1,Answer()
 same => n,Echo()
""")
        from twisted.internet.defer import ensureDeferred
        ensureDeferred(pbx.engine.originate("Local", "100@default", context="default",
                                            exten="100"))
        one = [c for c in pbx.channels if c.name.endswith(";1")][0]
        two = [c for c in pbx.channels if c.name.endswith(";2")][0]
        self.assertTrue(one.isUp and two.isUp)
        one.driver.writeFrame(one, voiceFrame("ulaw", b"\x05" * 160))
        crossings = []
        two.notifyOnHangup(lambda *a: None)
        original = two.frameReceived
        two.frameReceived = lambda frame: (crossings.append(frame), original(frame))
        for _ in range(6):
            reactorTurn(pbx.reactor)
        # The frame keeps bouncing, one crossing each way per turn: it
        # reached ;2 three times in six turns, and each turn ended.
        self.assertEqual(len(crossings), 3)
        one.softHangup(HangupCause.NORMAL_CLEARING)
        for _ in range(4):
            reactorTurn(pbx.reactor)
        self.assertEqual(len(pbx.channels), 0)

    def test_localBusyAndUnknownExtension(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Dial(Local/b@default)
 same => n,Set(AFTER=${DIALSTATUS})
exten => 2,1,Dial(Local/nothere@default)
 same => n,Set(AFTER=${DIALSTATUS})
exten => b,1,Busy()
""")
        caller, _ = call(pbx, tech, "1")
        self.assertEqual(caller.getVariable("AFTER"), "BUSY")
        caller, _ = call(pbx, tech, "2")
        self.assertEqual(caller.getVariable("AFTER"), "CHANUNAVAIL")

    def test_originateToLocal(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Answer()
 same => n,Wait(2)
exten => 9,1,Set(ORIG=yes)
 same => n,Wait(1)
""")
        d = __import__("twisted.internet.defer", fromlist=["x"]).ensureDeferred(
            pbx.engine.originate("Local", "1@default", context="default", exten="9",
                                 actionID="abc"))
        result = self.successResultOf(d)
        self.assertEqual(result["Response"], "Success")
        event = pbx.eventsNamed("OriginateResponse")[0]
        self.assertEqual((event.get("ActionID"), event.get("Reason")), ("abc", "4"))
        one = pbx.channels.get(result["Channel"])
        self.assertEqual(one.getVariable("ORIG"), "yes")
        pbx.reactor.advance(2)
        self.assertEqual(len(pbx.channels), 0)

    def test_originateCallerIDReachesTheFarHalf(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Set(SEEN=${CALLERID(num)}/${CALLERID(name)})
 same => n,Answer()
 same => n,Wait(1)
""")
        from twisted.internet.defer import ensureDeferred

        from plugins.func_callerid import FuncCallerIDModule
        pbx.loadModule(FuncCallerIDModule(), "func_callerid")
        d = ensureDeferred(pbx.engine.originate("Local", "1@default", application="Wait",
                                                data="1", callerID=("Alice", "1234")))
        two = [c for c in pbx.channels if c.name.endswith(";2")][0]
        self.assertEqual(two.getVariable("SEEN"), "1234/Alice")
        pbx.reactor.advance(2)
        self.assertEqual(self.successResultOf(d)["Response"], "Success")

    def test_originateFailure(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,NoOp()\n")
        from twisted.internet.defer import ensureDeferred
        d = ensureDeferred(pbx.engine.originate("Test", "busy", application="NoOp"))
        result = self.successResultOf(d)
        self.assertEqual((result["Response"], result["Reason"]), ("Failure", "5"))


class DialProgressTests(TestCase):

    def test_earlyMediaAndProgressPassToCaller(self):
        pbx, tech = makePBX(test=self, dialplan=DIALPLAN)
        pbx.globals.update(TARGET="Test/a/progress/answer:3", TIMEOUT="", OPTS="")
        caller, _ = call(pbx, tech, "1")
        callee = tech.created[1]
        self.assertEqual(caller.driver.indications, [Control.PROGRESS])
        callee.frameReceived(voiceFrame("ulaw", b"\x11" * 160))
        self.assertEqual(caller.driver.written[-1].data, b"\x11" * 160)
        self.assertEqual([e.get("DialStatus") for e in pbx.eventsNamed("DialState")],
                         ["PROGRESS"])
        self.assertFalse(caller.isUp)
        pbx.reactor.advance(3)
        self.assertTrue(caller.isUp)

    def test_rOptionRingsAtOnceAndHoldsBackEarlyMedia(self):
        pbx, tech = makePBX(test=self, dialplan=DIALPLAN)
        pbx.globals.update(TARGET="Test/a/progress/ring/answer:3", TIMEOUT="", OPTS="r")
        caller, _ = call(pbx, tech, "1")
        callee = tech.created[1]
        callee.frameReceived(voiceFrame("ulaw", b"\x11" * 160))
        self.assertEqual(caller.driver.indications, [Control.RINGING])
        self.assertEqual(caller.driver.written, [])


class PreconnectTests(TestCase):

    DIALPLAN = """
[default]
exten => 1,1,Dial(Test/a,,U(${SUB}^x))
 same => n,Set(AFTER=${DIALSTATUS})
exten => ok,1,Set(SEEN=${ARG1}-${CHANNEL})
 same => n,Return()
exten => busy,1,Set(GOSUB_RESULT=BUSY)
 same => n,Return()
exten => goto,1,Set(GOSUB_RESULT=GOTO:there^1)
 same => n,Return()
exten => there,1,Set(WENT=yes)
"""

    def dial(self, sub):
        pbx, tech = makePBX(test=self, dialplan=self.DIALPLAN)
        pbx.globals["SUB"] = sub
        caller, _ = call(pbx, tech, "1")
        return pbx, tech, caller, tech.created[1]

    def test_subroutineRunsOnCalleeThenConnects(self):
        pbx, tech, caller, callee = self.dial("ok,1")
        self.assertEqual(callee.getVariable("SEEN"), f"x-{callee.name}")
        self.assertIsNone(caller.getVariable("SEEN"))
        self.assertIs(caller.bridge, callee.bridge)
        self.assertIsNotNone(caller.bridge)

    def test_busyResult(self):
        pbx, tech, caller, callee = self.dial("busy,1")
        self.assertTrue(callee.isHungUp)
        self.assertTrue(caller.isHungUp)
        self.assertEqual(caller.hangupCause, HangupCause.USER_BUSY)

    def test_gotoResult(self):
        pbx, tech, caller, callee = self.dial("goto,1")
        self.assertTrue(callee.isHungUp)
        self.assertEqual(caller.getVariable("WENT"), "yes")
