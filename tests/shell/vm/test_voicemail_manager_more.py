"""
The voicemail module's other manager actions (VoicemailUserStatus,
VoicemailBoxSummary, VoicemailRefresh, MWIGet, MWIUpdate/MWIDelete) and the
core's DeviceStateList.
"""

import pytest

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


def ask(c, *fields):
    c.send(("ActionID", "q"), *fields)
    return [m for m in c.read() if m.actionID == "q"]


def test_user_status_and_box_summary(client):
    pbx, service, c = client
    info = service.store.save("default", "1001", toneSlin(440, 1000), callerid='"Bob" <1002>')
    service.store.move(info, "Old")
    service.store.save("default", "1001", toneSlin(440, 1000), callerid="555")
    detail = ask(c, ("Action", "VoicemailUserStatus"), ("Context", "default"),
                 ("Mailbox", "1001"))
    assert detail[0].get("Message") == "Voicemail user detail will follow"
    [user] = byName(detail, "VoicemailUserDetail")
    assert (user.get("Fullname"), user.get("NewMessageCount"), user.get("OldMessageCount")) == (
        "Alice Example", "1", "1")
    assert byName(detail, "VoicemailUserDetailComplete")[0].get("ListItems") == "1"
    [missing] = ask(c, ("Action", "VoicemailUserStatus"), ("Mailbox", "1001"))
    assert missing.get("Message") == "Need 'Context' and 'Mailbox' parameters."
    [unknown] = ask(c, ("Action", "VoicemailUserStatus"), ("Context", "default"),
                    ("Mailbox", "1999"))
    assert (unknown.get("Response"), unknown.get("Message")) == (
        "Success", "There is no voicemail user of the given info.")
    assert [k for k, _ in user.fields][2:7] == ["VMContext", "VoiceMailbox", "Fullname",
                                                "Email", "Pager"]
    assert user.get("SayEnvelope") == "Yes" and user.get("CanReview") == "No"
    summary = ask(c, ("Action", "VoicemailBoxSummary"), ("Context", "default"),
                  ("Mailbox", "1001"))
    assert summary[0].get("Message") == "Voicemail box detail will follow"
    rows = byName(summary, "VoicemailBoxDetail")
    assert [(r.get("Folder"), r.get("CallerID")) for r in rows] == [
        ("INBOX", "555"), ("Old", '"Bob" <1002>')]
    assert byName(summary, "VoicemailBoxDetailComplete")[0].get("ListItems") == "2"
    assert rows[0].get("Date").endswith("UTC " + rows[0].get("Date").split()[-1])
    [none] = ask(c, ("Action", "VoicemailBoxSummary"), ("Context", "default"),
                 ("Mailbox", "1999"))
    assert none.get("Message") == "There is no voicemail user matching the given user."


def test_refresh_and_mwi(client):
    pbx, service, c = client
    service.store.save("default", "1002", toneSlin(440, 1000))
    c.read()
    c.send(("Action", "VoicemailRefresh"), ("Context", "default"), ("ActionID", "r"))
    messages = c.read()
    [ok] = [m for m in messages if m.actionID == "r"]
    assert (ok.get("Response"), ok.get("Message")) == ("Success", "Refresh sent")
    waiting = byName(messages, "MessageWaiting")
    assert [(e.get("Mailbox"), e.get("New")) for e in waiting] == [
        ("1001@default", "0"), ("1002@default", "1")]
    got = ask(c, ("Action", "MWIGet"), ("Mailbox", "/^100[12]@/"))
    assert [(m.get("Mailbox"), m.get("NewMessages")) for m in byName(got, "MWIGet")] == [
        ("1001@default", "0"), ("1002@default", "1")]
    [one] = byName(ask(c, ("Action", "MWIGet"), ("Mailbox", "1002")), "MWIGet")
    assert one.get("Mailbox") == "1002@default"
    # External counts (Asterisk's res_mwi_external): they win over the spool
    # and are announced (MessageWaiting, hence the phones' MWI NOTIFYs).
    c.send(("Action", "MWIUpdate"), ("Mailbox", "1001"), ("NewMessages", "3"),
           ("OldMessages", "1"), ("ActionID", "u"))
    messages = c.read()
    [update] = [m for m in messages if m.actionID == "u"]
    assert update.get("Response") == "Success"
    [waiting] = byName(messages, "MessageWaiting")
    assert (waiting.get("Mailbox"), waiting.get("New"), waiting.get("Old")) == (
        "1001@default", "3", "1")
    [count] = ask(c, ("Action", "MailboxCount"), ("Mailbox", "1001@default"))
    assert (count.get("NewMessages"), count.get("OldMessages")) == ("3", "1")
    ask(c, ("Action", "MWIUpdate"), ("Mailbox", "gateway@remote"), ("NewMessages", "2"))
    got = ask(c, ("Action", "MWIGet"), ("Mailbox", "/@remote$/"))
    assert [(m.get("Mailbox"), m.get("NewMessages")) for m in byName(got, "MWIGet")] == [
        ("gateway@remote", "2")]
    [bad] = ask(c, ("Action", "MWIUpdate"), ("Mailbox", "1001"), ("NewMessages", "x"))
    assert bad.get("Message") == "Invalid NewMessages: x"
    [regex] = ask(c, ("Action", "MWIGet"), ("Mailbox", "/(/"))
    assert regex.get("Message") == "Mailbox regex format invalid in: /(/"
    [delete] = ask(c, ("Action", "MWIDelete"), ("Mailbox", "/^1001@/"))
    assert delete.get("Response") == "Success"
    [count] = ask(c, ("Action", "MailboxCount"), ("Mailbox", "1001@default"))
    assert (count.get("NewMessages"), count.get("OldMessages")) == ("0", "0")
    [missing] = ask(c, ("Action", "MWIDelete"))
    assert missing.get("Message") == "Missing mailbox parameter in request"


def test_device_state_list(client):
    pbx, service, c = client
    from pbxcore.devicestate.engine import DeviceStateEngine

    pbx.devicestate = DeviceStateEngine(pbx)
    pbx.devicestate.setCustomState("lamp", "INUSE")
    answer = ask(c, ("Action", "DeviceStateList"))
    assert answer[0].get("Message") == "Device State Changes will follow"
    assert [(e.get("Device"), e.get("State")) for e in byName(answer, "DeviceStateChange")] \
        == [("Custom:lamp", "INUSE")]
    assert byName(answer, "DeviceStateListComplete")[0].get("ListItems") == "1"
