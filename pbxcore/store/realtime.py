"""
Realtime storage in PostgreSQL, in the shape of Asterisk's
C{res_config_pgsql}: pure parts (configuration and schemas).

C{res_pgsql.conf}::

    [general]
    dbhost = 127.0.0.1
    dbport = 5432
    dbname = asterisk
    dbuser = asterisk
    dbpass = secret

C{extconfig.conf} maps families to a driver, a database and a table::

    [settings]
    sippeers => pgsql,general          ; table sippeers
    sipregs => pgsql,general,sip_location
    astdb => pgsql,general
    cdr => pgsql,general

Only the C{pgsql} driver exists and the database part names the
C{res_pgsql.conf} section to connect with (C{general}); without these files
everything stays in the SQLite files under the data directory.
C{cdr_pgsql.conf} (C{[global]} hostname, port, dbname, user, password,
table) configures CDRs as Asterisk's cdr_pgsql does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pbxcore.config import ConfigError, parseFile

FAMILIES = ("sippeers", "sipregs", "astdb", "cdr", "voicemail", "queue_members")

_PG_KEYS = {"dbhost": "host", "dbport": "port", "dbname": "dbname", "dbuser": "user",
            "dbpass": "password", "dbsock": "sock", "dbappname": "appname",
            "requirements": None, "debug": None}
_CDR_KEYS = {"hostname": "host", "port": "port", "dbname": "dbname", "user": "user",
             "password": "password", "table": "table", "appname": "appname",
             "encoding": None, "timezone": None}


@dataclass(frozen=True)
class PgConnection:
    """Where to connect: psycopg keyword arguments (L{kwargs})."""

    host: str = "127.0.0.1"
    port: int = 5432
    dbname: str = "asterisk"
    user: str = "asterisk"
    password: str = ""
    sock: str = ""
    appname: str = "txpbx"

    def kwargs(self) -> dict:
        host = self.sock or self.host
        return dict(host=host, port=self.port, dbname=self.dbname, user=self.user,
                    password=self.password, application_name=self.appname,
                    connect_timeout=5)


@dataclass(frozen=True)
class Mapping:
    family: str
    driver: str
    database: str
    table: str


@dataclass(frozen=True)
class RealtimeSettings:
    """What extconfig.conf maps to PostgreSQL, and the connections."""

    connections: dict = field(default_factory=dict)
    mappings: dict = field(default_factory=dict)

    def mapping(self, family: str) -> Mapping | None:
        return self.mappings.get(family)

    def connectionFor(self, family: str) -> PgConnection | None:
        mapping = self.mappings.get(family)
        return None if mapping is None else self.connections[mapping.database]

    def __bool__(self):
        return bool(self.mappings)


def _port(entry):
    text = entry.value.strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{entry.key} must be a port number, not {entry.value!r}",
                          entry.filename, entry.line)
    return int(text)


def parseConnection(section, keys, what) -> tuple[PgConnection, str]:
    """A L{PgConnection} (and a table name, for cdr_pgsql) from one section."""
    values, table = {}, ""
    for entry in section.entries:
        key = entry.key.lower()
        if key not in keys:
            raise ConfigError(f"unknown {what} option {entry.key!r}", entry.filename, entry.line)
        name = keys[key]
        if name is None:
            continue
        if name == "port":
            values["port"] = _port(entry)
        elif name == "table":
            table = entry.value.strip()
        else:
            values[name] = entry.value.strip() if name != "password" else entry.value
    return PgConnection(**values), table


def parseResPgsql(config) -> dict:
    """{section name: PgConnection} of a parsed res_pgsql.conf."""
    return {section.name.lower(): parseConnection(section, _PG_KEYS, "res_pgsql.conf")[0]
            for section in config.sections}


def parseExtconfig(config, connections: dict) -> dict:
    """{family: Mapping} of extconfig.conf's [settings]; ConfigError file:line."""
    mappings = {}
    section = config.section("settings")
    if section is None:
        return mappings
    for entry in section.entries:
        family = entry.key.strip().lower()
        parts = [p.strip() for p in entry.value.split(",")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ConfigError(f"{entry.key} => needs driver,database[,table]",
                              entry.filename, entry.line)
        driver, database = parts[0].lower(), parts[1].lower()
        table = parts[2] if len(parts) > 2 and parts[2] else family
        if driver != "pgsql":
            raise ConfigError(f"realtime driver {parts[0]!r} is not available (pgsql is)",
                              entry.filename, entry.line)
        if family not in FAMILIES:
            raise ConfigError(f"unknown realtime family {entry.key!r} "
                              f"(known: {', '.join(FAMILIES)})", entry.filename, entry.line)
        if database not in connections:
            raise ConfigError(f"res_pgsql.conf has no [{parts[1]}] section",
                              entry.filename, entry.line)
        if not table.replace("_", "").isalnum():
            raise ConfigError(f"not a table name: {table!r}", entry.filename, entry.line)
        mappings[family] = Mapping(family, driver, database, table)
    return mappings


def loadRealtime(configDir: str) -> RealtimeSettings:
    """extconfig.conf and res_pgsql.conf of C{configDir}; empty settings without them."""
    extPath = os.path.join(configDir, "extconfig.conf")
    if not os.path.exists(extPath):
        return RealtimeSettings()
    pgPath = os.path.join(configDir, "res_pgsql.conf")
    connections = parseResPgsql(parseFile(pgPath)) if os.path.exists(pgPath) else {}
    return RealtimeSettings(connections, parseExtconfig(parseFile(extPath), connections))


def loadCdrPgsql(configDir: str) -> tuple[PgConnection, str] | None:
    """cdr_pgsql.conf's [global]: (connection, table), or None without the file."""
    path = os.path.join(configDir, "cdr_pgsql.conf")
    if not os.path.exists(path):
        return None
    section = parseFile(path).section("global")
    if section is None:
        return None
    connection, table = parseConnection(section, _CDR_KEYS, "cdr_pgsql.conf")
    return connection, table or "cdr"


# -- schemas (Asterisk's column names where Asterisk has them) -------------------

SIPPEERS_COLUMNS = (
    "name", "type", "host", "defaultuser", "secret", "md5secret", "context",
    "callerid", "disallow", "allow", "call-limit", "qualify", "nat", "insecure",
    "transport", "dtmfmode", "permit", "deny", "mailbox", "subscribecontext",
    "fromuser", "fromdomain", "language", "accountcode", "maxcontacts",
    "ipaddr", "port", "regseconds", "fullcontact", "useragent", "regserver",
    "lastms", "path",
)

CDR_COLUMNS = ("calldate", "clid", "src", "dst", "dcontext", "channel", "dstchannel",
               "lastapp", "lastdata", "duration", "billsec", "disposition", "amaflags",
               "accountcode", "uniqueid", "linkedid", "userfield", "peeraccount", "sequence")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schemaStatements(family: str, table: str) -> list[str]:
    """CREATE statements (idempotent) for one family's table."""
    t = _quote(table)
    if family == "sippeers":
        columns = ", ".join(f"{_quote(c)} VARCHAR(255)" + (" PRIMARY KEY" if c == "name" else "")
                            for c in SIPPEERS_COLUMNS)
        return [f"CREATE TABLE IF NOT EXISTS {t} ({columns})"]
    if family == "sipregs":
        return [f"CREATE TABLE IF NOT EXISTS {t} ("
                "peer VARCHAR(80) NOT NULL, uri VARCHAR(255) NOT NULL, "
                "expires DOUBLE PRECISION NOT NULL, transport VARCHAR(8), host VARCHAR(255), "
                "port INTEGER, useragent VARCHAR(255), path TEXT, callid VARCHAR(255), "
                "cseq INTEGER, q REAL, registered DOUBLE PRECISION, regserver VARCHAR(80), "
                "PRIMARY KEY (peer, uri))"]
    if family == "astdb":
        return [f"CREATE TABLE IF NOT EXISTS {t} (key VARCHAR(256) PRIMARY KEY, "
                "value VARCHAR(256) NOT NULL)"]
    if family == "cdr":
        return [f"CREATE TABLE IF NOT EXISTS {t} ("
                "calldate TIMESTAMP NOT NULL, clid VARCHAR(80), src VARCHAR(80), "
                "dst VARCHAR(80), dcontext VARCHAR(80), channel VARCHAR(80), "
                "dstchannel VARCHAR(80), lastapp VARCHAR(80), lastdata VARCHAR(80), "
                "duration INTEGER, billsec INTEGER, disposition VARCHAR(45), "
                "amaflags VARCHAR(20), accountcode VARCHAR(20), uniqueid VARCHAR(150), "
                "linkedid VARCHAR(150), userfield VARCHAR(255), peeraccount VARCHAR(20), "
                "sequence INTEGER)"]
    if family == "voicemail":
        return [f"CREATE TABLE IF NOT EXISTS {t} ("
                "uniqueid SERIAL PRIMARY KEY, context VARCHAR(80) NOT NULL DEFAULT 'default', "
                "mailbox VARCHAR(80) NOT NULL, password VARCHAR(80) NOT NULL, "
                "fullname VARCHAR(80), email VARCHAR(80), pager VARCHAR(80), "
                "UNIQUE (context, mailbox))"]
    if family == "queue_members":
        return [f"CREATE TABLE IF NOT EXISTS {t} ("
                "queue_name VARCHAR(80) NOT NULL, interface VARCHAR(80) NOT NULL, "
                "uniqueid SERIAL, membername VARCHAR(80), state_interface VARCHAR(80), "
                "penalty INTEGER, paused INTEGER, wrapuptime INTEGER, "
                "PRIMARY KEY (queue_name, interface))"]
    raise ValueError(f"unknown family {family!r}")
