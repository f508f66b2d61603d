"""Voicemail's dialplan functions, manager actions, MessageWaiting events and CLI."""

import pytest

from pbxcore.errors import CLIUsageError
from tests.shell.manager.managerfakes import Client, byName, makeManager

from .support import makePBX, toneSlin


@pytest.fixture
def client(tmp_path):
    pbx, tech, service = makePBX(str(tmp_path))
    _, module = makeManager(pbx.configDir, pbx=pbx)
    c = Client(module)
    c.login()
    c.read()
    return pbx, service, c


def test_functions(tmp_path):
    pbx, tech, service = makePBX(str(tmp_path))
    service.store.save("default", "1001", toneSlin(440, 1000))
    channel = tech.inbound(pbx, exten="1")
    sub = pbx.engine.substitute
    assert sub(channel, "${MAILBOX_EXISTS(1001@default)}") == "1"
    assert sub(channel, "${MAILBOX_EXISTS(1001)}") == "1"
    assert sub(channel, "${MAILBOX_EXISTS(1009)}") == "0"
    assert sub(channel, "${VM_INFO(1001,exists)}") == "1"
    assert sub(channel, "${VM_INFO(1009@default,exists)}") == "0"
    assert sub(channel, "${VM_INFO(1001,count)}") == "1"
    assert sub(channel, "${VM_INFO(1001,count,Old)}") == "0"
    assert sub(channel, "${VM_INFO(1001,fullname)}") == "Alice Example"
    assert sub(channel, "${VM_INFO(1001,email)}") == "alice@example.com"
    assert sub(channel, "${VM_INFO(1002,password)}") == "4321"
    channel.hangup()


def test_mailboxCountAndStatus(client):
    pbx, service, c = client
    c.send(("Action", "MailboxCount"), ("Mailbox", "1001@default"), ("ActionID", "a1"))
    [response] = c.read()
    assert response.get("Response") == "Success"
    assert response.get("Message") == "Mailbox Message Count"
    assert (response.get("NewMessages"), response.get("OldMessages")) == ("0", "0")
    info = service.store.save("default", "1001", toneSlin(440, 1000))
    service.store.move(info, "Old")
    service.store.save("default", "1001", toneSlin(440, 1000))
    events = byName(c.read(), "MessageWaiting")
    assert [(e.get("Mailbox"), e.get("Waiting"), e.get("New"), e.get("Old"))
            for e in events] == [("1001@default", "1", "1", "0"),
                                 ("1001@default", "0", "0", "1"),
                                 ("1001@default", "1", "1", "1")]
    c.send(("Action", "MailboxCount"), ("Mailbox", "1001@default"), ("ActionID", "a2"))
    [response] = c.read()
    assert (response.get("NewMessages"), response.get("OldMessages")) == ("1", "1")
    assert response.get("ActionID") == "a2"
    c.send(("Action", "MailboxStatus"), ("Mailbox", "1001"))
    [response] = c.read()
    assert (response.get("Message"), response.get("Waiting")) == ("Mailbox Status", "1")
    c.send(("Action", "MailboxStatus"))
    [response] = c.read()
    assert response.get("Response") == "Error"
    assert response.get("Message") == "No Mailbox specified"


def test_voicemailUsersList(client):
    pbx, service, c = client
    service.store.save("default", "1002", toneSlin(440, 1000))
    c.read()
    c.send(("Action", "VoicemailUsersList"), ("ActionID", "x"))
    messages = c.read()
    assert messages[0].get("Response") == "Success"
    entries = byName(messages, "VoicemailUserEntry")
    assert [(e.get("VMContext"), e.get("VoiceMailbox"), e.get("Fullname"),
             e.get("NewMessageCount")) for e in entries] == [
        ("default", "1001", "Alice Example", "0"), ("default", "1002", "Bob Example", "1")]
    [complete] = byName(messages, "VoicemailUserEntryComplete")
    assert complete.get("ListItems") == "2"


def test_cliShowUsers(tmp_path):
    pbx, tech, service = makePBX(str(tmp_path))
    service.store.save("default", "1001", toneSlin(440, 1000))
    command = pbx.registry("clicommand").get("voicemail show users")
    text = command.execute(pbx, [])
    lines = text.splitlines()
    assert lines[0].split() == ["Context", "Mbox", "User", "Zone", "NewMsg"]
    assert lines[1].split() == ["default", "1001", "Alice", "Example", "1"]
    assert lines[-1] == "2 voicemail users configured."
    assert "No such voicemail context" in command.execute(pbx, ["for", "nowhere"])
    assert len(command.execute(pbx, ["for", "default"]).splitlines()) == 4
    with pytest.raises(CLIUsageError):
        command.execute(pbx, ["bogus"])


def test_reloadKeepsOldConfigOnError(tmp_path):
    import os

    from pbxcore.config import ConfigError
    from plugins.app_voicemail import AppVoicemailModule

    pbx, tech, service = makePBX(str(tmp_path))
    path = os.path.join(pbx.configDir, "voicemail.conf")
    with open(path, "w") as f:
        f.write("[general]\nmaxmsg = x\n")
    module = AppVoicemailModule()
    module.service = service
    with pytest.raises(ConfigError):
        module.reload(pbx)
    assert service.mailbox("1001") is not None
    with open(path, "w") as f:
        f.write("[default]\n2000 => 1,New\n")
    module.reload(pbx)
    assert service.mailbox("1001") is None
    assert service.mailbox("2000").fullname == "New"
