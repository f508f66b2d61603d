"""
The console: a UNIX control socket in the running PBX, and the C{pbx}
command that talks to it.

As Asterisk does with C{asterisk.ctl}, the socket lives in the run directory
(C{pbx.conf [directories] astrundir}, by default C{var/run} next to the
configuration directory) as C{pbx.ctl}, mode 0660, so that file permissions
decide who may drive the PBX. C{pbx -c DIR} finds it from the configuration
directory the same way the daemon does; C{-s PATH} names it directly.

The wire format is netstrings both ways: the client sends C{"x <line>"} to
run a command or C{"c <partial line>"} to complete one; the server answers
each with one netstring (the output, or completions one per line).

    pbx -rx "core show channels"     run one command and print the answer
    pbx -r                           interactive console (history, tab completion)
"""

import argparse
import os
import socket
import sys

from twisted.application.service import Service
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import NetstringReceiver

from pbxcore.console.clicommands import completions, runCommand

SOCKET_NAME = "pbx.ctl"

log = Logger()


def socketPath(runDir):
    """Where the control socket of a PBX with this run directory lives."""
    return os.path.join(runDir, SOCKET_NAME)


def register(registrar):
    """
    Add the console control socket to the PBX's services when it has a run
    directory (the daemon does; fakes do not).
    """
    pbx = getattr(registrar, "pbx", None)
    if pbx is not None and getattr(getattr(pbx, "settings", None), "runDir", None):
        registrar.addService(ControlService(pbx, socketPath(pbx.settings.runDir)))


# -- the server side ----------------------------------------------------------

class ControlProtocol(NetstringReceiver):
    """One console connection: requests are answered in order."""

    MAX_LENGTH = 64 * 1024

    def __init__(self, pbx):
        self.pbx = pbx
        self._queue = None

    def stringReceived(self, data):
        from twisted.internet import defer

        text = data.decode("utf-8", "replace")
        kind, _, line = text.partition(" ")

        def handle(_):
            if kind == "x":
                return runCommand(self.pbx, line)
            if kind == "c":
                return "\n".join(completions(self.pbx, line))
            return f"unknown request {kind!r}\n"

        previous = self._queue if self._queue is not None else defer.succeed(None)
        d = previous.addCallback(handle)
        d.addErrback(lambda f: (log.failure("console request failed", f),
                                f"error: {f.getErrorMessage()}\n")[1])
        d.addCallback(self._answer)
        self._queue = d

    def _answer(self, text):
        if self.transport is not None and self.connected:
            self.sendString(text.encode("utf-8"))


class ControlFactory(Factory):
    noisy = False

    def __init__(self, pbx):
        self.pbx = pbx

    def buildProtocol(self, addr):
        protocol = ControlProtocol(self.pbx)
        protocol.factory = self
        return protocol


class ControlService(Service):
    """Listens on the control socket while the PBX runs."""

    name = "console"

    def __init__(self, pbx, path, reactor=None):
        self.pbx = pbx
        self.path = path
        self._reactor = reactor
        self.port = None

    def startService(self):
        super().startService()
        booted = getattr(self.pbx, "booted", None)
        if booted is not None and not getattr(self.pbx, "fullyBooted", True) and not booted.called:
            # Only a PBX that started answers there: one that stops its start
            # (a port held by another PBX) leaves the socket alone, and its
            # one line is the only one.
            booted.addCallback(self._listenOnceBooted)
            return
        self._listen()

    def _listenOnceBooted(self, result):
        if self.running:
            self._listen()
        return result

    def _listen(self):
        reactor = self._reactor or getattr(self.pbx, "reactor", None)
        if reactor is None:
            from twisted.internet import reactor
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        if os.path.exists(self.path) and not _alive(self.path):
            os.unlink(self.path)
        try:
            self.port = reactor.listenUNIX(self.path, ControlFactory(self.pbx), mode=0o660)
        except CannotListenError as e:
            # Another running PBX answers there: say so in one line, carry on.
            log.error("console socket {path} not available: {reason}", path=self.path,
                      reason=e.socketError)
            return
        log.info("console listening on {path}", path=self.path)

    def stopService(self):
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()


