"""CDR records from synthetic event sequences, read back from SQLite."""

import os
import sqlite3

from twisted.internet import defer
from twisted.trial import unittest

from pbxcore.store.cdr import CDRBuilder, CDREngine, formatTime
from pbxcore.config import ConfigError
from tests.shell.store.fakes import StorePBX, makeTempDir

T0 = 1_700_000_000.0


def block(name, uid, state=0, exten="s", context="default", num="1001", cname="Alice",
          linkedid=None):
    return dict(Channel=name, ChannelState=str(state), CallerIDNum=num, CallerIDName=cname,
                Context=context, Exten=exten, Priority="1", Uniqueid=uid,
                Linkedid=linkedid or uid, AccountCode="")


def dialCall(pbx, status, answerAfter=None, hangupAfter=30, cause=16):
    """SIP/1001 dials 2000 -> SIP/2000; returns nothing, events only."""
    a, b = "SIP/1001-00000001", "SIP/2000-00000002"
    pbx.feed("Newchannel", T0, **block(a, "a1", 4, exten="2000"))
    pbx.feed("NewExten", T0, Application="Dial", AppData="SIP/2000,20",
             **block(a, "a1", 4, exten="2000"))
    pbx.feed("Newchannel", T0 + 1, **block(b, "b1", 0, exten="2000", num="2000", cname="",
                                           linkedid="a1"))
    pbx.feed("DialBegin", T0 + 1, DestChannel=b, DestUniqueid="b1", DialString="2000",
             **block(a, "a1", 4, exten="2000"))
    pbx.feed("Newstate", T0 + 2, **block(b, "b1", 5, linkedid="a1"))
    if answerAfter is not None:
        pbx.feed("Newstate", T0 + answerAfter, **block(b, "b1", 6, linkedid="a1"))
        pbx.feed("Newstate", T0 + answerAfter, **block(a, "a1", 6, exten="2000"))
    pbx.feed("DialEnd", T0 + (answerAfter or 20), DestChannel=b, DialStatus=status,
             **block(a, "a1", 6, exten="2000"))
    if answerAfter is not None:
        pbx.feed("BridgeEnter", T0 + answerAfter, BridgeUniqueid="br1", **block(a, "a1", 6))
        pbx.feed("BridgeEnter", T0 + answerAfter, BridgeUniqueid="br1", **block(b, "b1", 6))
        pbx.feed("BridgeLeave", T0 + hangupAfter, BridgeUniqueid="br1", **block(b, "b1", 6))
    pbx.feed("Hangup", T0 + hangupAfter, Cause=str(cause), **block(b, "b1", 6))
    if answerAfter is not None:
        pbx.feed("BridgeLeave", T0 + hangupAfter, BridgeUniqueid="br1", **block(a, "a1", 6))
    pbx.feed("NewExten", T0 + hangupAfter, Application="Hangup", AppData="",
             **block(a, "a1", 6, exten="h"))
    pbx.feed("Hangup", T0 + hangupAfter, Cause=str(cause), **block(a, "a1", 6))


def readRows(path):
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM cdr ORDER BY AcctId")]
    finally:
        connection.close()


