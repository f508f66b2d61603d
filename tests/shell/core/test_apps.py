"""The bundled applications: Gosub, While, ExecIf, UserEvent, Playback, Read, Echo ..."""

import os

from twisted.trial.unittest import TestCase

from pbxcore.frame import FrameKind, dtmfFrame, voiceFrame

from .support import call, makePBX, writeWav


class StackTests(TestCase):

    def test_gosubArgsLocalAndReturn(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Set(X=outer)
 same => n,Gosub(sub,s,1(a,b))
 same => n,Set(R1=${GOSUB_RETVAL}/${X}/${ARG1})
 same => n,GosubIf($[1 = 1]?sub,s,1(only):sub,s,1(no))
 same => n,Set(R2=${GOSUB_RETVAL})
[sub]
exten => s,1,Set(LOCAL(X)=inner-${ARG1}${ARG2})
 same => n,Return(${X})
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("R1"), "inner-ab/outer/")
        self.assertEqual(channel.getVariable("R2"), "inner-only")
        self.assertEqual(channel.datastores["gosub_stack"], [])

    def test_nestedGosubMasksOuterArgs(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Gosub(outer,1(x,y))
[default]
exten => outer,1,Gosub(inner,1(z))
 same => n,Set(BACK=${ARG1}${ARG2})
 same => n,Return()
exten => inner,1,Set(IN=${ARG1}-${ARG2})
 same => n,Return()
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("IN"), "z-")
        self.assertEqual(channel.getVariable("BACK"), "xy")

    def test_depthLimit(self):
        pbx, tech = makePBX(test=self, settings={"maxgosubdepth": 10}, dialplan="""
[default]
exten => 1,1,Set(N=$[${N} + 1])
 same => n,Gosub(1,1)
""")
        pbx.globals["N"] = "0"
        channel, _ = call(pbx, tech, "1")
        self.assertTrue(channel.isHungUp)
        self.assertEqual(len(channel.datastores["gosub_stack"]), 10)
        self.assertEqual(channel.getVariable("N"), "11")

    def test_returnWithoutGosubHangsUp(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,Return()\n"
                            " same => n,Set(N=1)\n")
        channel, _ = call(pbx, tech, "1")
        self.assertIsNone(channel.getVariable("N"))
        self.assertTrue(channel.isHungUp)

    def test_stackPop(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Gosub(s,1(q))
 same => n,Set(NOTREACHED=1)
exten => s,1,StackPop()
 same => n,Set(A=${ARG1})
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("A"), "")
        self.assertIsNone(channel.getVariable("NOTREACHED"))


class WhileTests(TestCase):

    def test_whileLoopWithExitAndContinue(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Set(I=0)
 same => n,Set(OUT=)
 same => n,While($[${I} < 10])
 same => n,Set(I=$[${I} + 1])
 same => n,ExecIf($[${I} = 2]?ContinueWhile())
 same => n,ExecIf($[${I} = 5]?ExitWhile():NoOp(${I}))
 same => n,Set(OUT=${OUT}${I})
 same => n,EndWhile()
 same => n,Set(DONE=${I})
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("OUT"), "134")
        self.assertEqual(channel.getVariable("DONE"), "5")

    def test_nestedWhile(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,Set(I=0)
 same => n,Set(N=0)
 same => n,While($[${I} < 3])
 same => n,Set(I=$[${I} + 1])
 same => n,Set(J=0)
 same => n,While($[${J} < 2])
 same => n,Set(J=$[${J} + 1])
 same => n,Set(N=$[${N} + 1])
 same => n,EndWhile()
 same => n,EndWhile()
 same => n,Set(DONE=${N})
""")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.getVariable("DONE"), "6")

    def test_falseFirstTimeSkipsBody(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,While(0)
 same => n,Set(BODY=1)
 same => n,EndWhile()
 same => n,Set(AFTER=1)
""")
        channel, _ = call(pbx, tech, "1")
        self.assertIsNone(channel.getVariable("BODY"))
        self.assertEqual(channel.getVariable("AFTER"), "1")


class MiscAppTests(TestCase):

    def test_userEvent(self):
        pbx, tech = makePBX(test=self, dialplan="""
[default]
exten => 1,1,UserEvent(Hello,Who: ${EXTEN},Level: 3)
 same => n,Verbose(2,verbose ok)
 same => n,Log(NOTICE,log ok)
 same => n,Log(BOGUS,ignored)
""")
        channel, _ = call(pbx, tech, "1")
        event = pbx.eventsNamed("UserEvent")[0]
        self.assertEqual(event.category, "user")
        self.assertEqual((event.get("UserEvent"), event.get("Who"), event.get("Level")),
                         ("Hello", "1", "3"))
        self.assertEqual(event.get("Channel"), channel.name)

    def test_execIfUnknownAppHangsUp(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,ExecIf(1?Nope())\n"
                            " same => n,Set(N=1)\n")
        channel, _ = call(pbx, tech, "1")
        self.assertIsNone(channel.getVariable("N"))

    def test_echoUntilHash(self):
        pbx, tech = makePBX(test=self, dialplan="[default]\nexten => 1,1,Answer()\n"
                            " same => n,Echo()\n same => n,Set(OUT=1)\n")
        channel, _ = call(pbx, tech, "1")
        channel.frameReceived(voiceFrame("ulaw", b"\x05" * 160))
        channel.frameReceived(dtmfFrame("1"))
        self.assertIsNone(channel.getVariable("OUT"))
        channel.frameReceived(dtmfFrame("#"))
        self.assertEqual(channel.driver.digits, ["1", "#"])
        self.assertEqual(channel.driver.written[0].data, b"\x05" * 160)
        self.assertEqual(channel.getVariable("OUT"), "1")


