"""
Realtime C{sippeers} in PostgreSQL (extconfig.conf C{sippeers => pgsql,general}).

The peer lookups of chan_sip are synchronous (an INVITE or REGISTER asks for
its peer in line), and PostgreSQL must never be waited for on the reactor: so
the rows live in memory, read whole at start and again every L{REFRESH}
seconds, and a name that is not there is looked up at once in the background,
so that the phone's next try (the REGISTER after the 401) finds it. A
database that goes away leaves the rows as they were last read: calls and
registrations of known peers go on; a new peer is found once the database
is back.
"""

from __future__ import annotations

from twisted.logger import Logger

from pbxcore.store.realtime import SIPPEERS_COLUMNS

REFRESH = 5.0


class PgPeers:
    """The C{sippeers} rows of PostgreSQL, mirrored; what BindingStore.realtimePeer answers."""

    log = Logger()

    def __init__(self, database, table="sippeers", reactor=None, onChange=None):
        self.database = database
        self.table = table
        self.reactor = reactor if reactor is not None else database.reactor
        self.onChange = onChange
        self.rows: dict[str, dict] = {}
        self.loaded = False
        self._call = None
        self._asking: set[str] = set()
        self._columns = ", ".join('"' + c + '"' for c in SIPPEERS_COLUMNS)

    def start(self):
        """Read every row; a Deferred (never failing: a database away is logged)."""
        return self.refresh()

    def stop(self):
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def refresh(self):
        self._call = None
        d = self.database.queryDicts(f'SELECT {self._columns} FROM "{self.table}"')
        d.addCallbacks(self._loaded, lambda f: None)
        d.addBoth(self._rearm)
        return d

    def _rearm(self, _):
        if self._call is None:
            self._call = self.reactor.callLater(REFRESH, self.refresh)

    def _loaded(self, rows):
        fresh = {str(r["name"]).lower(): _text(r) for r in rows if r.get("name")}
        changed = fresh != self.rows
        self.rows = fresh
        self.loaded = True
        if changed and self.onChange is not None:
            self.onChange()

    def realtimePeer(self, name: str) -> dict | None:
        row = self.rows.get(name.lower())
        if row is None:
            self._ask(name)
        return row

    def realtimeNames(self) -> list[str]:
        return sorted((r["name"] for r in self.rows.values()), key=str.lower)

    def _ask(self, name: str):
        key = name.lower()
        if key in self._asking:
            return
        self._asking.add(key)
        d = self.database.queryDicts(
            f'SELECT {self._columns} FROM "{self.table}" WHERE lower(name) = %s', (key,))

        def found(rows):
            for row in rows:
                self.rows[str(row["name"]).lower()] = _text(row)

        d.addCallbacks(found, lambda f: None)
        d.addBoth(lambda _: self._asking.discard(key))


def _text(row: dict) -> dict:
    """Column values as text (None for NULL), as the SQLite store gives them."""
    return {k: (None if v is None else str(v)) for k, v in row.items()}