class CDREngineTests(unittest.TestCase):
    def setUp(self):
        base = makeTempDir(self)
        self.configDir = os.path.join(base, "etc")
        self.dataDir = os.path.join(base, "data")
        os.makedirs(self.configDir)
        self.pbx = StorePBX(configDir=self.configDir, dataDir=self.dataDir)

    def writeConf(self, text):
        with open(os.path.join(self.configDir, "cdr.conf"), "w") as f:
            f.write(text)

    def startEngine(self, conf="[general]\nenable = yes\n"):
        self.writeConf(conf)
        engine = CDREngine.fromConfig(self.pbx)
        self.assertIsNotNone(engine)
        engine.start()
        return engine

    @defer.inlineCallbacks
    def test_answered(self):
        engine = self.startEngine()
        dialCall(self.pbx, "ANSWER", answerAfter=5, hangupAfter=65)
        yield engine.stop()
        rows = readRows(os.path.join(self.dataDir, "cdr.sqlite3"))
        self.assertEqual(len(rows), 1)
        row = rows[0]
        expected = {
            "clid": '"Alice" <1001>', "src": "1001", "dst": "2000", "dcontext": "default",
            "channel": "SIP/1001-00000001", "dstchannel": "SIP/2000-00000002",
            "lastapp": "Dial", "lastdata": "SIP/2000,20", "duration": 65, "billsec": 60,
            "disposition": "ANSWERED", "amaflags": "DOCUMENTATION", "uniqueid": "a1",
            "linkedid": "a1", "start": formatTime(T0), "answer": formatTime(T0 + 5),
            "end": formatTime(T0 + 65), "calldate": formatTime(T0), "userfield": "",
        }
        self.assertEqual({k: row[k] for k in expected}, expected)
        cdrs = self.pbx.named("Cdr")
        self.assertEqual(len(cdrs), 1)
        self.assertEqual(cdrs[0].category, "cdr")
        self.assertEqual(cdrs[0].get("Disposition"), "ANSWERED")
        self.assertEqual(cdrs[0].get("BillableSeconds"), "60")
        self.assertEqual(cdrs[0].get("DestinationChannel"), "SIP/2000-00000002")

    @defer.inlineCallbacks
    def test_busyAndNoAnswer(self):
        path = os.path.join(makeTempDir(self), "custom.db")
        engine = self.startEngine(f"[general]\nenable=yes\n[sqlite3]\npath={path}\n")
        dialCall(self.pbx, "BUSY", hangupAfter=3, cause=17)
        dialCall(self.pbx, "NOANSWER", hangupAfter=20, cause=16)
        yield engine.stop()
        rows = readRows(path)
        self.assertEqual([(r["disposition"], r["billsec"], r["answer"], r["duration"])
                          for r in rows],
                         [("BUSY", 0, "", 3), ("NO ANSWER", 0, "", 20)])
        self.assertEqual(rows[0]["dstchannel"], "SIP/2000-00000002")

    @defer.inlineCallbacks
    def test_openCallsLoggedAtStop(self):
        engine = self.startEngine()
        self.pbx.feed("Newchannel", T0, **block("Local/1@x-00000001;2", "l2", 6))
        self.pbx.feed("NewExten", T0, Application="Wait", AppData="10",
                      **block("Local/1@x-00000001;2", "l2", 6))
        yield engine.stop()
        rows = readRows(engine.path)
        self.assertEqual([(r["channel"], r["disposition"], r["lastapp"]) for r in rows],
                         [("Local/1@x-00000001;2", "ANSWERED", "Wait")])

    @defer.inlineCallbacks
    def test_manyRowsFlushed(self):
        engine = self.startEngine()
        for i in range(200):
            name = f"Test/x-{i:08x}"
            self.pbx.feed("Newchannel", T0, **block(name, f"u{i}", 6))
            self.pbx.feed("Hangup", T0 + 1, Cause="16", **block(name, f"u{i}", 6))
        yield engine.stop()
        self.assertEqual(len(readRows(engine.path)), 200)

    def test_disabledOrAbsent(self):
        self.assertIsNone(CDREngine.fromConfig(self.pbx))
        self.writeConf("[general]\nenable = no\n")
        self.assertIsNone(CDREngine.fromConfig(self.pbx))

    def test_badValueHasFileAndLine(self):
        self.writeConf("[general]\nenable = yes\namaflags = gold\n")
        error = self.assertRaises(ConfigError, CDREngine.fromConfig, self.pbx)
        self.assertIn("cdr.conf:3", str(error))


def feedAll(builder, events):
    from pbxcore.events import Event, normalizeFields

    out = []
    for name, ts, fields in events:
        out.extend(builder.feed(Event(name, normalizeFields(fields), "call", ts)))
    return out


def test_unansweredWithoutPartyBIsSkippedUnlessAsked():
    events = [
        ("Newchannel", T0, block("SIP/1001-00000001", "u1", 4)),
        ("NewExten", T0, dict(block("SIP/1001-00000001", "u1", 4), Application="Busy",
                              AppData="")),
        ("Hangup", T0 + 2, dict(block("SIP/1001-00000001", "u1", 4), Cause="17")),
    ]
    assert feedAll(CDRBuilder(), events) == []
    records = feedAll(CDRBuilder(unanswered=True), events)
    assert [(r.disposition, r.lastapp, r.duration) for r in records] == [("BUSY", "Busy", 2)]


def test_secondDialForksARecord():
    a = block("SIP/1001-00000001", "a1", 6)
    events = [("Newchannel", T0, a)]
    for i, status in enumerate(("BUSY", "ANSWER")):
        dest = f"SIP/200{i}-0000000{i + 2}"
        events += [
            ("Newchannel", T0 + 10 * i, block(dest, f"b{i}", 0)),
            ("DialBegin", T0 + 10 * i, dict(a, DestChannel=dest)),
            ("DialEnd", T0 + 10 * i + 5, dict(a, DestChannel=dest, DialStatus=status)),
            ("Hangup", T0 + 10 * i + 6, dict(block(dest, f"b{i}", 0), Cause="17")),
        ]
    events.append(("Hangup", T0 + 30, dict(a, Cause="16")))
    records = feedAll(CDRBuilder(), events)
    assert [(r.dstchannel, r.disposition, r.start, r.end) for r in records] == [
        ("SIP/2000-00000002", "BUSY", T0, T0 + 10),
        ("SIP/2001-00000003", "ANSWERED", T0 + 10, T0 + 30),
    ]
