"""Manager sessions over StringTransport: greeting, login, refusals, ordering, flow control."""

import hashlib

import pytest
from twisted.internet.defer import Deferred

from pbxcore.manager.actions import Action
from pbxcore.manager.framing import GREETING
from pbxcore.manager.responses import Success

from .managerfakes import Client, byName, makeManager


@pytest.fixture
def manager(tmp_path):
    return makeManager(tmp_path)


def securityEvents(pbx):
    return [e.name for e in pbx.eventLog if e.category == "security"]


def test_greeting(manager):
    pbx, module = manager
    client = Client(module)
    assert client.greeting == GREETING == b"Asterisk Call Manager/5.0.2\r\n"


def test_login_plain_echoes_actionid_and_sends_fullybooted(manager):
    pbx, module = manager
    client = Client(module)
    client.send(Action="login", Username="ADMIN", Secret="pw", ActionID="l1")
    raw = client.transport.value()
    assert raw.startswith(b"Response: Success\r\nActionID: l1\r\nMessage: Authentication accepted\r\n\r\n")
    messages = client.read()
    assert byName(messages, "FullyBooted")
    assert securityEvents(pbx) == ["SuccessfulAuth"]
    assert client.protocol.username == "admin"


@pytest.mark.parametrize("username, secret, event", [
    ("admin", "wrong", "InvalidPassword"),
    ("nobody", "pw", "InvalidAccountID"),
])
def test_failed_login_delayed_same_message_closed(manager, username, secret, event):
    pbx, module = manager
    client = Client(module)
    client.send(Action="Login", Username=username, Secret=secret, ActionID="x")
    assert client.read() == []  # delayed
    pbx.reactor.advance(module.factory.authFailureDelay)
    [m] = client.read()
    assert (m.get("Response"), m.get("Message"), m.actionID) == (
        "Error", "Authentication failed", "x")
    assert client.closed
    assert securityEvents(pbx) == [event]
    assert module.factory.failedLogins == 1
    [e] = [e for e in pbx.eventLog if e.name == event]
    assert e.get("Service") == "AMI" and e.get("AccountID") == username
    assert e.get("RemoteAddress") == "IPV4/TCP/127.0.0.1/40000"


def test_md5_login(manager):
    pbx, module = manager
    client = Client(module)
    client.send(Action="Challenge", AuthType="MD5", ActionID="c")
    [m] = client.read()
    challenge = m.get("Challenge")
    assert m.get("Response") == "Success" and challenge and m.actionID == "c"
    key = hashlib.md5((challenge + "pw").encode()).hexdigest()
    client.send(Action="Login", AuthType="MD5", Username="admin", Key=key)
    assert client.read()[0].get("Message") == "Authentication accepted"


def test_md5_wrong_key(manager):
    pbx, module = manager
    client = Client(module)
    client.send(Action="Challenge", AuthType="md5")
    client.read()
    client.send(Action="Login", AuthType="MD5", Username="admin", Key="00" * 16)
    pbx.reactor.advance(2)
    assert client.read()[0].get("Message") == "Authentication failed"
    assert securityEvents(pbx) == ["ChallengeResponseFailed"]


def test_challenge_needs_authtype(manager):
    pbx, module = manager
    client = Client(module)
    client.send(Action="Challenge")
    [m] = client.read()
    assert m.get("Response") == "Error" and m.get("Message") == "Must specify AuthType"


def test_acl_checked_before_password(manager):
    pbx, module = manager
    client = Client(module, host="10.0.0.1")
    client.send(Action="Login", Username="admin", Secret="pw")
    pbx.reactor.advance(2)
    assert client.read()[0].get("Message") == "Authentication failed"
    assert securityEvents(pbx) == ["FailedACL"]


def test_unauthenticated_actions_refused_but_ping(manager):
    pbx, module = manager
    client = Client(module)
    client.send(Action="CoreStatus", ActionID="a")
    client.send(Action="Ping", ActionID="b")
    first, second = client.read()
    assert (first.get("Response"), first.get("Message"), first.actionID) == (
        "Error", "Permission denied", "a")
    assert (second.get("Response"), second.get("Ping"), second.actionID) == (
        "Success", "Pong", "b")
    assert not client.closed


def test_unknown_and_missing_action(manager):
    pbx, module = manager
    client = Client(module)
    client.login()
    client.send(Action="Frobnicate", ActionID="u")
    client.send(Foo="bar")
    unknown, missing = client.read()
    assert unknown.get("Response") == "Error" and unknown.actionID == "u"
    assert unknown.get("Message").startswith("Invalid/unknown command")
    assert missing.get("Message") == "Missing action in request"