def _alive(path):
    """Whether a server answers on the UNIX socket C{path}."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


# -- the client side ----------------------------------------------------------

class ConsoleClient:
    """A blocking netstring client; the console needs no reactor."""

    def __init__(self, path, timeout=None):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if timeout is not None:
            self.sock.settimeout(timeout)
        self.sock.connect(path)
        self._buffer = b""

    def close(self):
        self.sock.close()

    def request(self, kind, line):
        payload = f"{kind} {line}".encode("utf-8")
        self.sock.sendall(b"%d:%s," % (len(payload), payload))
        return self._readString().decode("utf-8", "replace")

    def _readString(self):
        while True:
            colon = self._buffer.find(b":")
            if colon > 0:
                size = int(self._buffer[:colon])
                end = colon + 1 + size
                if len(self._buffer) >= end + 1:
                    data = self._buffer[colon + 1:end]
                    self._buffer = self._buffer[end + 1:]
                    return data
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the PBX closed the console connection")
            self._buffer += chunk

    def run(self, line):
        return self.request("x", line)

    def complete(self, line):
        answer = self.request("c", line)
        return [w for w in answer.split("\n") if w]


def defaultSocketPath(configDir):
    """The control socket of the PBX configured in C{configDir}."""
    try:
        from pbxcore.settings import PBXSettings

        return socketPath(PBXSettings.fromConfigDir(configDir).runDir)
    except Exception:
        parent = os.path.dirname(os.path.abspath(configDir))
        return socketPath(os.path.join(parent, "var", "run"))


def interactive(client, stdin=None, stdout=None):
    """The C{pbx -r} console loop."""
    stdout = stdout or sys.stdout
    try:
        import readline
    except ImportError:
        readline = None
    history = os.path.expanduser("~/.pbx_history")
    if readline is not None:
        try:
            readline.read_history_file(history)
        except OSError:
            pass

        def completer(text, state):
            buffer = readline.get_line_buffer()[:readline.get_endidx()]
            try:
                options = client.complete(buffer)
            except (OSError, ConnectionError):
                return None
            options = [o + " " for o in options if o.startswith(text.lower())]
            return options[state] if state < len(options) else None

        readline.set_completer_delims(" ")
        readline.set_completer(completer)
        readline.parse_and_bind("tab: complete")
    stdout.write(client.run("core show version"))
    try:
        while True:
            try:
                line = input("pbx*CLI> ")
            except EOFError:
                stdout.write("\n")
                break
            if line.strip().lower() in ("exit", "quit"):
                break
            if not line.strip():
                continue
            stdout.write(client.run(line))
            stdout.flush()
    except KeyboardInterrupt:
        stdout.write("\n")
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history)
            except OSError:
                pass
    return 0


def checkDialplan(configDir):
    """C{pbx --check}: 0 when extensions.conf loads without a warning, else 1."""
    from pbxcore.dialplan.parser import checkReport

    lines, problems = checkReport(os.path.join(configDir, "extensions.conf"))
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return 1 if problems else 0


def dbMain(argv):
    """C{pbx db init -c DIR}."""
    parser = argparse.ArgumentParser(
        prog="pbx db", description="Create the PostgreSQL tables the configuration maps "
        "(extconfig.conf with res_pgsql.conf, cdr_pgsql.conf).")
    parser.add_argument("command", choices=["init"])
    parser.add_argument("-c", metavar="DIR", default="etc",
                        help="configuration directory of the PBX (default: etc)")
    options = parser.parse_args(argv)
    from pbxcore.console.dbinit import dbInit

    return dbInit(options.c)


def main(argv=None):
    """Entry point of the C{pbx} console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["db"]:
        return dbMain(argv[1:])
    parser = argparse.ArgumentParser(
        prog="pbx", description="Connect to a running txpbx's console, or check "
        "its dialplan (--check).")
    parser.add_argument("-r", action="store_true", help="connect to the running PBX")
    parser.add_argument("-x", metavar="COMMAND", help="run COMMAND and exit (implies -r)")
    parser.add_argument("-c", metavar="DIR", default="etc",
                        help="configuration directory of the PBX (default: etc)")
    parser.add_argument("-s", metavar="SOCKET", help="control socket path")
    parser.add_argument("--check", action="store_true",
                        help="read DIR/extensions.conf as the PBX would, print every "
                        "warning (file:line) and exit 1 if there is any")
    options = parser.parse_args(argv)
    if options.check:
        return checkDialplan(options.c)
    if not options.r and options.x is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write("pbx: use -r for a console or -rx COMMAND to run one\n")
        return 2
    path = options.s or defaultSocketPath(options.c)
    try:
        client = ConsoleClient(path)
    except OSError as e:
        sys.stderr.write(f"Unable to connect to remote pbx (does {path} exist?): "
                         f"{e.strerror or e}\n")
        return 1
    try:
        if options.x is not None:
            sys.stdout.write(client.run(options.x))
            sys.stdout.flush()
            return 0
        return interactive(client)
    except ConnectionError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
