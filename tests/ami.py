"""
A blocking manager (AMI) client for the end-to-end tests that drive a real
C{twistd pbx} over TCP, the manager.conf they give it, and a blocking poll.

The client is written from the protocol (banner line, CRLF-separated
blocks) so it does not share code with the server under test.
"""

import socket
import time

#: Upper bound for anything waited on, so a broken server fails the test
#: instead of hanging it; never an assertion about speed.
PATIENCE = 30


# For tests that need manager settings of their own (commandformat, a port
# read back from the log): the shipped manager.conf runs in tests that copy
# etc/ (tests.sample, tests.e2e.http.support.shippedEtc).
def managerConf(secret="pw", general=""):
    """
    A manager.conf listening on 127.0.0.1 port 0 (the daemon logs the port
    it bound) with one user C{admin} allowed everything from loopback.
    """
    return f"""\
[general]
enabled = yes
port = 0
bindaddr = 127.0.0.1
{general}
[admin]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
"""


MANAGER_CONF = managerConf()


class AMI:
    """
    One blocking manager session: actions in, their responses out; events
    that arrive meanwhile are kept aside for L{waitEvent}. A key that a
    message repeats comes back as a list of its values.
    """

    def __init__(self, port, username="admin", secret="pw", timeout=PATIENCE):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.events = []
        self.counter = 0
        self.banner = self._readUntil(b"\r\n").decode("utf-8")
        response = self.action("Login", Username=username, Secret=secret)
        assert response.get("Response") == "Success", response

    def _readUntil(self, end):
        while end not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("the manager closed the connection")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(end, 1)
        return raw

    def _message(self):
        message = {}
        for line in self._readUntil(b"\r\n\r\n").decode("utf-8").split("\r\n"):
            key, _, value = line.partition(": ")
            message.setdefault(key, []).append(value)
        return {k: v[0] if len(v) == 1 else v for k, v in message.items()}

    def action(self, name, until=None, **fields):
        """Send C{name}; its response (or, with C{until}, every message up to that event)."""
        self.counter += 1
        actionID = f"t{self.counter}"
        lines = [f"Action: {name}", f"ActionID: {actionID}"]
        lines += [f"{k}: {v}" for k, v in fields.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        collected = []
        while True:
            message = self._message()
            if message.get("ActionID") != actionID:
                if "Event" in message:
                    self.events.append(message)
                continue
            collected.append(message)
            if until is None and "Response" in message:
                return message
            if until is not None and message.get("Event") == until:
                return collected

    def waitEvent(self, name, timeout=PATIENCE, **match):
        """The first event C{name} whose fields include C{match} (kept or still to come)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("Event") == name and all(event.get(k) == v
                                                      for k, v in match.items()):
                    self.events.remove(event)
                    return event
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                message = self._message()
            except socket.timeout:
                raise AssertionError(f"no {name} {match} event; saw {self.events}") from None
            finally:
                self.sock.settimeout(self.timeout)
            if "Event" in message:
                self.events.append(message)

    def command(self, line):
        """The output of the CLI C{line} (the manager must use commandformat = output)."""
        output = self.action("Command", Command=line).get("Output", [])
        return "\n".join(output if isinstance(output, list) else [output])

    def close(self):
        self.sock.close()


def waitUntil(predicate, what, timeout=PATIENCE, step=0.05):
    """Poll C{predicate} until it holds; its value, or AssertionError naming C{what}."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)
