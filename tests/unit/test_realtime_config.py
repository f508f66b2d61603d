"""extconfig.conf, res_pgsql.conf and cdr_pgsql.conf (pure), and the schemas."""

import os
import tempfile

import pytest

from pbxcore.config import ConfigError, parseText
from pbxcore.store.realtime import (
    PgConnection,
    loadCdrPgsql,
    loadRealtime,
    parseExtconfig,
    parseResPgsql,
    schemaStatements,
)

PG = "[general]\ndbhost = 10.0.0.5\ndbport = 5433\ndbname = pbx\ndbuser = u\ndbpass = p w\n"


def test_res_pgsql_and_extconfig():
    connections = parseResPgsql(parseText(PG))
    assert connections["general"] == PgConnection("10.0.0.5", 5433, "pbx", "u", "p w")
    mappings = parseExtconfig(parseText(
        "[settings]\nsippeers => pgsql,general\nsipregs => pgsql,general,sip_location\n"),
        connections)
    assert mappings["sippeers"].table == "sippeers"
    assert mappings["sipregs"].table == "sip_location"


@pytest.mark.parametrize("line, message", [
    ("sippeers => odbc,general", "driver 'odbc' is not available"),
    ("sippeers => pgsql,other", "no [other] section"),
    ("sippeers => pgsql", "needs driver,database"),
    ("queues => pgsql,general", "unknown realtime family"),
    ("sippeers => pgsql,general,bad-table", "not a table name"),
])
def test_extconfig_errors_name_file_and_line(line, message):
    connections = parseResPgsql(parseText(PG))
    with pytest.raises(ConfigError) as e:
        parseExtconfig(parseText(f"[settings]\n{line}\n", "extconfig.conf"), connections)
    assert str(e.value).startswith("extconfig.conf:2:") and message in str(e.value)


def test_bad_port_and_unknown_key():
    with pytest.raises(ConfigError):
        parseResPgsql(parseText("[general]\ndbport = five\n"))
    with pytest.raises(ConfigError):
        parseResPgsql(parseText("[general]\ndbhots = x\n"))


def test_without_files_nothing_is_mapped_and_cdr_pgsql_reads_global():
    folder = tempfile.mkdtemp()
    assert not loadRealtime(folder)
    assert loadCdrPgsql(folder) is None
    with open(os.path.join(folder, "cdr_pgsql.conf"), "w") as f:
        f.write("[global]\nhostname = db\nport = 5432\ndbname = cdrs\nuser = a\n"
                "password = b\ntable = calls\n")
    connection, table = loadCdrPgsql(folder)
    assert (connection.host, connection.dbname, table) == ("db", "cdrs", "calls")


def test_schemas_use_asterisk_column_names():
    [sippeers] = schemaStatements("sippeers", "sippeers")
    for column in ('"name" VARCHAR(255) PRIMARY KEY', '"call-limit"', '"fullcontact"',
                   '"regseconds"', '"md5secret"'):
        assert column in sippeers
    [cdr] = schemaStatements("cdr", "cdr")
    for column in ("calldate", "clid", "dcontext", "dstchannel", "billsec", "disposition",
                   "uniqueid", "linkedid", "userfield"):
        assert column in cdr
    assert all("IF NOT EXISTS" in s for f in ("sipregs", "astdb", "voicemail", "queue_members")
               for s in schemaStatements(f, f))
