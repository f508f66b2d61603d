"""Message waiting over SIP: a subscriber follows VoiceMail and VoiceMailMain calls."""

import os

from twisted.internet import defer
from twisted.trial import unittest

from pbxcore.media import g711
from tests.shell.vm.support import goertzel, toneSlin

from .support import check, scenarioWithTone, sipp, sleep, startPBX


class MessageSummaryTests(unittest.TestCase):
    timeout = 90

    @defer.inlineCallbacks
    def test_voicemailRoundTripLightsAndClearsTheLamp(self):
        pbx, port = yield startPBX(self)
        tone = os.path.join(self.mktemp())
        with open(tone, "wb") as f:
            f.write(g711.encode("ulaw", toneSlin(440, 2000)))
        watcher = sipp("subscribe_mwi.xml", port, service="watcher", timeout=40)
        yield sleep(0.5)
        service = pbx.registry("voicemail")
        caller = yield sipp(scenarioWithTone(self, "caller_voicemail.xml", os.path.abspath(tone)),
                            port, service="vm", timeout=20)
        check(self, caller, "voicemail caller")
        yield sleep(0.3)
        self.assertEqual(service.store.counts("default", "1001"), (1, 0))
        [info] = service.store.messages("default", "1001")
        audio = service.store.readAudio(info)
        self.assertGreater(len(audio), 16000)
        self.assertGreater(goertzel(audio, 440), 0.5)
        main = yield sipp("caller_vmmain.xml", port, service="vmmain", timeout=20)
        check(self, main, "VoiceMailMain caller")
        check(self, (yield watcher), "watcher")
        self.assertEqual(service.store.counts("default", "1001"), (0, 0))
