"""
A PostgreSQL server of Debian's C{postgresql} package, owned by the test that
starts it: a cluster in a fresh folder (initdb), listening on 127.0.0.1 and a
free port (no Unix socket outside that folder), stopped and removed at the
end. As root, the cluster belongs to the C{postgres} user (initdb refuses to
run as root); otherwise to the user running the tests.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

USER = "txpbx"
PASSWORD = "txpbx-test"


def binDir():
    """Debian's newest PostgreSQL server programs, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def freePort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.bin = binDir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        self.top = tempfile.mkdtemp(prefix="txpbx-pg-")
        self.data = os.path.join(self.top, "data")
        self.port = freePort()
        self.host = "127.0.0.1"
        self.dbname = "asterisk"
        self.user = USER
        self.password = PASSWORD
        self._asUser = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.top, owner.pw_uid, owner.pw_gid)
            self._asUser = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args, **kw):
        return subprocess.run(self._asUser + list(args), check=True, capture_output=True,
                              text=True, timeout=120, **kw)

    def start(self):
        pwfile = os.path.join(self.top, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self._asUser:
            owner = pwd.getpwnam("postgres")
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", self.user,
                  f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
        os.unlink(pwfile)
        self.startServer()
        self.sql(f"CREATE DATABASE {self.dbname}", dbname="postgres")
        return self

    def startServer(self):
        options = f"-h {self.host} -p {self.port} -k {self.top} -F"
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-o", options,
                  "-l", os.path.join(self.top, "log"), "-w", "-t", "60", "start")

    def stopServer(self):
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                  "stop")

    def conninfo(self, dbname=None):
        return dict(host=self.host, port=self.port, dbname=dbname or self.dbname,
                    user=self.user, password=self.password)

    def sql(self, statement, params=None, dbname=None):
        """Run one statement (autocommit); the rows when it returns any."""
        import psycopg

        with psycopg.connect(**self.conninfo(dbname), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def resPgsqlConf(self):
        """res_pgsql.conf's [general] for this server."""
        return (f"[general]\ndbhost = {self.host}\ndbport = {self.port}\n"
                f"dbname = {self.dbname}\ndbuser = {self.user}\ndbpass = {self.password}\n")

    def stop(self):
        try:
            if os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self.stopServer()
        finally:
            shutil.rmtree(self.top, ignore_errors=True)
