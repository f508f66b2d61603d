"""
cdr_pgsql: call detail records in PostgreSQL, as Asterisk's cdr_pgsql.

C{cdr_pgsql.conf} C{[global]}: C{hostname}, C{port}, C{dbname}, C{user},
C{password}, C{table} (default C{cdr}), C{appname}; or, without that file,
extconfig.conf's C{cdr => pgsql,general[,table]} with res_pgsql.conf. Every
finished record of the CDR engine (cdr.conf) is inserted through
L{pbxcore.store.pgsql.PgWriter}: a database that goes away delays the rows,
never drops them while the PBX runs; unloading waits until they are stored.
"""

from __future__ import annotations

from twisted.logger import Logger

from pbxcore.api import Module, ModuleDeclined
from pbxcore.store.realtime import CDR_COLUMNS, loadCdrPgsql, loadRealtime


def insertStatement(table):
    columns = ", ".join(f'"{c}"' for c in CDR_COLUMNS)
    return f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join(["%s"] * len(CDR_COLUMNS))})'


def rowValues(row):
    """The cdr row's values for PostgreSQL (empty times are NULL)."""
    values = []
    for column in CDR_COLUMNS:
        value = row.get(column)
        if column == "calldate" and not value:
            value = row.get("start") or None
        values.append(value)
    return values


#: Seconds an unload waits for PostgreSQL to take the records still queued.
FLUSH_PATIENCE = 10


class CdrPgsqlModule(Module):
    """Adds a CDR backend writing to PostgreSQL."""

    log = Logger()

    def __init__(self):
        self.database = None
        self.writer = None

    def load(self, pbx, registrar):
        from pbxcore.store.pgsql import PgDatabase, PgWriter

        found = loadCdrPgsql(pbx.configDir)
        if found is None:
            realtime = loadRealtime(pbx.configDir)
            mapping = realtime.mapping("cdr")
            if mapping is None:
                raise ModuleDeclined("no cdr_pgsql.conf and no cdr => pgsql in extconfig.conf")
            found = (realtime.connectionFor("cdr"), mapping.table)
        if getattr(pbx, "cdr", None) is None:
            raise ModuleDeclined("CDRs are off (cdr.conf)")
        connection, table = found
        self.database = PgDatabase(connection, reactor=pbx.reactor)
        self.writer = PgWriter(self.database, "cdr_pgsql")
        statement = insertStatement(table)
        registrar.addCleanup(pbx.cdr.addBackend(
            lambda row: self.writer.execute(statement, rowValues(row))))

    def unload(self, pbx):
        writer, database = self.writer, self.database
        if writer is None:
            return None
        d = writer.flush()
        # A database still away at shutdown: wait a bounded time, then say
        # how many records could not be stored.
        d.addTimeout(FLUSH_PATIENCE, pbx.reactor)

        def closed(result):
            if len(writer):
                self.log.error("cdr_pgsql: {n} CDRs not stored: PostgreSQL unavailable",
                               n=len(writer))
            writer.stop()
            database.close()

        return d.addBoth(closed)
