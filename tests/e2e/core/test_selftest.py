"""
The dialplan self-test: tests/data/selftest/etc/extensions.conf runs numbered
cases (patterns, expressions, functions, DB, device states, Gosub, While ...)
on a real PBX through a Local channel, and reports with one UserEvent.
"""

from twisted.internet import defer, reactor
from twisted.trial import unittest

from tests.e2e.core.helpers import originate, startPBX

#: A safety bound for the whole run; it normally takes milliseconds.
RUN_BOUND = 30


class DialplanSelfTest(unittest.TestCase):
    @defer.inlineCallbacks
    def test_selftest(self):
        pbx = yield startPBX(self)
        result = defer.Deferred()
        trail = []

        def watch(event):
            if event.name == "NewExten":
                trail.append("{}@{}:{} {}({})".format(
                    event.get("Exten"), event.get("Context"), event.get("Priority"),
                    event.get("Application"), event.get("AppData")))
            elif event.name == "UserEvent" and event.get("UserEvent") == "TestResult":
                if not result.called:
                    result.callback(event)

        self.addCleanup(pbx.events.subscribe(watch))
        result.addTimeout(RUN_BOUND, reactor)
        response = yield originate(pbx, "s@selftest", application="Wait", data="60",
                                   timeout=5)
        self.assertEqual(response["Response"], "Success", response)
        try:
            event = yield result
        except defer.TimeoutError:
            self.fail("no TestResult within the bound; last steps:\n" + "\n".join(trail[-15:]))
        fields = dict(event.fields)
        self.assertEqual(
            fields.get("Result"), "Success",
            "self-test case {} failed: {}".format(fields.get("Test"), fields.get("Detail")))
        self.assertEqual(fields.get("Tests"), "12")
        # The test really walked through the cases.
        self.assertTrue(any("selftest-fact" in step for step in trail))
