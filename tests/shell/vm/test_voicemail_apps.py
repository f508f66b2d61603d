"""VoiceMail and VoiceMailMain over a Test channel with DTMF and voice frames."""

import os
import wave

from twisted.trial.unittest import TestCase

from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan

from plugins.app_voicemail import tone

from .support import goertzel, heard, makePBX, press, run, speak, toneSlin


class VoiceMailTests(TestCase):

    def setUp(self):
        self.pbx, self.tech, self.service = makePBX(self.mktemp(), test=self)
        self.store = self.service.store

    def leaveMessage(self, exten="1001", seconds=2, end="#"):
        caller = self.tech.inbound(self.pbx, exten=exten, callerNumber="2000",
                                   callerName="Bob")
        self.pbx.runDialplan(caller)
        run(self.pbx, 1.0)  # greeting prompts (none installed) and the beep
        speak(self.pbx, caller, toneSlin(440, seconds * 1000))
        if end:
            press(self.pbx, caller, end)
        return caller

    def test_messageStoredWithToneAndMetadata(self):
        caller = self.leaveMessage()
        self.assertEqual(caller.getVariable("DONE"), "SUCCESS")
        self.assertTrue(caller.isHungUp)
        self.assertEqual(self.store.counts("default", "1001"), (1, 0))
        [info] = self.store.messages("default", "1001")
        self.assertEqual(info.callerid, '"Bob" <2000>')
        self.assertEqual(info.duration, 2)
        self.assertEqual(info.exten, "1001")
        audio = self.store.readAudio(info)
        self.assertGreater(goertzel(audio, 440), 0.8)
        self.assertLess(goertzel(audio, 1000), 0.05)
        # the caller heard the beep before recording
        self.assertGreater(goertzel(heard(caller)[:2000], 1000), 0.8)
        [event] = self.pbx.eventsNamed("MessageWaiting")
        self.assertEqual(dict(event.fields), {"Mailbox": "1001@default", "Waiting": "1",
                                              "New": "1", "Old": "0"})

    def test_silenceEndsRecordingAndIsTrimmed(self):
        caller = self.leaveMessage(seconds=2, end="")
        speak(self.pbx, caller, b"\x00\x00" * 8000 * 4)  # 4 s of silence, maxsilence 3
        run(self.pbx, 1.0)
        [info] = self.store.messages("default", "1001")
        self.assertEqual(len(self.store.readAudio(info)), 2 * 16000)

    def test_hangupWhileRecordingKeepsMessage(self):
        caller = self.leaveMessage(seconds=2, end="")
        caller.hungUp()
        run(self.pbx, 0.1)
        self.assertEqual(self.store.counts("default", "1001"), (1, 0))

    def test_tooShortDiscarded(self):
        caller = self.leaveMessage(seconds=0, end="#")
        self.assertEqual(caller.getVariable("DONE"), "FAILED")
        self.assertEqual(self.store.counts("default", "1001"), (0, 0))

    def test_unknownMailboxFails(self):
        self.pbx.dialplan = parseDialplan(parseText(
            "[default]\nexten => 1,1,VoiceMail(9999)\n same => n,Set(S=${VMSTATUS})\n"))
        caller = self.tech.inbound(self.pbx, exten="1")
        self.pbx.runDialplan(caller)
        run(self.pbx, 0.1)
        self.assertEqual(caller.getVariable("S"), "FAILED")

    def test_zeroDuringGreetingGoesToOperator(self):
        # a recorded busy greeting the caller interrupts with 0
        path = os.path.join(self.store.mailboxPath("default", "1002"), "busy.wav")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(toneSlin(500, 2000))
        caller = self.tech.inbound(self.pbx, exten="1002")
        self.pbx.runDialplan(caller)
        run(self.pbx, 0.5)
        press(self.pbx, caller, "0")
        self.assertEqual(caller.getVariable("OPERATOR"), "yes")
        self.assertEqual(caller.getVariable("VMSTATUS"), "USEREXIT")
        self.assertGreater(goertzel(heard(caller), 500), 0.8)


class VoiceMailMainTests(TestCase):

    def setUp(self):
        self.pbx, self.tech, self.service = makePBX(self.mktemp(), test=self)
        self.store = self.service.store
        self.store.save("default", "1001", toneSlin(440, 1000), callerid="2000")
        self.store.save("default", "1001", toneSlin(700, 1000), callerid="2001")

    def login(self, exten="8500", digits="1234#"):
        caller = self.tech.inbound(self.pbx, exten=exten)
        self.pbx.runDialplan(caller)
        run(self.pbx, 0.1)
        press(self.pbx, caller, digits)
        return caller

    def test_wrongPinThreeTimesHangsUp(self):
        caller = self.login(digits="1111#")
        press(self.pbx, caller, "2222#")
        press(self.pbx, caller, "3333#")
        run(self.pbx, 0.5)
        self.assertTrue(caller.isHungUp)
        self.assertIsNone(caller.getVariable("VMMAILBOX"))

    def test_listenMovesToOldAndDeleteClearsWaiting(self):
        caller = self.login()
        self.assertEqual(caller.getVariable("VMMAILBOX"), "1001@default")
        caller.driver.written.clear()
        press(self.pbx, caller, "1", gap=1.5)  # first message plays, then is Old
        self.assertGreater(goertzel(heard(caller), 440), 0.8)
        self.assertEqual(self.store.counts("default", "1001"), (1, 1))
        caller.driver.written.clear()
        press(self.pbx, caller, "6", gap=1.5)  # next message
        self.assertGreater(goertzel(heard(caller), 700), 0.8)
        self.assertEqual(self.store.counts("default", "1001"), (0, 2))
        waiting = self.pbx.eventsNamed("MessageWaiting")[-1]
        self.assertEqual(waiting.get("Waiting"), "0")
        press(self.pbx, caller, "7")  # delete the second
        self.assertEqual(self.store.counts("default", "1001"), (0, 1))
        caller.driver.written.clear()
        press(self.pbx, caller, "5", gap=1.5)  # repeat: now the first one
        self.assertGreater(goertzel(heard(caller), 440), 0.8)
        press(self.pbx, caller, "4")  # no previous
        press(self.pbx, caller, "7#")
        self.assertEqual(self.store.counts("default", "1001"), (0, 0))
        run(self.pbx, 0.5)
        self.assertTrue(caller.isHungUp)

    def test_interruptAndSaveToFolder(self):
        caller = self.login()
        press(self.pbx, caller, "1", gap=0.3)
        press(self.pbx, caller, "93")  # save to Family, interrupting playback
        self.assertEqual(self.store.count("default", "1001", "Family"), 1)
        self.assertEqual(self.store.counts("default", "1001"), (1, 0))
        press(self.pbx, caller, "23", gap=0.5)  # change to Family
        caller.driver.written.clear()
        press(self.pbx, caller, "5", gap=1.5)
        self.assertGreater(goertzel(heard(caller), 440), 0.8)

    def test_mailboxAskedWhenNotGiven(self):
        caller = self.login(exten="8501", digits="1002#")
        press(self.pbx, caller, "4321#")
        self.assertEqual(caller.getVariable("VMMAILBOX"), "1002@default")
        press(self.pbx, caller, "#")
        run(self.pbx, 0.5)
        self.assertTrue(caller.isHungUp)

    def test_idleMenuHangsUp(self):
        caller = self.login()
        run(self.pbx, 20)
        self.assertTrue(caller.isHungUp)


def test_toneIsAudible():
    assert goertzel(tone(1000, 100), 1000) > 0.9
