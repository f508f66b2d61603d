"""CDRs from real channels and the real dialplan engine, on a Clock."""

import os
import sqlite3

from twisted.trial import unittest

from pbxcore.store.cdr import CDREngine
from pbxcore.config import parseText
from pbxcore.dialplan.parser import parseDialplan
from pbxcore.frame import HangupCause
from pbxcore import testing
from tests.shell.store.fakes import makeTempDir

DIALPLAN = """
[default]
exten => 100,1,Answer()
 same => n,Wait(3)
 same => n,Hangup()
exten => 200,1,Busy()
"""


class EngineCDRTests(unittest.TestCase):
    def setUp(self):
        self.dir = makeTempDir(self)
        self.pbx = testing.FakePBX(dataDir=self.dir, configDir=self.dir)
        self.pbx.dialplan = parseDialplan(parseText(DIALPLAN))
        self.tech = testing.TestTechnology.install(self.pbx)
        self.cdr = CDREngine(self.pbx, os.path.join(self.dir, "cdr.sqlite3"), unanswered=True)
        self.pbx.cdr = self.cdr
        self.cdr.start()
        self.pbx.reactor.advance(1000)

    def rows(self):
        connection = sqlite3.connect(self.cdr.path)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in connection.execute("SELECT * FROM cdr")]
        finally:
            connection.close()

    def test_answeredCallFollowsTheClock(self):
        caller = self.tech.inbound(self.pbx, exten="100", callerNumber="555", callerName="Bob")
        self.pbx.runDialplan(caller)
        for _ in range(10):
            self.pbx.reactor.advance(1)
        self.successResultOf(self.cdr.stop())
        rows = self.rows()
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual((row["channel"], row["src"], row["clid"], row["dst"], row["dcontext"]),
                         (caller.name, "555", '"Bob" <555>', "100", "default"))
        self.assertEqual((row["disposition"], row["billsec"], row["duration"], row["lastapp"]),
                         ("ANSWERED", 3, 3, "Hangup"))
        self.assertEqual(row["uniqueid"], caller.uniqueid)

    def test_busyUnanswered(self):
        caller = self.tech.inbound(self.pbx, exten="200", callerNumber="555")
        self.pbx.runDialplan(caller)
        self.pbx.reactor.advance(2)
        # The caller hears the busy tone and hangs up.
        caller.hungUp(HangupCause.NORMAL_CLEARING)
        for _ in range(5):
            self.pbx.reactor.advance(1)
        self.successResultOf(self.cdr.stop())
        rows = self.rows()
        self.assertEqual([(r["disposition"], r["answer"], r["lastapp"]) for r in rows],
                         [("BUSY", "", "Busy")])
