"""
The configuration actions over StringTransport: Asterisk's answers, the
privileges they need, and nothing read or written outside the folder.
"""

import os

import pytest

from .managerfakes import CONF, Client, makeManager

#: A user who may read the configuration but not change it, and one with
#: no config class at all.
USERS = CONF + """
[reader]
secret = pw
read = all
write = system

[nobody]
secret = pw
read = all
write = call
"""

SIP = """\
; phones
[general]
bindport = 5060 ; the usual

[phones](!)
context = internal

[1001](phones)
secret = x
"""


@pytest.fixture
def env(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "sip.conf").write_text(SIP)
    (tmp_path / "secret.conf").write_text("[x]\na = b\n")
    os.symlink(str(tmp_path / "secret.conf"), str(etc / "link.conf"))
    pbx, module = makeManager(etc, USERS)
    reloads = []
    pbx.reload = lambda name=None: reloads.append(name) or []
    return pbx, module, reloads, etc


def ask(module, user, **fields):
    client = Client(module)
    client.login(user)
    client.send(**fields)
    return client.read()


def test_get_config_lines_templates_and_filters(env):
    pbx, module, reloads, etc = env
    [m] = ask(module, "admin", Action="GetConfig", Filename="sip.conf")
    assert [(k, v) for k, v in m.fields if k != "Response"] == [
        ("Category-000000", "general"), ("Line-000000-000000", "bindport=5060"),
        ("Category-000001", "1001"), ("Templates-000001", "phones"),
        ("Line-000001-000000", "context=internal"), ("Line-000001-000001", "secret=x")]
    [m] = ask(module, "admin", Action="GetConfig", Filename="sip.conf",
              Filter="TEMPLATES=restrict")
    assert m.get("Category-000000") == "phones" and m.get("IsTemplate-000000") == "1"
    [m] = ask(module, "admin", Action="ListCategories", Filename="sip.conf")
    assert m.getall("Category-000000") == ["general"] and m.get("Category-000001") == "1001"
    [m] = ask(module, "admin", Action="GetConfigJSON", Filename="sip.conf")
    assert m.get("JSON") == ('{"general":{"bindport":"5060"},'
                             '"1001":{"templates":"phones","context":"internal","secret":"x"}}')


@pytest.mark.parametrize("fields, message", [
    ({"Action": "GetConfig"}, "Filename not specified"),
    ({"Action": "GetConfig", "Filename": "nosuch.conf"}, "Config file not found"),
    ({"Action": "GetConfig", "Filename": "/etc/passwd"}, "File requires escalated privileges"),
    ({"Action": "GetConfig", "Filename": "../secret.conf"}, "File requires escalated privileges"),
    ({"Action": "GetConfig", "Filename": "link.conf"}, "File requires escalated privileges"),
    ({"Action": "UpdateConfig", "SrcFilename": "sip.conf"}, "Filename not specified"),
    ({"Action": "UpdateConfig", "SrcFilename": "sip.conf", "DstFilename": "../out.conf"},
     "File requires escalated privileges"),
    ({"Action": "UpdateConfig", "SrcFilename": "sip.conf", "DstFilename": "sip.conf",
      "Action-000000": "Update", "Cat-000000": "general", "Var-000000": "nosuch",
      "Value-000000": "1"}, "Update did not complete successfully"),
    ({"Action": "CreateConfig", "Filename": "../../x.conf"},
     "File requires escalated privileges"),
    ({"Action": "CreateConfig", "Filename": "sip.conf"}, "File exists"),
])
def test_errors(env, fields, message):
    pbx, module, reloads, etc = env
    [m] = ask(module, "admin", **fields)
    assert (m.get("Response"), m.get("Message")) == ("Error", message)
    assert (etc / "sip.conf").read_text() == SIP
    assert not (etc.parent / "out.conf").exists()


def test_update_edits_in_place_and_reloads(env):
    pbx, module, reloads, etc = env
    [m] = ask(module, "admin", Action="UpdateConfig", SrcFilename="sip.conf",
              DstFilename="sip.conf", Reload="chan_sip",
              **{"Action-000000": "Update", "Cat-000000": "general", "Var-000000": "bindport",
                 "Value-000000": "5070",
                 "Action-000001": "NewCat", "Cat-000001": "1002",
                 "Options-000001": "inherit=phones",
                 "Action-000002": "Append", "Cat-000002": "1002", "Var-000002": "secret",
                 "Value-000002": "y;z"})
    assert m.get("Response") == "Success"
    assert reloads == ["chan_sip"]
    assert (etc / "sip.conf").read_text() == SIP.replace("5060 ;", "5070 ;") + \
        "[1002](phones)\nsecret = y\\;z\n"
    [m] = ask(module, "admin", Action="CreateConfig", Filename="new.conf")
    assert m.get("Message") == "New configuration file created successfully"
    assert (etc / "new.conf").read_text() == ""


def test_privileges(env):
    pbx, module, reloads, etc = env
    [m] = ask(module, "reader", Action="GetConfig", Filename="sip.conf")
    assert m.get("Response") == "Success"
    for action in ({"Action": "UpdateConfig", "SrcFilename": "sip.conf",
                    "DstFilename": "sip.conf", "Action-000000": "DelCat",
                    "Cat-000000": "general"},
                   {"Action": "CreateConfig", "Filename": "x.conf"}):
        [m] = ask(module, "reader", **action)
        assert (m.get("Response"), m.get("Message")) == ("Error", "Permission denied")
    [m] = ask(module, "nobody", Action="GetConfig", Filename="sip.conf")
    assert m.get("Message") == "Permission denied"
    assert (etc / "sip.conf").read_text() == SIP and not (etc / "x.conf").exists()
