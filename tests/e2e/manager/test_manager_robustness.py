"""
Bad requests, a client that stops reading and clients that vanish, over
real sockets against a real C{twistd -n pbx} on the shipped etc/ (copied
unchanged, ports rewritten to 0): each gets a clear C{Response: Error} or
is let go, and the other sessions lose nothing.
"""

import socket
import threading

import pytest

from tests.ami import AMI
from tests.e2e.http.support import shippedEtc
from tests.pbxprocess import PBXProcess, cleanup

PATIENCE = 60
SECRET = "change-me-please"


@pytest.fixture(scope="module")
def pbx():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        match = process.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)", PATIENCE)
        process.port = int(match.group(1))
        yield process
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


def session(pbx):
    return AMI(pbx.port, secret=SECRET, timeout=PATIENCE)


def raw(pbx):
    sock = socket.create_connection(("127.0.0.1", pbx.port), timeout=PATIENCE)
    data = b""
    while b"\r\n" not in data:
        data += sock.recv(4096)
    sock.sendall(f"Action: Login\r\nUsername: admin\r\nSecret: {SECRET}\r\n\r\n".encode())
    while b"Authentication accepted" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return sock


@pytest.mark.parametrize("fields, message", [
    ({"Action": "GetConfig"}, "Filename not specified"),
    ({"Action": "GetConfig", "Filename": "../../../../etc/passwd"},
     "File requires escalated privileges"),
    ({"Action": "UpdateConfig", "SrcFilename": "extensions.conf",
      "DstFilename": "extensions.conf", "Action-000000": "Explode", "Cat-000000": "default"},
     "Unknown action command"),
    ({"Action": "UpdateConfig", "SrcFilename": "extensions.conf",
      "DstFilename": "extensions.conf", "Action-000000": "Append"}, "Category not specified"),
    ({"Action": "Filter", "Operation": "Add", "Filter": "[unclosed"},
     "Filter did not compile.  Check the syntax of the filter given."),
    ({"Action": "Filter", "Operation": "Add", "MatchCriteria": "nonsense(1)"},
     "Filter was formatted incorrectly.  Check the syntax of the filter given."),
    ({"Action": "BridgeInfo", "BridgeUniqueid": "nope"}, "Bridge nope not found"),
    ({"Action": "BridgeKick"}, "Channel must be provided"),
    ({"Action": "ShowDialPlan", "Context": "nowhere"}, "Did not find context nowhere"),
    ({"Action": "AbsoluteTimeout", "Channel": "SIP/none", "Timeout": "5"}, "No such channel"),
    ({"Action": "DBGetTree", "Family": "nothing-here"}, "Database entry not found"),
    ({"Action": "MessageSend", "To": "pjsip:nobody"}, "Message failed to send."),
    ({"Action": "Frobnicate"}, "Invalid/unknown command: Frobnicate. "
                               "Use Action: ListCommands to show available commands."),
])
def test_bad_requests_get_an_error_and_the_session_goes_on(pbx, fields, message):
    ami = session(pbx)
    try:
        name = fields.pop("Action")
        response = ami.action(name, **fields)
        assert (response["Response"], response["Message"]) == ("Error", message)
        assert ami.action("Ping")["Ping"] == "Pong"
    finally:
        ami.sock.close()


def test_a_request_without_action_and_garbage(pbx):
    sock = raw(pbx)
    try:
        sock.sendall(b"ActionID: x1\r\nFoo: bar\r\n\r\n\x00\xff\xfe no colon here\r\n\r\n"
                     b"Action: Ping\r\nActionID: x2\r\n\r\n")
        data = b""
        while b"ActionID: x2" not in data:
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
        assert b"Response: Error\r\nActionID: x1\r\nMessage: Missing action in request" in data
        assert b"Ping: Pong" in data
    finally:
        sock.close()


def test_vanishing_and_stalled_clients_cost_the_others_nothing(pbx):
    watcher = session(pbx)
    sender = session(pbx)
    try:
        # A client that stops reading while events pour in, one that leaves
        # half a message behind, one that goes while its reload runs.
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", pbx.port))
        slow.sendall(f"Action: Login\r\nUsername: admin\r\nSecret: {SECRET}\r\n\r\n".encode())
        half = raw(pbx)
        half.sendall(b"Action: UserEvent\r\nUserEvent: Half")
        half.close()
        gone = raw(pbx)
        gone.sendall(b"Action: UpdateConfig\r\nSrcFilename: extensions.conf\r\n"
                     b"DstFilename: extensions.conf\r\nReload: yes\r\n\r\n"
                     b"Action: WaitEvent\r\nTimeout: 30\r\n\r\n")
        gone.close()
        count = 2000
        pad = "x" * 1000
        drained = threading.Event()
        received = []

        def watch():
            while len(received) < count:
                message = watcher._message()
                if message.get("Event") == "UserEvent" and message.get("UserEvent") == "Burst":
                    received.append(int(message["N"]))
            drained.set()

        answered = []

        def drainSender():
            while len(answered) < count:
                if sender._message().get("Response") == "Success":
                    answered.append(1)

        threads = [threading.Thread(target=f, daemon=True) for f in (watch, drainSender)]
        for thread in threads:
            thread.start()
        lines = "".join(f"Action: UserEvent\r\nUserEvent: Burst\r\nN: {n}\r\nPad: {pad}\r\n\r\n"
                        for n in range(count))
        sender.sock.sendall(lines.encode())
        assert drained.wait(PATIENCE)
        assert received == list(range(count))
        threads[1].join(PATIENCE)
        assert len(answered) == count
        pbx.waitFor(r"not reading|does not read", PATIENCE)
        slow.close()
        check = session(pbx)
        assert check.action("Ping")["Ping"] == "Pong"
        check.sock.close()
    finally:
        watcher.sock.close()
        sender.sock.close()
