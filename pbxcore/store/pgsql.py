"""
The PostgreSQL shell: psycopg 3 connections used from a Twisted thread pool
(as C{twisted.enterprise.adbapi} does, without its tracebacks in the log when
the server goes away), so the reactor never waits for the database.

L{PgDatabase} runs queries (Deferreds). L{PgWriter} is for rows that must not
be lost (CDRs, bindings): each is kept until PostgreSQL acknowledged it, and
while the database is away the writer retries every second, in order, without
blocking anything; C{flush} fires once everything written so far is stored.
"""

from __future__ import annotations

from collections import deque

import threading

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from twisted.logger import Logger

RETRY = 1.0


class PgDatabase:
    """
    Connections to one database (a L{PgConnection}), one per worker thread,
    in autocommit; a connection that broke is dropped and made again on the
    next use, so the database coming back needs nothing from anyone.
    """

    log = Logger()

    def __init__(self, connection, reactor=None, poolSize=3):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.connection = connection
        self.threadpool = ThreadPool(1, poolSize, name="pgsql")
        self.threadpool.start()
        self._local = threading.local()
        self._connections = []
        self._lock = threading.Lock()
        self.available = True

    def where(self) -> str:
        c = self.connection
        return f"{c.user}@{c.sock or c.host}:{c.port}/{c.dbname}"

    def _connect(self):
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(**self.connection.kwargs(), autocommit=True)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _inThread(self, work):
        import psycopg

        conn = self._connect()
        try:
            return work(conn)
        except psycopg.OperationalError:
            self._local.conn = None
            try:
                conn.close()
            except Exception:
                pass
            raise

    def _note(self, result, ok):
        if ok and not self.available:
            self.log.info("PostgreSQL {where} is back", where=self.where())
        elif not ok and self.available:
            self.log.warn("PostgreSQL {where} is unavailable: {error}", where=self.where(),
                          error=str(result.value).strip())
        self.available = ok
        return result

    def run(self, work):
        """C{work(connection)} in a worker thread; a Deferred of its result."""
        d = deferToThreadPool(self.reactor, self.threadpool, self._inThread, work)
        return d.addCallbacks(self._note, self._note, callbackArgs=(True,),
                              errbackArgs=(False,))

    def query(self, sql, params=()):
        """The rows (tuples) of one query; fails with psycopg's error."""
        return self.run(lambda conn: conn.execute(sql, params).fetchall())

    def queryDicts(self, sql, params=()):
        """The rows of one query as {column: value}."""
        def work(conn):
            cursor = conn.execute(sql, params)
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

        return self.run(work)

    def execute(self, sql, params=()):
        """Run one statement (autocommit: stored when the Deferred fires)."""
        return self.run(lambda conn: conn.execute(sql, params) and None)

    def close(self):
        self.threadpool.stop()
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except Exception:
                pass


class PgWriter:
    """
    Statements applied in order, each kept until PostgreSQL took it: a
    database that goes away delays the writes, never drops them.
    """

    log = Logger()

    def __init__(self, database: PgDatabase, what: str):
        self.database = database
        self.what = what
        self._queue = deque()
        self._busy = False
        self._retry = None
        self._waiters = []
        self.written = 0

    def execute(self, sql, params=()):
        self._queue.append((sql, params))
        self._next()

    def __len__(self):
        return len(self._queue)

    def _next(self):
        if self._busy or self._retry is not None:
            return
        if not self._queue:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)
            return
        self._busy = True
        sql, params = self._queue[0]
        self.database.execute(sql, params).addCallbacks(self._done, self._failed)

    def _done(self, _):
        self._busy = False
        self._queue.popleft()
        self.written += 1
        self._next()

    def _failed(self, failure):
        self._busy = False
        self.log.debug("{what}: write failed ({error}); {n} kept, retrying",
                       what=self.what, error=failure.getErrorMessage(), n=len(self._queue))
        self._retry = self.database.reactor.callLater(RETRY, self._retried)

    def _retried(self):
        self._retry = None
        self._next()

    def flush(self):
        """A Deferred firing once every statement so far is stored."""
        if not self._queue and not self._busy:
            return defer.succeed(None)
        d = defer.Deferred()
        self._waiters.append(d)
        return d

    def stop(self):
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
