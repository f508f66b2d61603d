"""
The config editor behind GetConfig and UpdateConfig: what it shows, and
that an edit changes only the lines it touches.
"""

import os

import pytest

from pbxcore.manager.confedit import (
    ConfigFile,
    EditError,
    Update,
    applyUpdates,
    updatesFrom,
)

SIP = """\
; the phones
[general]
bindport = 5060   ; the usual port
allow = ulaw

[phones](!)
type = friend
context = internal

#include "extra.conf"

[1001](phones)
secret = one\\;two ; a literal semicolon
mailbox = 1001
"""

EXTRA = """\
; included
[1002](phones)
secret = two
"""


def files(tmp_path, **texts):
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    root = str(tmp_path)

    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            return None

    return root, read


def load(tmp_path, main="sip.conf", **texts):
    root, read = files(tmp_path, **texts)
    return ConfigFile(os.path.join(root, main), read, lambda p: p.startswith(root))


def shown(config, name=None, match=None):
    return [(c.name, [(v.name, v.value) for v in variables])
            for c, variables in config.browse(name, match)]


def test_view_templates_hidden_inherited_first_includes_expanded(tmp_path):
    config = load(tmp_path, **{"sip.conf": SIP, "extra.conf": EXTRA})
    assert shown(config) == [
        ("general", [("bindport", "5060"), ("allow", "ulaw")]),
        ("1002", [("type", "friend"), ("context", "internal"), ("secret", "two")]),
        ("1001", [("type", "friend"), ("context", "internal"), ("secret", "one;two"),
                  ("mailbox", "1001")]),
    ]
    assert [c for c, _ in shown(config, match="TEMPLATES=restrict")] == ["phones"]
    assert [c for c, _ in shown(config, match="TEMPLATES=include")] == [
        "general", "phones", "1002", "1001"]
    assert [c for c, _ in shown(config, match="mailbox=^10")] == ["1001"]


def test_edits_keep_every_untouched_line(tmp_path):
    config = load(tmp_path, **{"sip.conf": SIP, "extra.conf": EXTRA})
    applyUpdates(config, [
        Update("Update", "general", "bindport", "5070"),
        Update("Append", "1001", "callerid", '"One" <1001>'),
        Update("Append", "1002", "mailbox", "1002"),
        Update("NewCat", "1003", options="inherit=phones"),
        Update("Append", "1003", "secret", "three"),
        Update("Delete", "general", "allow"),
    ])
    written = dict(config.changedDocuments())
    main = written[str(tmp_path / "sip.conf")]
    assert main == SIP.replace("bindport = 5060   ;", "bindport = 5070   ;").replace(
        "allow = ulaw\n", "").replace(
        "mailbox = 1001\n", 'mailbox = 1001\ncallerid = "One" <1001>\n') + \
        "[1003](phones)\nsecret = three\n"
    assert written[str(tmp_path / "extra.conf")] == EXTRA + "mailbox = 1002\n"


def test_rename_delete_empty_insert(tmp_path):
    config = load(tmp_path, **{"sip.conf": SIP, "extra.conf": EXTRA})
    applyUpdates(config, [
        Update("RenameCat", "1001", value="2001"),
        Update("Insert", "2001", "a", "b", line="0"),
        Update("EmptyCat", "general"),
        Update("DelCat", "1002"),
    ])
    written = dict(config.changedDocuments())
    main = written[str(tmp_path / "sip.conf")]
    assert "[2001](phones)\na = b\nsecret = one\\;two ; a literal semicolon\n" in main
    assert "[general]\n\n" in main and "bindport" not in main
    assert written[str(tmp_path / "extra.conf")] == "; included\n"


@pytest.mark.parametrize("update, message", [
    (Update("Frob", "general"), "Unknown action command"),
    (Update("Update", "nosuch", "a", "b"), "Given category does not exist"),
    (Update("Update", "general", "nosuch", "b"), "Update did not complete successfully"),
    (Update("Update", "general", "", "b"), "Problem with category, value, or line (if required)"),
    (Update("NewCat", "general"), "Create category did not complete successfully"),
    (Update("NewCat", "x", options="inherit=nosuch"), "Template category not found"),
    (Update("Delete", "general", "nosuch"), "Delete did not complete successfully"),
    (Update("RenameCat", "general"), "Problem with category, value, or line (if required)"),
])
def test_errors_are_asterisks(tmp_path, update, message):
    config = load(tmp_path, **{"sip.conf": SIP, "extra.conf": EXTRA})
    with pytest.raises(EditError) as e:
        applyUpdates(config, [update])
    assert str(e.value) == message


def test_numbered_headers_stop_at_a_gap_and_need_a_category():
    fields = {"Action-000000": "Append", "Cat-000000": "a", "Var-000000": "k",
              "Value-000000": "v", "Action-000002": "Delete", "Cat-000002": "b"}
    [update] = updatesFrom(fields.get)
    assert (update.action, update.cat, update.var, update.value) == ("Append", "a", "k", "v")
    with pytest.raises(EditError, match="Category not specified"):
        updatesFrom({"Action-000000": "NewCat"}.get)


def test_object_values_and_a_file_outside_the_folder_is_neither_read_nor_written(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.conf").write_text("[x]\na = b\n")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "extensions.conf").write_text("[default]\n#include ../outside/x.conf\n")
    root = str(etc)

    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            return None

    config = ConfigFile(str(etc / "extensions.conf"), read,
                        lambda p: p.startswith(root + os.sep))
    applyUpdates(config, [Update("Append", "default", "exten", ">300,1,Answer()")])
    assert dict(config.changedDocuments())[str(etc / "extensions.conf")] == \
        "[default]\n#include ../outside/x.conf\nexten => 300,1,Answer()\n"
    # The file outside is neither read nor written: its category is unknown here.
    assert [c.name for c, _ in config.browse()] == ["default"]
    with pytest.raises(EditError, match="Given category does not exist"):
        applyUpdates(config, [Update("Update", "x", "a", "c")])
    assert (outside / "x.conf").read_text() == "[x]\na = b\n"
