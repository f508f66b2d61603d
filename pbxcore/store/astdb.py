"""
The Asterisk database (astdb): a small family/key -> value store in SQLite.

Keys are stored as C{/family/key} in an C{astdb} table, as Asterisk does, so
the dialplan's DB() function, device states of C{Custom:} devices and any
module that wants a persistent setting share one file.

Reads come from an in-memory mirror of the whole table (the store is small
and lives for the life of the PBX), so C{get} is synchronous and costs a dict
lookup. Writes update the mirror at once and are queued for a single writer
thread, batched while the previous batch is on its way to disk: the reactor
never waits for an fsync. C{close} drains the queue, so a clean shutdown
loses nothing.
"""

import os
import queue
import sqlite3
import threading

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.errors import CLIUsageError
from pbxcore.interfaces import ICLICommand

FAMILY_SEPARATOR = "/"


def _fullKey(family, key):
    return f"/{family}/{key}"


def _treePrefix(family=None, keytree=None):
    """The C{/family[/keytree]} prefix that a tree operation covers ('' = all)."""
    parts = [p.strip("/") for p in (family, keytree) if p]
    parts = [p for p in parts if p]
    return "".join("/" + p for p in parts)


def _inTree(fullKey, prefix):
    return not prefix or fullKey == prefix or fullKey.startswith(prefix + "/")