class MediaAppTests(TestCase):

    def setUp(self):
        self.sounds = self.mktemp()
        writeWav(os.path.join(self.sounds, "en", "hello.wav"), b"\x00\x01" * 8000)  # 1 s
        for d in range(10):
            writeWav(os.path.join(self.sounds, "en", "digits", f"{d}.wav"), b"\x00\x00" * 800)
        for name in ("20", "hundred", "thousand"):
            writeWav(os.path.join(self.sounds, "en", "digits", f"{name}.wav"), b"\x00\x00" * 800)

    def make(self, dialplan):
        return makePBX(test=self, dialplan=dialplan, settings={"astsoundsdir": self.sounds})

    def test_playbackPacedInRealTime(self):
        pbx, tech = self.make("[default]\nexten => 1,1,Playback(hello&missing)\n"
                              " same => n,Set(S=${PLAYBACKSTATUS})\n")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.driver.answered, 1)
        voice = lambda: [f for f in channel.driver.written if f.kind is FrameKind.VOICE]
        self.assertEqual(len(voice()), 1)
        pbx.reactor.advance(0.5)
        self.assertEqual(len(voice()), 26)
        pbx.reactor.pump([0.02] * 30)
        self.assertEqual(len(voice()), 50)
        # 16-bit WAV converted to the Test channel's native u-law
        self.assertEqual(voice()[0].subclass, "ulaw")
        self.assertEqual(len(voice()[0].data), 160)
        self.assertEqual(channel.getVariable("S"), "FAILED")

    def test_playbackKeepsFormatTheChannelTakes(self):
        pbx, tech = self.make("[default]\nexten => 1,1,Playback(hello,noanswer)\n")
        channel = tech.inbound(pbx, exten="1")
        channel.nativeFormats = ("slin", "ulaw")
        pbx.runDialplan(channel)
        self.assertEqual(channel.driver.answered, 0)
        frame = channel.driver.written[0]
        self.assertEqual((frame.subclass, len(frame.data)), ("slin", 320))
        self.assertEqual(frame.data[:4], b"\x00\x01\x00\x01")

    def test_playbackNoanswerAndSkip(self):
        pbx, tech = self.make("[default]\nexten => 1,1,Playback(hello,skip)\n"
                              " same => n,Set(S=${PLAYBACKSTATUS})\n")
        channel, _ = call(pbx, tech, "1")
        self.assertEqual(channel.driver.answered, 0)
        self.assertEqual(channel.driver.written, [])
        self.assertEqual(channel.getVariable("S"), "SUCCESS")

    def test_readWithPromptInterrupted(self):
        pbx, tech = self.make("[default]\nexten => 1,1,Read(PIN,hello,4)\n"
                              " same => n,Set(S=${READSTATUS})\n")
        channel, _ = call(pbx, tech, "1")
        pbx.reactor.advance(0.1)
        for d in "12":
            channel.frameReceived(dtmfFrame(d))
        written = len(channel.driver.written)
        pbx.reactor.advance(0.5)
        self.assertEqual(len(channel.driver.written), written)  # prompt stopped
        for d in "34":
            channel.frameReceived(dtmfFrame(d))
        self.assertEqual(channel.getVariable("PIN"), "1234")
        self.assertEqual(channel.getVariable("S"), "OK")

    def test_readHashAndTimeout(self):
        pbx, tech = self.make("[default]\nexten => 1,1,Read(V,,,,2,3)\n"
                              " same => n,Set(S=${READSTATUS})\n"
                              "exten => 2,1,Read(V,,,,,2)\n same => n,Set(S=${READSTATUS})\n")
        channel, _ = call(pbx, tech, "1")
        channel.frameReceived(dtmfFrame("9"))
        channel.frameReceived(dtmfFrame("#"))
        self.assertEqual((channel.getVariable("V"), channel.getVariable("S")), ("9", "OK"))
        channel, _ = call(pbx, tech, "2")
        pbx.reactor.advance(2)
        self.assertEqual((channel.getVariable("V"), channel.getVariable("S")), ("", "TIMEOUT"))

    def test_backgroundDigitJumps(self):
        pbx, tech = self.make("""
[default]
exten => s,1,Background(hello)
 same => n,Set(FELL=through)
exten => 7,1,Set(GOT=7)
""")
        channel, _ = call(pbx, tech, "s")
        pbx.reactor.advance(0.2)
        channel.frameReceived(dtmfFrame("7"))
        self.assertEqual(channel.getVariable("GOT"), "7")
        self.assertIsNone(channel.getVariable("FELL"))
        channel, _ = call(pbx, tech, "s")
        pbx.reactor.pump([0.02] * 60)
        self.assertEqual(channel.getVariable("FELL"), "through")

    def test_sayNumberAndDigits(self):
        pbx, tech = self.make("[default]\nexten => 1,1,SayNumber(1205)\n"
                              " same => n,SayDigits(42)\n same => n,Set(DONE=1)\n")
        channel, _ = call(pbx, tech, "1")
        pbx.reactor.pump([0.02] * 100)
        # 1 thousand 2 hundred 5, then 4 2: seven prompts of 0.1 s = 35 frames
        voice = [f for f in channel.driver.written if f.kind is FrameKind.VOICE]
        self.assertEqual(len(voice), 35)
        self.assertEqual(channel.getVariable("DONE"), "1")