def test_permission_denied_for_missing_write_class(manager):
    pbx, module = manager
    client = Client(module)
    client.login("caller")
    client.send(Action="Command", Command="core show version", ActionID="p")
    [m] = client.read()
    assert (m.get("Response"), m.get("Message"), m.actionID) == (
        "Error", "Permission denied", "p")


def test_action_not_first_unknown_fields_any_case(manager):
    pbx, module = manager
    client = Client(module)
    client.login()
    client.send(ActionID="z", Whatever="1", action="PING")
    [m] = client.read()
    assert m.get("Ping") == "Pong" and m.actionID == "z"


def test_responses_in_request_order(manager):
    pbx, module = manager
    slow = Deferred()
    pbx.registrar("test").register(
        "manageraction", Action("SlowThing", (), "slow", lambda s, r: slow))
    client = Client(module)
    client.login()
    client.send(Action="SlowThing", ActionID="1")
    client.send(Action="Ping", ActionID="2")
    client.send(Action="CoreShowChannels", ActionID="3")
    assert client.read() == []
    slow.callback(Success("done"))
    messages = client.read()
    assert [m.actionID for m in messages] == ["1", "2", "3", "3"]
    assert messages[0].get("Message") == "done"


def test_logoff_goodbye_then_close(manager):
    pbx, module = manager
    client = Client(module)
    client.login()
    client.send(Action="Logoff", ActionID="bye")
    [m] = client.read()
    assert (m.get("Response"), m.actionID) == ("Goodbye", "bye")
    assert m.get("Message") == "Thanks for all the fish."
    assert client.closed


def test_authlimit(manager):
    pbx, module = manager
    clients = [Client(module) for _ in range(4)]
    assert [c.closed for c in clients] == [False, False, False, True]
    assert clients[3].greeting == b""
    clients[0].login()
    assert not Client(module).closed  # a login frees a place


def test_authtimeout(manager):
    pbx, module = manager
    client = Client(module)
    loggedIn = Client(module)
    loggedIn.login()
    pbx.reactor.advance(10)
    assert client.closed and not loggedIn.closed


def test_oversized_message_error_then_close(manager):
    pbx, module = manager
    client = Client(module)
    client.protocol.dataReceived(b"Action: Ping\r\nX: " + b"a" * 70000)
    [m] = client.read()
    assert m.get("Response") == "Error" and m.get("Message") == "Message too large"
    assert client.closed


def test_binary_garbage_gets_an_error(manager):
    pbx, module = manager
    client = Client(module)
    client.protocol.dataReceived(b"\x00\xff\xfe\x80\r\n\x01\x02: \x03\r\n\r\n")
    [m] = client.read()
    assert m.get("Response") == "Error"
    client.send(Action="Ping")
    assert client.read()[0].get("Ping") == "Pong"


def test_slow_reader_disconnected_after_writetimeout(manager):
    pbx, module = manager
    client = Client(module)
    client.login()
    client.protocol.pauseProducing()
    pbx.emitEvent("UserEvent", [("UserEvent", "x")], "user")
    pbx.reactor.advance(0.05)
    assert not client.closed
    pbx.reactor.advance(0.1)
    assert client.transport.disconnecting
    assert module.factory.slowDisconnects == 1


def test_slow_reader_resumes_in_time(manager):
    pbx, module = manager
    client = Client(module)
    client.login()
    client.protocol.pauseProducing()
    pbx.reactor.advance(0.05)
    client.protocol.resumeProducing()
    pbx.reactor.advance(1)
    assert not client.closed


def test_slow_reader_buffer_cap(manager):
    pbx, module = manager
    module.factory.maxBufferedBytes = 10000
    client = Client(module)
    client.login()
    client.protocol.pauseProducing()
    for i in range(200):
        pbx.emitEvent("UserEvent", [("UserEvent", "burst"), ("N", str(i))], "user")
    assert client.transport.disconnecting
    assert len(client.transport.value()) < 12000


def test_connection_lost_cleans_up(manager):
    pbx, module = manager
    client = Client(module)
    client.login()
    assert module.factory.sessions == [client.protocol]
    client.protocol.connectionLost(None)
    assert module.factory.sessions == []
    pbx.emitEvent("UserEvent", [("UserEvent", "x")], "user")