class SQLiteWriter:
    """
    Runs SQL statements on one connection from one worker thread.

    Statements queued while the worker is committing join its next
    transaction, so a burst of writes costs one commit. C{flush} fires once
    everything queued before it is committed; C{close} flushes, then closes
    the connection and ends the thread.

    Completion reaches the reactor through C{callFromThread} while it runs;
    when it does not (scripts, start-up before C{reactor.run}, a Clock in
    tests, shutdown after the reactor stopped) C{flush} and C{close} wait
    for the worker in the calling thread instead and return fired Deferreds.
    """

    log = Logger()

    def __init__(self, connection, name, reactor=None):
        self._connection = connection
        self._name = name
        self._reactor = reactor
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._closed = False

    def _getReactor(self):
        if self._reactor is None:
            from twisted.internet import reactor

            self._reactor = reactor
        return self._reactor

    def _reactorRunning(self):
        reactor = self._getReactor()
        return bool(getattr(reactor, "running", False)) and hasattr(reactor, "callFromThread")

    def _ensureThread(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()

    def execute(self, sql, params=()):
        """Queue one statement for the worker."""
        if self._closed:
            raise RuntimeError(f"{self._name} is closed")
        self._ensureThread()
        self._queue.put((sql, tuple(params)))

    # -- the worker thread ---------------------------------------------------

    def _work(self):
        while True:
            item = self._queue.get()
            batch, done, stop = [], [], None
            while True:
                if isinstance(item, tuple):
                    batch.append(item)
                elif isinstance(item, _Stop):
                    stop = item
                else:
                    done.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
            if stop is not None:
                self._connection.close()
            for signal in done:
                signal()
            if stop is not None:
                stop.signal()
                return

    def _commit(self, batch):
        try:
            with self._connection:
                for sql, params in batch:
                    self._connection.execute(sql, params)
        except Exception:
            self.log.failure("{name}: writing {count} statements failed",
                             name=self._name, count=len(batch))

    # -- completion ------------------------------------------------------------

    def _signal(self, item=None):
        """
        Queue a completion marker; returns a Deferred that fires once the
        worker has passed it.
        """
        if self._reactorRunning():
            d = Deferred()
            reactor = self._getReactor()

            def fire():
                reactor.callFromThread(d.callback, None)

            self._queue.put(_Stop(fire) if item is _Stop else fire)
            return d
        event = threading.Event()
        self._queue.put(_Stop(event.set) if item is _Stop else event.set)
        event.wait()
        if item is _Stop:
            self._thread.join()
        return succeed(None)

    def flush(self):
        """A Deferred firing once every statement queued so far is committed."""
        if self._thread is None:
            return succeed(None)
        return self._signal()

    def close(self):
        """Flush, close the connection and end the worker thread."""
        if self._closed:
            return succeed(None)
        self._closed = True
        if self._thread is None:
            self._connection.close()
            return succeed(None)
        return self._signal(_Stop)


class _Stop:
    """The last item a worker takes: close, then signal."""

    def __init__(self, signal):
        self.signal = signal


class AstDB:
    """
    The PBX's key-value store: C{family}/C{key} -> C{value}, all strings.

    Open it before use; with C{path=None} it is memory-only (tests, fakes).
    """

    log = Logger()

    def __init__(self, path=None, reactor=None):
        self.path = path
        self._reactor = reactor
        self._data = {}
        self._writer = None
        self._open = path is None

    @property
    def isOpen(self):
        return self._open

    def open(self):
        """Open (creating if needed) the SQLite file and load the mirror."""
        if self.path is None or self._writer is not None:
            self._open = True
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        connection = sqlite3.connect(self.path, check_same_thread=False,
                                     isolation_level="DEFERRED")
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            with connection:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS astdb("
                    "key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key))")
            rows = connection.execute("SELECT key, value FROM astdb").fetchall()
        except sqlite3.Error:
            connection.close()
            raise
        self._data = {k: ("" if v is None else str(v)) for k, v in rows}
        self._writer = SQLiteWriter(connection, "astdb", self._reactor)
        self._open = True
        self.log.info("astdb: {count} keys loaded from {path}",
                      count=len(self._data), path=self.path)

    def close(self):
        """Write everything still queued and close; returns a Deferred."""
        self._open = self.path is None
        writer, self._writer = self._writer, None
        if writer is None:
            return succeed(None)
        return writer.close()

    def flush(self):
        """A Deferred firing once every write so far is on disk."""
        if self._writer is None:
            return succeed(None)
        return self._writer.flush()

    def _write(self, sql, params):
        if not self._open:
            raise RuntimeError("astdb is not open")
        if self._writer is not None:
            self._writer.execute(sql, params)

    # -- the astdb API -----------------------------------------------------

    def get(self, family, key):
        """The value of C{family}/C{key}, or None."""
        return self._data.get(_fullKey(family, key))

    def exists(self, family, key):
        return _fullKey(family, key) in self._data

    def put(self, family, key, value):
        """Set C{family}/C{key} to C{value}."""
        full = _fullKey(family, key)
        value = "" if value is None else str(value)
        self._write("INSERT OR REPLACE INTO astdb (key, value) VALUES (?, ?)",
                    (full, value))
        self._data[full] = value

    def delete(self, family, key):
        """Remove C{family}/C{key}; returns whether it existed."""
        full = _fullKey(family, key)
        if full not in self._data:
            return False
        self._write("DELETE FROM astdb WHERE key = ?", (full,))
        del self._data[full]
        return True

    def deltree(self, family=None, keytree=None):
        """
        Remove C{family} (or C{family}/C{keytree}) and everything below it;
        with no family, everything. Returns how many keys went.
        """
        prefix = _treePrefix(family, keytree)
        doomed = [k for k in self._data if _inTree(k, prefix)]
        if not doomed:
            return 0
        if prefix:
            self._write("DELETE FROM astdb WHERE key = ? OR substr(key, 1, ?) = ?",
                        (prefix, len(prefix) + 1, prefix + "/"))
        else:
            self._write("DELETE FROM astdb", ())
        for k in doomed:
            del self._data[k]
        return len(doomed)

    def gettree(self, family=None, keytree=None):
        """Sorted (fullKey, value) pairs under C{family}[/C{keytree}]."""
        prefix = _treePrefix(family, keytree)
        return sorted((k, v) for k, v in self._data.items() if _inTree(k, prefix))

    def showAll(self, prefix=""):
        """
        What C{database show [prefix]} lists: sorted (fullKey, value) pairs
        whose key is C{prefix} or lies below it (C{prefix} like 'family' or
        'family/sub', leading slash optional).
        """
        return self.gettree(prefix or None)

    def keys(self, prefix=""):
        """
        The distinct names one level below C{prefix}, sorted (DB_KEYS):
        with /a/b and /a/c/d stored, keys('a') == ['b', 'c'].
        """
        base = _treePrefix(prefix or None)
        names = set()
        for k in self._data:
            if base and not k.startswith(base + "/"):
                continue
            rest = k[len(base) + 1:]
            if rest:
                names.add(rest.split("/", 1)[0])
        return sorted(names)

    def __len__(self):
        return len(self._data)


def parseFamilyKey(text):
    """
    Split C{family/key} at the first slash, as DB() does; the key may hold
    more slashes. Returns (family, key) or raise ValueError.
    """
    family, sep, key = (text or "").strip().partition(FAMILY_SEPARATOR)
    family, key = family.strip(), key.strip()
    if not sep or not family or not key:
        raise ValueError(f"expected family/key, got {text!r}")
    return family, key


# -- console commands ------------------------------------------------------

@implementer(ICLICommand)
class _DatabaseCommand:
    name = ""
    summary = ""
    usage = ""
    minArgs = 0
    maxArgs = 0

    def execute(self, pbx, args):
        if not (self.minArgs <= len(args) <= self.maxArgs):
            raise CLIUsageError(self.usage)
        return self.run(pbx.astdb, list(args))


class DatabaseShow(_DatabaseCommand):
    name = "database show"
    summary = "Shows database contents"
    usage = "Usage: database show [family [keytree]]"
    maxArgs = 2

    def run(self, db, args):
        rows = db.gettree(*args) if args else db.gettree()
        lines = [f"{k:<50}: {v:<25}" for k, v in rows]
        lines.append(f"{len(rows)} results found.")
        return "\n".join(lines) + "\n"


class DatabaseGet(_DatabaseCommand):
    name = "database get"
    summary = "Gets database value"
    usage = "Usage: database get <family> <key>"
    minArgs = maxArgs = 2

    def run(self, db, args):
        value = db.get(*args)
        if value is None:
            return "Database entry not found.\n"
        return f"Value: {value}\n"


class DatabasePut(_DatabaseCommand):
    name = "database put"
    summary = "Adds/updates database value"
    usage = "Usage: database put <family> <key> <value>"
    minArgs = maxArgs = 3

    def run(self, db, args):
        db.put(*args)
        return "Updated database successfully\n"


class DatabaseDel(_DatabaseCommand):
    name = "database del"
    summary = "Removes database key/value"
    usage = "Usage: database del <family> <key>"
    minArgs = maxArgs = 2

    def run(self, db, args):
        if db.delete(*args):
            return "Database entry removed.\n"
        return "Database entry does not exist.\n"


class DatabaseDeltree(_DatabaseCommand):
    name = "database deltree"
    summary = "Removes database keytree/values"
    usage = "Usage: database deltree <family> [keytree]"
    minArgs = 1
    maxArgs = 2

    def run(self, db, args):
        count = db.deltree(*args)
        if count:
            return f"{count} database entries removed.\n"
        return "Database entries do not exist.\n"


def register(registrar):
    """Register the C{database ...} console commands through C{registrar}."""
    for command in (DatabaseShow(), DatabaseGet(), DatabasePut(),
                    DatabaseDel(), DatabaseDeltree()):
        registrar.register("clicommand", command)
