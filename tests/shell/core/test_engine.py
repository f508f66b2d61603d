"""The dialplan engine and the core applications, on a Clock."""

from twisted.trial.unittest import TestCase

from pbxcore.dialplan.engine import PBXResult
from pbxcore.frame import ChannelState, Control, HangupCause, dtmfFrame

from .support import call, makePBX


class EngineTests(TestCase):

    def test_runsPrioritiesInOrderAndHangsUpAtTheEnd(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 100,1,Answer()
 same => n,Set(X=${EXTEN}-ok)
 same => n,NoOp(${X})
""")
        channel, result = call(pbx, tech, "100")
        self.assertEqual(self.successResultOf(result), PBXResult.SUCCESS)
        self.assertTrue(channel.isHungUp)
        self.assertEqual(channel.getVariable("X"), "100-ok")
        self.assertEqual(channel.hangupCause, HangupCause.NORMAL_CLEARING)
        apps = [e.get("Application") for e in pbx.eventsNamed("NewExten")]
        self.assertEqual(apps, ["Answer", "Set", "NoOp"])
        self.assertEqual(pbx.eventsNamed("NewExten")[2].get("AppData"), "100-ok")
        hangup = pbx.eventsNamed("Hangup")[0]
        self.assertEqual((hangup.get("Cause"), hangup.get("Cause-txt")), ("16", "Normal Clearing"))
        self.assertEqual(len(pbx.channels), 0)
        self.assertEqual(pbx.engine.activeCalls, 0)

    def test_hangupWithCauseAndHExtension(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 100,1,Set(A=1)
 same => n,Hangup(USER_BUSY)
 same => n,Set(NEVER=1)
exten => h,1,Set(INH=${HANGUPCAUSE})
""")
        channel, _ = call(pbx, tech, "100")
        self.assertEqual(channel.hangupCause, HangupCause.USER_BUSY)
        self.assertIsNone(channel.getVariable("NEVER"))
        self.assertEqual(channel.getVariable("INH"), "17")
        self.assertEqual(channel.exten, "h")

    def test_callerHangupRunsH(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 100,1,Wait(10)
 same => n,Set(NEVER=1)
exten => h,1,Set(DONE=yes)
""")
        channel, _ = call(pbx, tech, "100")
        pbx.reactor.advance(1)
        self.assertFalse(channel.isHungUp)
        channel.hungUp(HangupCause.NORMAL_CLEARING)
        self.assertTrue(channel.isHungUp)
        self.assertEqual(channel.getVariable("DONE"), "yes")
        self.assertIsNone(channel.getVariable("NEVER"))
        self.assertEqual([e.name for e in pbx.eventLog if "Hangup" in e.name],
                         ["HangupRequest", "Hangup"])
        self.assertEqual(channel.driver.hangups, [])

    def test_invalidExtensionGoesToI(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => i,1,Set(BAD=${INVALID_EXTEN})
""")
        channel, _ = call(pbx, tech, "999")
        self.assertEqual(channel.getVariable("BAD"), "999")

    def test_invalidExtensionWithoutIHangsUp(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,NoOp()\n")
        channel, _ = call(pbx, tech, "999")
        self.assertTrue(channel.isHungUp)
        self.assertEqual(channel.hangupCause, HangupCause.UNALLOCATED)

    def test_unknownApplicationLogsFileAndLineAndHangsUp(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,NoOp()\n same => n,Frobnicate(x)\n"
                            " same => n,Set(NEVER=1)\n")
        messages = []
        from twisted.logger import globalLogPublisher, formatEvent
        observer = lambda e: messages.append(formatEvent(e))
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        channel, _ = call(pbx, tech, "1")
        self.assertTrue(channel.isHungUp)
        self.assertIsNone(channel.getVariable("NEVER"))
        self.assertTrue(any("Frobnicate" in m and "extensions.conf:3" in m for m in messages),
                        messages)

    def test_gotoAndGotoIfWithLabels(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,GotoIf($[1 = 2]?no:yes)
 same => n(no),Set(R=no)
 same => n,Hangup()
 same => n(yes),Goto(other,5,start)
[other]
exten => 5,1,Set(R=wrong)
 same => n(start),Set(R=${CONTEXT}/${EXTEN}/${PRIORITY})
 same => n,Goto(+2)
 same => n,Set(R=skipped)
 same => n,Set(S=done)
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("R"), "other/5/2")
        self.assertEqual(channel.getVariable("S"), "done")

    def test_gotoUnknownLabelHangsUp(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,Goto(nolabel)\n same => n,Set(N=1)\n")
        channel, _ = call(pbx, tech, "1")
        self.assertTrue(channel.isHungUp)
        self.assertIsNone(channel.getVariable("N"))

    def test_setFunctionGlobalAndMSet(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Set(GLOBAL(G)=gv)
 same => n,MSet(A=1,B=2)
 same => n,Set(LOCAL(x)=1)
 same => n,Set(C=${G}${A}${B})
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(pbx.globals["G"], "gv")
        self.assertEqual(channel.getVariable("C"), "gv12")

    def test_maxcalls(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,Wait(5)\n", settings={"maxcalls": 2})
        first, r1 = call(pbx, tech, "1")
        second, r2 = call(pbx, tech, "1")
        third, r3 = call(pbx, tech, "1")
        self.assertEqual(self.successResultOf(r1), PBXResult.SUCCESS)
        self.assertEqual(self.successResultOf(r2), PBXResult.SUCCESS)
        self.assertEqual(self.successResultOf(r3), PBXResult.CALL_LIMIT)
        self.assertTrue(third.isHungUp)
        self.assertEqual(third.hangupCause, HangupCause.SWITCH_CONGESTION)
        self.assertEqual(pbx.engine.activeCalls, 2)
        pbx.reactor.advance(5)
        self.assertEqual(pbx.engine.activeCalls, 0)
        fourth, r4 = call(pbx, tech, "1")
        self.assertEqual(self.successResultOf(r4), PBXResult.SUCCESS)

    def test_answerBusyCongestionProgressRinging(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Progress()
 same => n,Ringing()
 same => n,Busy(2)
exten => 2,1,Congestion(1)
exten => 3,1,Answer()
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.driver.indications,
                         [Control.PROGRESS, Control.RINGING, Control.BUSY])
        self.assertFalse(channel.isHungUp)
        pbx.reactor.advance(2)
        self.assertTrue(channel.isHungUp)
        self.assertEqual(channel.hangupCause, HangupCause.USER_BUSY)
        channel, _ = call(pbx, tech, "2")
        pbx.reactor.advance(1)
        self.assertEqual(channel.hangupCause, HangupCause.NORMAL_CIRCUIT_CONGESTION)
        channel, _ = call(pbx, tech, "3")
        self.assertEqual(channel.driver.answered, 1)
        self.assertIsNotNone(channel.answerTime)
        states = [e.get("ChannelStateDesc") for e in pbx.eventsNamed("Newstate")]
        self.assertIn("Up", states)
        self.assertIn("Busy", states)

    def test_waitExtenCollectsDigits(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => s,1,WaitExten(5)
exten => 12,1,Set(GOT=12)
exten => 123,1,Set(GOT=123)
exten => t,1,Set(GOT=timeout)
""")
        channel, _ = call(pbx, tech, "s")
        channel.frameReceived(dtmfFrame("1"))
        channel.frameReceived(dtmfFrame("2"))
        self.assertIsNone(channel.getVariable("GOT"))
        pbx.reactor.advance(5)  # digit timeout: 12 is complete
        self.assertEqual(channel.getVariable("GOT"), "12")
        channel, _ = call(pbx, tech, "s")
        pbx.reactor.advance(5)
        self.assertEqual(channel.getVariable("GOT"), "timeout")

    def test_waitDigit(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,WaitDigit(3,59)\n same => n,Wait(10)\n")
        channel, _ = call(pbx, tech, "1")
        channel.frameReceived(dtmfFrame("1"))
        channel.frameReceived(dtmfFrame("5"))
        self.assertEqual(channel.getVariable("WAITDIGITSTATUS"), "DTMF")
        self.assertEqual(channel.getVariable("WAITDIGITRESULT"), "5")
        channel, _ = call(pbx, tech, "1")
        pbx.reactor.advance(3)
        self.assertEqual(channel.getVariable("WAITDIGITSTATUS"), "TIMEOUT")

    def test_gotoIfTime(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,GotoIfTime(*,*,*,*?yes,1:no,1)
exten => yes,1,Set(R=yes)
exten => no,1,Set(R=no)
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("R"), "yes")

    def test_reloadMidCallUsesNewDialplan(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,Wait(1)\n same => n,Set(V=old)\n")
        channel, _ = call(pbx, tech, "1")
        from pbxcore.config import parseText
        from pbxcore.dialplan.parser import parseDialplan
        pbx.dialplan = parseDialplan(parseText("[default]\nexten => 1,1,Wait(1)\n"
                                               " same => n,Set(V=new)\n"))
        pbx.reactor.advance(1)
        self.assertEqual(channel.getVariable("V"), "new")

    def test_variableInheritance(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,NoOp()\n")
        parent = tech.inbound(pbx)
        parent.setVariable("_ONCE", "1")
        parent.setVariable("__ALWAYS", "2")
        parent.setVariable("PLAIN", "3")
        child = pbx.requestChannel("Test", "x", None, parent)
        grandchild = pbx.requestChannel("Test", "y", None, child)
        self.assertEqual(child.getVariable("ONCE"), "1")
        self.assertEqual(child.getVariable("ALWAYS"), "2")
        self.assertIsNone(child.getVariable("PLAIN"))
        self.assertIsNone(grandchild.getVariable("ONCE"))
        self.assertEqual(grandchild.getVariable("ALWAYS"), "2")
        self.assertEqual(child.linkedid, parent.linkedid)
        self.assertEqual(pbx.registrar("chan_test").useCount, 3)
        child.hangup()
        self.assertEqual(pbx.registrar("chan_test").useCount, 2)


class ChannelStateTests(TestCase):

    def test_stateEvents(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,NoOp()\n")
        channel = tech.inbound(pbx)
        newchannel = pbx.eventsNamed("Newchannel")[0]
        self.assertEqual(newchannel.get("Channel"), channel.name)
        self.assertEqual(newchannel.get("ChannelState"), "4")
        self.assertEqual(newchannel.get("ChannelStateDesc"), "Ring")
        self.assertEqual(newchannel.get("CallerIDNum"), "<unknown>")
        self.assertRegex(channel.name, r"^Test/caller-[0-9a-f]{8}$")
        channel.setState(ChannelState.UP)
        self.assertEqual(pbx.eventsNamed("Newstate")[-1].get("ChannelStateDesc"), "Up")
