"""
CDRs after real calls: Local channels running Dial() to Test technology
legs that answer, are busy or never answer; rows read back from the SQLite
file after a clean shutdown.
"""

import os
import sqlite3

from twisted.internet import defer, reactor
from twisted.trial import unittest

from tests.e2e.core.helpers import installTestTechnology, originate, startPBX

#: A safety bound per call; the calls take about two seconds in all.
CALL_BOUND = 20


def readRows(path):
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM cdr ORDER BY AcctId")]
    finally:
        connection.close()


class CDRCallTests(unittest.TestCase):
    @defer.inlineCallbacks
    def test_answeredBusyNoAnswer(self):
        pbx = yield startPBX(self)
        self.assertIsNotNone(pbx.cdr)
        installTestTechnology(pbx)
        path = pbx.cdr.path
        deviceStates = []
        self.addCleanup(pbx.events.subscribe(
            lambda e: deviceStates.append((e.get("Device"), e.get("State")))
            if e.name == "DeviceStateChange" else None))
        self.assertEqual(path, os.path.join(pbx.dataDir, "cdr.sqlite3"))

        for exten in ("answered", "busy", "noanswer"):
            finished = defer.Deferred()

            def watch(event, exten=exten, finished=finished):
                if (event.name == "Cdr" and event.get("DestinationContext") == "cdrtest"
                        and event.get("Channel", "").endswith(";2")
                        and not finished.called):
                    finished.callback(event)

            unsubscribe = pbx.events.subscribe(watch)
            finished.addTimeout(CALL_BOUND, reactor)
            yield originate(pbx, f"{exten}@cdrtest", application="Wait", data="10",
                            timeout=10, callerID=("Caller", "5000"))
            yield finished
            unsubscribe()

        # The called device was in use during its call and idle afterwards.
        alice = [state for device, state in deviceStates if device == "Test/alice"]
        self.assertIn("INUSE", alice)
        self.assertEqual(alice[-1], "NOT_INUSE")

        yield pbx.stopNow()
        rows = readRows(path)
        legs = {r["dst"]: r for r in rows if r["channel"].endswith(";2")}
        self.assertEqual(sorted(legs), ["answered", "busy", "noanswer"])
        self.assertFalse([r for r in rows if r["channel"].startswith("Test/")],
                         "a dialed leg got a record of its own")

        answered = legs["answered"]
        self.assertEqual(answered["disposition"], "ANSWERED")
        self.assertEqual(answered["lastapp"], "Dial")
        self.assertEqual(answered["lastdata"], "Test/alice/answer:0.2/hangup:1.3,5")
        self.assertTrue(answered["dstchannel"].startswith("Test/alice-"), answered)
        self.assertEqual(answered["dcontext"], "cdrtest")
        self.assertGreaterEqual(answered["billsec"], 1)
        self.assertGreaterEqual(answered["duration"], answered["billsec"])
        self.assertNotEqual(answered["answer"], "")

        busy = legs["busy"]
        self.assertEqual((busy["disposition"], busy["billsec"], busy["answer"]), ("BUSY", 0, ""))
        self.assertTrue(busy["dstchannel"].startswith("Test/bob-"), busy)

        noanswer = legs["noanswer"]
        self.assertEqual((noanswer["disposition"], noanswer["billsec"]), ("NO ANSWER", 0))
        self.assertTrue(noanswer["dstchannel"].startswith("Test/carol-"), noanswer)

        # The ;1 halves were originated, not dialed: they have records too,
        # sharing the linkedid of their ;2 half.
        ones = [r for r in rows if r["channel"].endswith(";1")]
        self.assertEqual(len(ones), 3)
        self.assertEqual({r["src"] for r in ones}, {"5000"})
        self.assertEqual({r["clid"] for r in ones}, {'"Caller" <5000>'})
        linked = {r["linkedid"] for r in ones}
        self.assertEqual(linked & {r["linkedid"] for r in legs.values()}, linked)
