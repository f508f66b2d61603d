"""
Realtime storage in a real PostgreSQL (Debian's postgresql, a cluster this
module starts in a temporary folder on 127.0.0.1 and stops at the end), with a
real C{twistd -n pbx} on the shipped etc/ plus extconfig.conf and
res_pgsql.conf (the shipped etc/ keeps SQLite, which needs no server: these
tests are about PostgreSQL). C{pbx db init} makes the schemas; SIPp phones of
the C{sippeers} table register; CDRs of calls made through the manager
(asterisk-ami) land in the C{cdr} table; PostgreSQL stopped and started again
under the running PBX loses nothing.
"""

import os
import subprocess
import sys
import time

import pytest

from tests.e2e.http.support import PATIENCE, rewrite, shippedEtc
from tests.e2e.sip_reg.sipp import sipp
from tests.pbxprocess import ROOT, PBXProcess, cleanup

SECRET = "change-me-please"  # the shipped manager.conf's admin

# asterisk-ami still calls Condition.notifyAll().
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def server():
    from tests.pgserver import PostgresServer, binDir

    if binDir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (Debian package postgresql)")
        pytest.skip("PostgreSQL is not installed (Debian package postgresql)")
    return PostgresServer().start()


def waitUntil(predicate, what):
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def pbxCommand(*args):
    return subprocess.run([sys.executable, "-m", "pbxcore.console.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=PATIENCE,
                          env=dict(os.environ, PYTHONPATH=ROOT))


@pytest.fixture(scope="module")
def pg():
    s = server()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def node(pg):
    def realtime(etc):
        with open(os.path.join(etc, "res_pgsql.conf"), "w") as f:
            f.write(pg.resPgsqlConf())
        with open(os.path.join(etc, "extconfig.conf"), "w") as f:
            f.write("[settings]\nsippeers => pgsql,general\ncdr => pgsql,general\n")
        # The sample keeps cdr_pgsql off (it needs a server); here it has one.
        rewrite(etc, "modules.conf", r"(?m)^noload => cdr_pgsql\n", "")

    etc = shippedEtc(realtime)
    init = pbxCommand("db", "init", "-c", etc)
    assert init.returncode == 0, init.stderr
    assert "sippeers: table sippeers ready" in init.stdout, init.stdout
    assert "cdr: table cdr ready" in init.stdout, init.stdout
    again = pbxCommand("db", "init", "-c", etc)
    assert again.returncode == 0, again.stderr  # idempotent
    pg.sql('INSERT INTO sippeers (name, type, host, secret, context, "call-limit") '
           "VALUES ('3001', 'friend', 'dynamic', 'pg-3001', 'internal', '2')")
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        process.waitFor(r"realtime sippeers from PostgreSQL", PATIENCE)
        process.sipPort = int(process.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)",
                                              PATIENCE).group(1))
        process.amiPort = int(process.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)",
                                              PATIENCE).group(1))
        process.etc = etc
        yield process
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


def register(node, user, secret):
    return sipp("register_auth.xml", node.sipPort, user, secret)


def cdrCount(pg):
    return pg.sql("SELECT count(*) FROM cdr")[0][0]


def originate(node):
    """A call that ends by itself (101: SayDigits of the caller, then Hangup)."""
    from asterisk.ami import AMIClient, SimpleAction

    client = AMIClient(address="127.0.0.1", port=node.amiPort, timeout=PATIENCE)
    try:
        assert client.login(username="admin", secret=SECRET).response.status == "Success"
        response = client.send_action(SimpleAction(
            "Originate", Channel="Local/101@default", Application="Wait", Data="0",
            Async="true")).response
        assert response.status == "Success", response
    finally:
        client.logoff()
        client.disconnect()


def test_a_sippeers_row_registers_and_a_wrong_secret_is_refused(pg, node):
    code, output = waitUntil(lambda: (lambda r: r if r[0] == 0 else None)(
        register(node, "3001", "pg-3001")), "3001 to register from PostgreSQL")
    assert code == 0, output
    code, output = register(node, "3001", "wrong")
    assert code != 0, output


def test_cdrs_go_to_postgresql(pg, node):
    before = cdrCount(pg)
    originate(node)
    waitUntil(lambda: cdrCount(pg) > before, "a CDR row in PostgreSQL")
    [(channel, disposition)] = pg.sql(
        "SELECT channel, disposition FROM cdr ORDER BY calldate DESC, sequence DESC LIMIT 1")
    assert channel.startswith("Local/101@default-"), channel


def test_postgresql_away_and_back(pg, node):
    waitUntil(lambda: register(node, "3001", "pg-3001")[0] == 0, "3001 registered")
    before = cdrCount(pg)
    pg.stopServer()
    try:
        # Known peers go on registering; calls go on; their CDRs wait.
        code, output = register(node, "3001", "pg-3001")
        assert code == 0, output
        originate(node)
        node.waitFor(r"PostgreSQL .* is unavailable", PATIENCE)
        # A peer nobody has seen cannot be found: refused, not a crash.
        code, output = register(node, "3002", "pg-3002")
        assert code != 0, output
    finally:
        pg.startServer()
    # Nothing acknowledged is lost: the CDR written while it was away arrives.
    waitUntil(lambda: cdrCount(pg) >= before + 1, "the queued CDR to be stored")
    pg.sql('INSERT INTO sippeers (name, type, host, secret, context) '
           "VALUES ('3002', 'friend', 'dynamic', 'pg-3002', 'internal')")
    code, output = waitUntil(lambda: (lambda r: r if r[0] == 0 else None)(
        register(node, "3002", "pg-3002")), "3002 to register once PostgreSQL is back")
    assert code == 0, output
    assert "Traceback" not in node.output, node.output
