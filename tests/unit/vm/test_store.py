"""voicemail.conf parsing and the mailbox store (files only, no reactor)."""

import struct
import wave

import pytest

from pbxcore.config import ConfigError, parseText
from pbxcore.store.voicemail import MailboxStore, parseVoicemailConf, splitMailbox

CONF = """
[general]
format = wav
maxmsg = 5
maxsecs = 60
minsecs = 2
[zonemessages]
eastern = America/New_York|'vm-received' Q 'digits/at' IMp
[default]
1001 => 1234,Alice Example,alice@example.com,,tz=eastern|saycid=yes
1002 => -4321,Bob
[office]
1001 => 9999,Carol
"""


def test_parseGeneralAndMailboxes():
    config = parseVoicemailConf(parseText(CONF, "voicemail.conf"))
    assert config.general.maxmsg == 5
    assert config.general.maxsecs == 60
    assert config.general.minsecs == 2
    assert [b.id for b in config.mailboxes] == ["1001@default", "1002@default", "1001@office"]
    alice = config.find("1001")
    assert (alice.password, alice.fullname, alice.email) == ("1234", "Alice Example",
                                                             "alice@example.com")
    assert alice.option("tz") == "eastern"
    assert config.findSpec("1002").password == "4321"
    assert config.findSpec("1001@OFFICE").fullname == "Carol"
    assert config.findSpec("1003") is None
    assert config.contexts() == ["default", "office"]


@pytest.mark.parametrize("text,line,words", [
    ("[general]\nmaxmsg = lots\n", 2, "whole number"),
    ("[general]\nformat = mp3\n", 2, "format"),
    ("[default]\n1001 => 1,A\n1001 => 2,B\n", 3, "twice"),
])
def test_badConfigNamesFileAndLine(text, line, words):
    with pytest.raises(ConfigError) as e:
        parseVoicemailConf(parseText(text, "voicemail.conf"))
    assert e.value.filename == "voicemail.conf"
    assert e.value.line == line
    assert words in str(e.value)


def test_splitMailbox():
    assert splitMailbox("1001@office") == ("1001", "office")
    assert splitMailbox("1001") == ("1001", "default")


def _audio(seconds):
    return struct.pack("<h", 1000) * (8000 * seconds)


def test_saveCountsMoveDeleteAndObservers(tmp_path):
    store = MailboxStore(str(tmp_path), clock=lambda: 1700000000)
    seen = []
    stop = store.observe(lambda *args: seen.append(args))
    info = store.save("default", "1001", _audio(3), callerid='"Bob; Jr" <2000>', exten="1001")
    assert info.duration == 3
    assert store.counts("default", "1001") == (1, 0)
    assert seen[-1] == ("default", "1001", 1, 0)
    folder = tmp_path / "voicemail" / "default" / "1001" / "INBOX"
    assert sorted(p.name for p in folder.iterdir()) == ["msg0000.txt", "msg0000.wav"]
    with wave.open(str(folder / "msg0000.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        assert w.getnframes() == 24000
    [listed] = store.messages("default", "1001")
    assert listed.callerid == '"Bob; Jr" <2000>'
    assert listed.origtime == 1700000000
    assert listed.duration == 3
    assert store.readAudio(listed) == _audio(3)

    second = store.save("default", "1001", _audio(1))
    assert second.number == 1
    moved = store.move(listed, "Old")
    assert (moved.folder, moved.number) == ("Old", 0)
    assert store.counts("default", "1001") == (1, 1)
    assert seen[-1] == ("default", "1001", 1, 1)
    # numbers stay stable: the remaining INBOX message is still msg0001
    assert [m.number for m in store.messages("default", "1001")] == [1]
    store.delete(moved)
    assert store.counts("default", "1001") == (1, 0)
    stop()
    store.delete(second)
    assert store.counts("default", "1001") == (0, 0)
    assert seen[-1] == ("default", "1001", 1, 0)


def test_badPathComponentsRefused(tmp_path):
    store = MailboxStore(str(tmp_path))
    with pytest.raises(ValueError):
        store.folderPath("..", "1001")
    with pytest.raises(ValueError):
        store.save("default", "../x", b"")
