"""AstDB: the mirror, the SQLite file and the single writer thread."""

import os
import sqlite3

from twisted.internet import defer
from twisted.trial import unittest

from pbxcore.store.astdb import AstDB, DatabaseDeltree, DatabaseShow, parseFamilyKey, register
from pbxcore.errors import CLIUsageError
from tests.shell.store.fakes import RecordingRegistrar, makeTempDir


def rowsOf(path):
    connection = sqlite3.connect(path)
    try:
        return dict(connection.execute("SELECT key, value FROM astdb").fetchall())
    finally:
        connection.close()


class StoppedReactor:
    running = False


class AstDBTests(unittest.TestCase):
    def setUp(self):
        self.path = os.path.join(makeTempDir(self), "astdb.sqlite3")
        self.db = AstDB(self.path)
        self.db.open()
        self.addCleanup(self.db.close)

    def test_putGetDelete(self):
        self.assertIsNone(self.db.get("cidname", "1001"))
        self.db.put("cidname", "1001", "Alice")
        self.assertEqual(self.db.get("cidname", "1001"), "Alice")
        self.assertTrue(self.db.exists("cidname", "1001"))
        self.assertTrue(self.db.delete("cidname", "1001"))
        self.assertFalse(self.db.delete("cidname", "1001"))
        self.assertIsNone(self.db.get("cidname", "1001"))

    def test_deltreeFamilyAndKeytree(self):
        for key in ("a", "b/c", "b/d", "bx"):
            self.db.put("fam", key, key.upper())
        self.db.put("famous", "x", "1")
        self.assertEqual(self.db.deltree("fam", "b"), 2)
        self.assertEqual(self.db.keys("fam"), ["a", "bx"])
        self.assertEqual(self.db.deltree("fam"), 2)
        # A family that merely starts with the same letters is untouched.
        self.assertEqual(self.db.get("famous", "x"), "1")
        self.assertEqual(self.db.deltree("nothing"), 0)

    def test_keysAndShow(self):
        self.db.put("a", "b", "1")
        self.db.put("a", "c/d", "2")
        self.db.put("z", "y", "3")
        self.assertEqual(self.db.keys("a"), ["b", "c"])
        self.assertEqual(self.db.keys(), ["a", "z"])
        self.assertEqual(self.db.showAll("a"), [("/a/b", "1"), ("/a/c/d", "2")])
        self.assertEqual(self.db.showAll("/a/c"), [("/a/c/d", "2")])
        self.assertEqual(len(self.db.showAll()), 3)

    @defer.inlineCallbacks
    def test_writesReachTheFile(self):
        self.db.put("f", "k", "v")
        self.db.put("f", "gone", "x")
        self.db.delete("f", "gone")
        yield self.db.flush()
        self.assertEqual(rowsOf(self.path), {"/f/k": "v"})

    @defer.inlineCallbacks
    def test_closeFlushesEverythingAndReopenRestores(self):
        for i in range(500):
            self.db.put("bulk", str(i), f"value{i}")
        self.db.deltree("bulk", "1")
        yield self.db.close()
        rows = rowsOf(self.path)
        self.assertEqual(len(rows), 499)
        again = AstDB(self.path)
        again.open()
        self.addCleanup(again.close)
        self.assertEqual(again.get("bulk", "499"), "value499")
        self.assertIsNone(again.get("bulk", "1"))
        self.assertEqual(len(again), 499)

    def test_walMode(self):
        connection = sqlite3.connect(self.path)
        self.addCleanup(connection.close)
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        self.assertEqual(mode, "wal")

    @defer.inlineCallbacks
    def test_writeAfterCloseRefused(self):
        yield self.db.close()
        self.assertRaises(RuntimeError, self.db.put, "a", "b", "c")

    def test_cliCommands(self):
        self.db.put("a", "b", "1")
        pbx = type("P", (), {"astdb": self.db})()
        out = DatabaseShow().execute(pbx, ["a"])
        self.assertIn("/a/b", out)
        self.assertIn("1 results found.", out)
        self.assertIn("1 database entries removed.", DatabaseDeltree().execute(pbx, ["a"]))
        self.assertRaises(CLIUsageError, DatabaseDeltree().execute, pbx, [])
        registrar = RecordingRegistrar()
        register(registrar)
        names = {obj.name for kind, obj in registrar.registered}
        self.assertIn("database show", names)


class SynchronousAstDBTests(unittest.SynchronousTestCase):
    """Without a running reactor, flush and close wait in the caller's thread."""

    def test_writesWithoutReactor(self):
        path = os.path.join(makeTempDir(self), "db.sqlite3")
        db = AstDB(path, reactor=StoppedReactor())
        db.open()
        db.put("f", "k", "v")
        # Without a running reactor, flush waits for the writer in place.
        self.assertIsNone(self.successResultOf(db.flush()))
        self.assertEqual(rowsOf(path), {"/f/k": "v"})
        for i in range(100):
            db.put("g", str(i), "x")
        self.assertIsNone(self.successResultOf(db.close()))
        self.assertEqual(len(rowsOf(path)), 101)

    def test_memoryOnly(self):
        db = AstDB(None)
        db.put("f", "k", "v")
        self.assertEqual(db.get("f", "k"), "v")
        self.assertIsNone(self.successResultOf(db.close()))


def test_parseFamilyKey():
    assert parseFamilyKey("cidname/1001") == ("cidname", "1001")
    assert parseFamilyKey("a/b/c") == ("a", "b/c")
    for bad in ("", "nokey", "/x", "x/"):
        try:
            parseFamilyKey(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)
