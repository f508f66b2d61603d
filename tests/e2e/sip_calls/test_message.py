"""
Out-of-dialog MESSAGE: a SIPp sender reaches the dialplan, which reads
MESSAGE(body) and MESSAGE(from) and sends a reply to carol with MessageSend.
"""

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from tests.e2e.sip_calls.support import check, freePort, sipp, startPBX, waitBound


class MessageTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_messageToTheDialplanAndMessageSend(self):
        carolPort = freePort()
        pbx, port = yield startPBX(self, carolPort=carolPort)
        carol = sipp("uas_message.xml", localPort=carolPort)
        yield waitBound(carolPort)
        sender = yield sipp("uac_message.xml", port, service="msg")
        check(self, sender, "sender")
        check(self, (yield carol), "carol")
        for _ in range(50):
            if "MSGSTATUS" in pbx.globals:
                break
            yield task.deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(pbx.globals.get("MSGSTATUS"), "SUCCESS")

    @defer.inlineCallbacks
    def test_messageToAMissingExtension(self):
        pbx, port = yield startPBX(self)
        code, output = yield sipp("uac_message.xml", port, service="nosuch")
        self.assertNotEqual(code, 0)
        self.assertIn("404", output)
