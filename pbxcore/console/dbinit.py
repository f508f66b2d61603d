"""
C{pbx db init -c DIR}: create the PostgreSQL tables that DIR's extconfig.conf
(with res_pgsql.conf) and cdr_pgsql.conf name, with Asterisk's column names.
A command-line tool: it connects with psycopg directly and may block.
"""

from __future__ import annotations

import sys

from pbxcore.config import ConfigError
from pbxcore.store.realtime import loadCdrPgsql, loadRealtime, schemaStatements


def plan(configDir):
    """[(family, table, PgConnection)] to create, from DIR's configuration."""
    realtime = loadRealtime(configDir)
    work = [(m.family, m.table, realtime.connectionFor(m.family))
            for m in realtime.mappings.values()]
    cdr = loadCdrPgsql(configDir)
    if cdr is not None and "cdr" not in realtime.mappings:
        work.append(("cdr", cdr[1], cdr[0]))
    return work


def dbInit(configDir, out=sys.stdout, err=sys.stderr) -> int:
    import psycopg

    try:
        work = plan(configDir)
    except ConfigError as e:
        err.write(f"{e}\n")
        return 1
    if not work:
        err.write(f"pbx db init: {configDir} maps nothing to PostgreSQL "
                  "(extconfig.conf, cdr_pgsql.conf); SQLite needs no schema\n")
        return 1
    for family, table, connection in work:
        try:
            with psycopg.connect(**connection.kwargs(), autocommit=True) as conn:
                for statement in schemaStatements(family, table):
                    conn.execute(statement)
        except psycopg.Error as e:
            err.write(f"pbx db init: {family} ({table}) on {connection.user}@"
                      f"{connection.host}:{connection.port}/{connection.dbname}: "
                      f"{str(e).strip()}\n")
            return 1
        out.write(f"{family}: table {table} ready in {connection.dbname} on "
                  f"{connection.host}:{connection.port}\n")
    return 0
