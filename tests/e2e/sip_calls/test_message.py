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


class ServiceTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_serviceAnswersMessageBeforeTheDialplan(self):
        """An ISIPService in "sip.service" sees out-of-dialog MESSAGEs first."""
        from channels.sip.interfaces import SIPService

        class Refuser(SIPService):
            name = "refuser"
            methods = ("MESSAGE",)

            def __init__(self, ua):
                self.ua = ua
                self.seen = []

            def requestReceived(self, request, st):
                self.seen.append(request.body)
                self.ua.respond(st, request, 403, "Not Today")
                return True

        pbx, port = yield startPBX(self)
        stack = pbx.loader.modules["chan_sip"].module.stack
        service = Refuser(stack.userAgent)
        pbx.registry("sip.service").add(service)
        code, output = yield sipp("uac_message.xml", port, service="msg")
        self.assertNotEqual(code, 0)
        self.assertIn("403", output)
        self.assertEqual(len(service.seen), 1)
        self.assertNotIn("MSGSTATUS", pbx.globals)
