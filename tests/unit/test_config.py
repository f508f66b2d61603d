"""
Tests for pbxcore.config, the Asterisk .conf dialect.

Fixture files in the style of Asterisk's samples live in data/config/; error
cases are written inline (or into a temporary directory) so that the expected
file:line is visible next to the text it refers to.
"""

import os
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbxcore.config import (
    Config,
    ConfigError,
    Entry,
    Section,
    isFalse,
    isTrue,
    parseFile,
    parseText,
)

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "config")


def fixture(*parts):
    return os.path.join(DATA, *parts)


def errorOf(text, filename="<string>"):
    """The ConfigError that parsing C{text} raises."""
    with pytest.raises(ConfigError) as info:
        parseText(text, filename)
    return info.value


def write(directory, name, text, mode="w"):
    path = os.path.join(str(directory), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)
    return path


# -- the realistic fixtures ---------------------------------------------------


class TestSipConf:
    @pytest.fixture
    def config(self):
        return parseFile(fixture("sip.conf"))

    def test_sectionsInFileOrderWithoutTemplates(self, config):
        assert config.sectionNames() == ["general", "1001", "1002", "provider"]
        assert [s.name for s in config.sections] == ["general", "1001", "1002", "provider"]
        assert list(config.templates) == ["phones", "secure"]
        assert config.filename == fixture("sip.conf")

    def test_general(self, config):
        general = config.section("general")
        assert general.filename == fixture("sip.conf")
        assert general.line == 13
        # Tabs and the trailing comment are gone.
        assert general.get("context") == "public"
        assert general.get("useragent") == "txpbx;test"
        # A blank value is still a value.
        assert general.get("realm") == ""
        assert "realm" in general
        assert general.getall("allow") == ["ulaw", "alaw", "gsm"]
        assert general.get("allow") == "gsm"
        assert general.getall("disallow") == ["all"]

    def test_blockCommentAtTopIsIgnored(self, config):
        general = config.section("general")
        keys = [e.key for e in general.entries]
        assert "including this line" not in keys
        assert config.section("this") is None
        # The first entry is the first line after the block comment.
        assert general.entries[0] == Entry("context", "public", fixture("sip.conf"), 14, False)

    def test_registerLines(self, config):
        general = config.section("general")
        registers = [e for e in general.entries if e.key == "register"]
        assert registers == [
            Entry("register", "1234:secret@sip.example.com/1234", fixture("sip.conf"), 25, True),
            Entry("register", "2345:password@sip.example.net:5062/2345",
                  fixture("sip.conf"), 26, True),
        ]

    def test_tabIndentedLine(self, config):
        gsm = [e for e in config.section("general").entries if e.value == "gsm"]
        assert gsm == [Entry("allow", "gsm", fixture("sip.conf"), 24, False)]

    def test_templates(self, config):
        phones = config.templates["phones"]
        assert phones.isTemplate
        assert phones.parents == ()
        assert (phones.filename, phones.line) == (fixture("sip.conf"), 32)
        assert phones.items() == [
            ("type", "friend"), ("host", "dynamic"), ("context", "internal"),
            ("disallow", "all"), ("allow", "ulaw"), ("qualify", "yes"),
        ]
        secure = config.templates["secure"]
        assert secure.isTemplate
        assert secure.parents == ("phones",)
        assert [e.line for e in secure.entries] == [33, 34, 35, 36, 37, 38, 41, 42]

    def test_inheritanceAndAppend(self, config):
        peer = config.section("1001")
        assert peer.parents == ("phones",)
        assert not peer.isTemplate
        assert peer.line == 44
        # Template entries first (remembering their own lines), then the
        # section's own, then what [1001](+) appended further down.
        assert [(e.key, e.line) for e in peer.entries] == [
            ("type", 33), ("host", 34), ("context", 35), ("disallow", 36),
            ("allow", 37), ("qualify", 38), ("secret", 45), ("callerid", 46),
            ("allow", 53),
        ]
        assert peer.get("secret") == "s3cr3t"
        assert peer.get("callerid") == '"Alice" <1001>'
        assert peer.getall("allow") == ["ulaw", "g722"]
        assert peer.get("context") == "internal"

    def test_twoLevelInheritance(self, config):
        peer = config.section("1002")
        assert peer.parents == ("secure",)
        assert peer.get("transport") == "tls"
        assert peer.get("type") == "friend"
        assert peer.get("secret") == "an;escaped;secret"
        assert peer.entries[-1] == Entry("mailbox", "1002@default", fixture("sip.conf"), 50, False)

    def test_plainSection(self, config):
        provider = config.section("provider")
        assert provider.parents == ()
        assert provider.items() == [
            ("type", "peer"), ("host", "sip.example.com"), ("fromuser", "1234"),
        ]


class TestExtensionsConf:
    @pytest.fixture
    def config(self):
        return parseFile(fixture("extensions.conf"))

    def test_contexts(self, config):
        assert config.sectionNames() == ["general", "globals", "internal", "outbound"]
        assert isTrue(config.section("general").get("static"))
        assert isFalse(config.section("general").get("writeprotect"))
        assert config.section("globals").get("TRUNK") == "SIP/provider"
        assert config.section("globals").get("trunk") == "SIP/provider"

    def test_dialplanLinesSurviveIntact(self, config):
        internal = config.section("internal")
        assert [(e.key, e.value, e.line, e.arrow) for e in internal.entries] == [
            ("exten", "1001,hint,SIP/1001", 14, True),
            ("exten", "1001,1,Dial(SIP/1001,20,tT)", 15, True),
            ("same", "n,VoiceMail(1001@default,u)", 16, True),
            ("same", "n(hangup),Hangup()", 17, True),
            ("exten", "_X.,1,Set(A=${B})", 18, True),
            ("same", "n(check),GotoIf($[${LEN(${EXTEN})} > 4]?outbound,${EXTEN},1)", 19, True),
            ("exten", "100/5551234,1,Playback(vm-goodbye)", 20, True),
            ("exten", "_9NXXXXXX,1,Dial(${TRUNK}/${EXTEN:1},,r)", 21, True),
            ("exten", "*97,1,VoiceMailMain(${CALLERID(num)}@default)", 22, True),
            ("exten", "s,1,Set(CALLERID(name)=Front desk (main))", 23, True),
            ("include", "outbound", 24, True),
            ("include", "parkedcalls", 25, True),
            ("switch", "IAX2/user:[key]@myserver/mycontext", 26, True),
        ]

    def test_valuesMayContainArrowsAndEquals(self, config):
        outbound = config.section("outbound")
        assert outbound.getall("exten") == [
            "_NXXNXXXXXX,1,Dial(${TRUNK}/1${EXTEN},60)",
            "_1NXXNXXXXXX,1,Dial(${TRUNK}/${EXTEN},60)",
            "i,1,Playback(invalid)",
            "h,1,NoOp(=> hung up, A==B)",
        ]

    def test_plainEqualsIsNotAnArrow(self, config):
        entry = config.section("general").entries[0]
        assert entry == Entry("static", "yes", fixture("extensions.conf"), 4, False)


class TestManagerConf:
    @pytest.fixture
    def config(self):
        return parseFile(fixture("manager.conf"))

    def test_globIncludesInSortedOrder(self, config):
        assert config.sectionNames() == ["general", "monitor", "ops", "admin"]

    def test_includedEntriesRememberTheirFile(self, config):
        monitor = config.section("monitor")
        assert monitor.filename == fixture("manager.d", "10-monitor.conf")
        assert monitor.line == 1
        assert monitor.entries == [
            Entry("secret", "monitorpass", fixture("manager.d", "10-monitor.conf"), 2, False),
            Entry("read", "call,system", fixture("manager.d", "10-monitor.conf"), 3, False),
            Entry("write", "", fixture("manager.d", "10-monitor.conf"), 4, False),
        ]
        ops = config.section("ops")
        assert (ops.filename, ops.line) == (fixture("manager.d", "20-ops.conf"), 2)

    def test_includingFileCarriesOn(self, config):
        admin = config.section("admin")
        assert (admin.filename, admin.line) == (fixture("manager.conf"), 13)
        assert admin.get("permit") == "127.0.0.1/255.255.255.0"
        assert admin.get("read").split(",")[:2] == ["system", "call"]
        assert isTrue(config.section("general").get("enabled"))


class TestModulesConf:
    def test_selection(self):
        modules = parseFile(fixture("modules.conf")).section("modules")
        assert isTrue(modules.get("autoload"))
        assert modules.getall("preload") == ["res_odbc.so", "res_config_odbc.so"]
        assert modules.getall("require") == ["chan_sip.so"]
        assert modules.getall("load") == ["app_dial.so", "func_callerid.so"]
        assert modules.getall("noload") == ["chan_alsa.so", "chan_oss.so"]
        assert [e.line for e in modules.entries] == [6, 10, 11, 12, 13, 14, 15, 16]
        assert all(e.arrow for e in modules.entries[1:])


def test_includeLoopFixture():
    with pytest.raises(ConfigError) as info:
        parseFile(fixture("loop", "a.conf"))
    error = info.value
    assert error.filename == fixture("loop", "b.conf")
    assert error.line == 2
    assert error.message == (
        f"include loop: {fixture('loop', 'a.conf')} -> {fixture('loop', 'b.conf')}"
        f" -> {fixture('loop', 'a.conf')}"
    )


# -- lines, keys and values ---------------------------------------------------


class TestLines:
    def test_keysAndValuesTrimmed(self):
        section = parseText("[s]\n  \t key \t =  \tsome value\t \n").section("s")
        assert section.entries == [Entry("key", "some value", "<string>", 2, False)]

    def test_arrow(self):
        entry = parseText("[s]\nexten=>1,1,NoOp()\n").section("s").entries[0]
        assert (entry.key, entry.value, entry.arrow) == ("exten", "1,1,NoOp()", True)

    def test_onlyTheFirstEqualsSplits(self):
        entry = parseText("[s]\na = b = c => d\n").section("s").entries[0]
        assert (entry.key, entry.value, entry.arrow) == ("a", "b = c => d", False)

    def test_repeatedKeysKeptInOrder(self):
        section = parseText("[s]\nk=1\nother=x\nK=2\nk=3\n").section("s")
        assert section.getall("k") == ["1", "2", "3"]
        assert section.get("k") == "3"
        assert section.items() == [("k", "1"), ("other", "x"), ("K", "2"), ("k", "3")]

    def test_caseInsensitiveLookups(self):
        config = parseText("[General]\nBindPort = 5060\n")
        section = config.section("general")
        assert section is config.section("GENERAL")
        assert "general" in config and "GeNeRaL" in config
        assert "nothere" not in config
        assert section.get("bindport") == "5060"
        assert "BINDPORT" in section
        assert "bind" not in section
        assert section.entry("bindPORT").line == 2
        assert section.entry("nothere") is None

    def test_getDefault(self):
        section = parseText("[s]\n").section("s")
        assert section.get("missing") is None
        assert section.get("missing", "d") == "d"
        assert section.getall("missing") == []
        assert len(section) == 0
        assert section  # an empty section is still there

    def test_duplicateSectionsKept(self):
        config = parseText("[a]\nx=1\n[b]\n[A]\nx=2\n")
        assert [s.name for s in config.sections] == ["a", "b", "A"]
        assert config.sectionNames() == ["a", "b"]
        assert [s.get("x") for s in config.getall("a")] == ["1", "2"]
        assert config.section("a").get("x") == "1"
        assert [s.name for s in config] == ["a", "b", "A"]

    def test_sectionNamesMayHoldAnythingButBracket(self):
        config = parseText("[ odd name (1) = x,y ]\nk=v\n")
        assert config.sectionNames() == ["odd name (1) = x,y"]

    def test_spaceBeforeOptions(self):
        config = parseText("[t](!)\na=1\n[s] (t)\n")
        assert config.section("s").parents == ("t",)
        assert config.section("s").get("a") == "1"

    def test_plusEqualsAppendsToTheLastValue(self):
        section = parseText("[s]\nk = one\nk = two\nk += ,three\nnew+=x\n").section("s")
        assert section.entries == [
            Entry("k", "one", "<string>", 2, False),
            Entry("k", "two ,three", "<string>", 4, False),
            Entry("new", "x", "<string>", 5, False),
        ]

    def test_crlfAndBom(self):
        config = parseText("\ufeff[s]\r\nk = v\r\nexten => 1,1,NoOp()\r\n")
        assert config.section("s").entries == [
            Entry("k", "v", "<string>", 2, False),
            Entry("exten", "1,1,NoOp()", "<string>", 3, True),
        ]

    def test_crlfBomFile(self, tmp_path):
        path = write(tmp_path, "x.conf", b"\xef\xbb\xbf[s]\r\nname = caf\xc3\xa9\r\n", "wb")
        assert parseFile(path).section("s").entries == [Entry("name", "café", path, 2, False)]

    def test_emptyText(self):
        config = parseText("")
        assert config.sections == [] and config.templates == {}
        assert parseText("; only\n\n   \n;-- a\nb --;\n").sections == []


# -- comments -----------------------------------------------------------------


class TestComments:
    def test_lineComment(self):
        section = parseText("; head\n[s] ; after a header\nk = v ; trailing\n;k = w\n").section("s")
        assert section.items() == [("k", "v")]

    def test_escapedSemicolon(self):
        section = parseText("[s]\nk = a\\;b\\;c ; comment\n").section("s")
        assert section.get("k") == "a;b;c"

    def test_otherBackslashesStay(self):
        section = parseText("[s]\nexten => 1,1,Set(X=a\\,b\\\\c)\n").section("s")
        assert section.get("exten") == "1,1,Set(X=a\\,b\\\\c)"

    def test_blockCommentWithinALine(self):
        section = parseText("[s]\nk = a ;-- hidden --; b\n").section("s")
        assert section.get("k") == "a  b"

    def test_blockCommentAcrossLines(self):
        text = "[s]\nk = before ;-- starts\nx = hidden\nends --; j = after\nm = n\n"
        section = parseText(text).section("s")
        assert section.entries == [
            Entry("k", "before", "<string>", 2, False),
            Entry("j", "after", "<string>", 4, False),
            Entry("m", "n", "<string>", 5, False),
        ]

    def test_nestedBlockComments(self):
        text = "[s]\n;-- outer\n;-- inner --;\nhidden = 1\n--;\nshown = 2\n"
        assert parseText(text).section("s").items() == [("shown", "2")]

    def test_nestedOnOneLine(self):
        text = "[s]\nk = a ;-- x ;-- y --; z --; b ; c\n"
        assert parseText(text).section("s").get("k") == "a  b"

    def test_dashedRuleIsAnOrdinaryComment(self):
        # ";---" does not open a block, so the next line is live.
        text = "[s]\n;------------------\nk = v ;---- note\n"
        assert parseText(text).section("s").items() == [("k", "v")]

    def test_closerOutsideABlockIsALineComment(self):
        assert parseText("[s]\nk = a--; rest\n").section("s").get("k") == "a--"

    def test_semicolonInsideBlockIgnored(self):
        text = "[s]\n;-- a ; b \\; c\nd --; k = v\n"
        assert parseText(text).section("s").items() == [("k", "v")]

    def test_unterminatedBlockComment(self):
        error = errorOf("[s]\nk = v\n;-- never\nclosed\n")
        assert (error.line, str(error)) == (
            3, "<string>:3: block comment ';--' is never closed with '--;'"
        )

    def test_unterminatedInnerBlockComment(self):
        error = errorOf("[s]\n;-- outer\n;-- inner --;\n;-- inner2\n--;\n")
        assert error.line == 2


# -- templates, inheritance, append -------------------------------------------


class TestTemplates:
    def test_multipleParentsInOrder(self):
        text = "[a](!)\nx=a\n[b](!)\nx=b\ny=b\n[c](b,a)\nz=c\n"
        section = parseText(text).section("c")
        assert section.parents == ("b", "a")
        assert [(e.key, e.value, e.line) for e in section.entries] == [
            ("x", "b", 4), ("y", "b", 5), ("x", "a", 2), ("z", "c", 7),
        ]
        assert section.get("x") == "a"

    def test_templateInheritingTemplate(self):
        config = parseText("[a](!)\nx=1\n[b](!,a)\ny=2\n[c](b)\n")
        assert config.templates["b"].parents == ("a",)
        assert config.templates["b"].isTemplate
        assert config.section("c").items() == [("x", "1"), ("y", "2")]
        assert config.section("b") is None

    def test_optionsMayHaveSpaces(self):
        config = parseText("[a](!)\nx=1\n[b]( ! , a )\n")
        assert config.templates["b"].parents == ("a",)

    def test_inheritFromPlainSection(self):
        # As in Asterisk, any earlier category can be a parent.
        section = parseText("[base]\nx=1\n[c](base)\n").section("c")
        assert section.items() == [("x", "1")]

    def test_inheritanceIsASnapshot(self):
        config = parseText("[t](!)\nx=1\n[c](t)\n[t](+)\ny=2\n")
        assert config.section("c").items() == [("x", "1")]
        assert config.templates["t"].items() == [("x", "1"), ("y", "2")]

    def test_templateLookupIsCaseInsensitive(self):
        assert parseText("[Phones](!)\nx=1\n[c](PHONES)\n").section("c").get("x") == "1"

    def test_appendToEarlierSection(self):
        text = "[a]\nx=1\n[b]\ny=1\n[a](+)\nx=2\n[b]\n"
        config = parseText(text)
        assert [s.name for s in config.sections] == ["a", "b", "b"]
        a = config.section("a")
        assert (a.filename, a.line) == ("<string>", 1)
        assert [(e.value, e.line) for e in a.entries] == [("1", 2), ("2", 6)]

    def test_appendToFirstOfDuplicates(self):
        config = parseText("[a]\nx=1\n[a]\nx=2\n[A](+)\nx=3\n")
        assert [s.getall("x") for s in config.getall("a")] == [["1", "3"], ["2"]]

    def test_appendWithParents(self):
        config = parseText("[t](!)\nk=t\n[s]\nk=s\n[s](+,t)\n")
        section = config.section("s")
        assert section.parents == ("t",)
        assert section.getall("k") == ["s", "t"]

    def test_appendToTemplate(self):
        config = parseText("[t](!)\nk=1\n[t](+)\nk=2\n[t](!,+)\nk=3\n")
        assert config.templates["t"].getall("k") == ["1", "2", "3"]
        assert config.sections == []

    def test_missingTemplate(self):
        error = errorOf("[a](!)\n[s](a,nosuch)\n")
        assert str(error) == "<string>:2: [s] inherits from template 'nosuch', which is not defined"

    def test_templateMustComeFirst(self):
        error = errorOf("[s](t)\n[t](!)\n")
        assert (error.line, "'t'" in error.message) == (1, True)

    def test_appendWithoutSection(self):
        assert str(errorOf("[a]\n\n[b](+)\n")) == "<string>:3: cannot append to [b]: no such section"

    def test_appendCannotMakeATemplate(self):
        error = errorOf("[a]\n[a](!,+)\n")
        assert str(error) == "<string>:2: cannot make the existing section [a] a template"

    def test_duplicateTemplate(self):
        error = errorOf("[t](!)\n\n[T](!)\n")
        assert str(error) == "<string>:3: template [T] is already defined at <string>:1"

    def test_selfInheritance(self):
        error = errorOf("[a]\n[a](+,a)\n")
        assert str(error) == "<string>:2: [a] cannot inherit from itself"

    def test_filtersUnsupported(self):
        error = errorOf("[a]\n[a](+type=peer)\n")
        assert str(error) == "<string>:2: category filters like (+type=peer) are not supported"


class TestHeaderErrors:
    @pytest.mark.parametrize(
        "header, message",
        [
            ("[abc", "section header has no closing ']'"),
            ("[]", "empty section name"),
            ("[  ]", "empty section name"),
            ("[a] junk", "unexpected text after [a]: 'junk'"),
            ("[a](!", "unexpected text after [a]: '(!'"),
            ("[a](!) x", "unexpected text after [a]: '(!) x'"),
            ("[a](b)(c)", "malformed options after [a]: '(b)(c)'"),
            ("[a]()", "empty option in [a]()"),
            ("[a](!,)", "empty option in [a](!,)"),
        ],
    )
    def test_badHeader(self, header, message):
        error = errorOf(f"[ok]\nk=v\n{header}\n")
        assert (error.filename, error.line, error.message) == ("<string>", 3, message)


class TestLineErrors:
    def test_keyBeforeSection(self):
        assert str(errorOf("; comment\n\nk = v\n[s]\n")) == (
            "<string>:3: key = value before any [section]"
        )

    def test_noEquals(self):
        assert str(errorOf("[s]\nk = v\njust words\n", "x.conf")) == (
            "x.conf:3: expected key = value, got 'just words'"
        )

    def test_noEqualsBeforeSection(self):
        assert errorOf("hello\n").line == 1

    def test_emptyKey(self):
        assert str(errorOf("[s]\n = v\n")) == "<string>:2: missing key before '='"
        assert str(errorOf("[s]\n=> v\n")) == "<string>:2: missing key before '='"
        assert str(errorOf("[s]\n+= v\n")) == "<string>:2: missing key before '+='"

    def test_lineNumbersCountCommentsAndCrlf(self):
        assert errorOf("[s]\r\n;c\r\n;-- a\r\nb --;\r\n\r\nbad\r\n").line == 6


# -- directives ---------------------------------------------------------------


class TestDirectives:
    def test_execDisabled(self):
        error = errorOf("[s]\n#exec /bin/echo k=v\n")
        assert str(error) == "<string>:2: #exec is disabled"
        assert str(errorOf("#tryexec /bin/true\n")) == "<string>:1: #tryexec is disabled"
        assert "#exec is disabled" in str(errorOf("#EXEC x\n"))

    def test_unknownDirective(self):
        assert str(errorOf("[s]\n#define x 1\n")) == "<string>:2: unknown directive '#define'"
        assert str(errorOf("[s]\n\n#\n")) == "<string>:3: unknown directive '#'"

    def test_includeNeedsAFile(self):
        assert str(errorOf("#include\n")) == "<string>:1: #include needs a file name"
        assert str(errorOf('[s]\n#tryinclude ""\n')) == "<string>:2: #tryinclude needs a file name"

    def test_unterminatedFileName(self):
        assert str(errorOf('#include "a.conf\n')) == (
            '<string>:1: #include: file name "a.conf is missing its closing "'
        )
        assert errorOf("#include <a.conf\n").message.endswith("closing >")

    def test_includeForms(self, tmp_path):
        write(tmp_path, "q.conf", "[q]\n")
        write(tmp_path, "a.conf", "[a]\n")
        write(tmp_path, "bare.conf", "[bare]\n")
        main = write(tmp_path, "main.conf",
                     '#include "q.conf"\n#include <a.conf>\n  #INCLUDE   bare.conf  \n')
        assert parseFile(main).sectionNames() == ["q", "a", "bare"]

    def test_includeRelativeToIncludingFile(self, tmp_path):
        sub = write(tmp_path, "sub/inner.conf", "[inner]\n#include deeper/leaf.conf\n")
        leaf = write(tmp_path, "sub/deeper/leaf.conf", "k = leaf\n")
        main = write(tmp_path, "main.conf", "#include sub/inner.conf\n")
        section = parseFile(main).section("inner")
        assert (section.filename, section.line) == (sub, 1)
        assert section.entries == [Entry("k", "leaf", leaf, 1, False)]

    def test_includeKeepsTheCurrentSection(self, tmp_path):
        inc = write(tmp_path, "inc.conf", "b = 2\n[other]\nc = 3\n")
        main = write(tmp_path, "main.conf", "[s]\na = 1\n#include inc.conf\nd = 4\n")
        config = parseFile(main)
        # The included file continues [s]; afterwards the including file
        # carries on in [s] too, whatever the included file opened.
        assert config.section("s").entries == [
            Entry("a", "1", main, 2, False),
            Entry("b", "2", inc, 1, False),
            Entry("d", "4", main, 4, False),
        ]
        assert config.section("other").items() == [("c", "3")]

    def test_includedTemplatesUsable(self, tmp_path):
        write(tmp_path, "templates.conf", "[phones](!)\ntype = friend\n")
        main = write(tmp_path, "sip.conf", "#include templates.conf\n[1001](phones)\n")
        assert parseFile(main).section("1001").get("type") == "friend"

    def test_sameFileTwiceIsNotALoop(self, tmp_path):
        write(tmp_path, "common.conf", "k = v\n")
        main = write(tmp_path, "main.conf",
                     "[a]\n#include common.conf\n[b]\n#include common.conf\n")
        config = parseFile(main)
        assert config.section("a").get("k") == config.section("b").get("k") == "v"

    def test_includeMissing(self, tmp_path):
        main = write(tmp_path, "main.conf", "[s]\nk = v\n#include nope.conf\n")
        error = errorOfFile(main)
        assert (error.filename, error.line) == (main, 3)
        assert error.message == f"cannot include {tmp_path / 'nope.conf'}: no such file"

    def test_tryincludeMissing(self, tmp_path):
        main = write(tmp_path, "main.conf",
                     "[s]\n#tryinclude nope.conf\n#tryinclude none/*.conf\nk = v\n")
        assert parseFile(main).section("s").items() == [("k", "v")]

    def test_globWithoutMatch(self, tmp_path):
        main = write(tmp_path, "main.conf", "\n#include conf.d/*.conf\n")
        assert str(errorOfFile(main)) == f"{main}:2: #include conf.d/*.conf: no file matches"

    def test_globSkipsDirectoriesAndSorts(self, tmp_path):
        write(tmp_path, "d/b.conf", "[b]\n")
        write(tmp_path, "d/a.conf", "[a]\n")
        write(tmp_path, "d/c.conf/x", "")
        write(tmp_path, "d/skip.txt", "[skip]\n")
        main = write(tmp_path, "main.conf", "#include d/*.conf\n")
        assert parseFile(main).sectionNames() == ["a", "b"]

    def test_includeDirectory(self, tmp_path):
        os.mkdir(tmp_path / "dir")
        main = write(tmp_path, "main.conf", "#tryinclude dir\n")
        error = errorOfFile(main)
        assert str(error) == f"{main}:1: cannot read {tmp_path / 'dir'}: not a regular file"

    def test_errorInsideIncludedFile(self, tmp_path):
        inc = write(tmp_path, "inc.conf", "[x]\nok = 1\n\noops\n")
        main = write(tmp_path, "main.conf", "[s]\n#include inc.conf\n")
        error = errorOfFile(main)
        assert (error.filename, error.line) == (inc, 4)
        assert str(error) == f"{inc}:4: expected key = value, got 'oops'"

    def test_blockCommentsDoNotCrossFiles(self, tmp_path):
        inc = write(tmp_path, "inc.conf", "k = 1\n;-- open\n")
        main = write(tmp_path, "main.conf", "[s]\n#include inc.conf\n--;\n")
        error = errorOfFile(main)
        assert (error.filename, error.line) == (inc, 2)

    def test_selfInclude(self, tmp_path):
        main = write(tmp_path, "main.conf", "[s]\n#include main.conf\n")
        assert str(errorOfFile(main)) == f"{main}:2: include loop: {main} -> {main}"

    def test_globLoop(self, tmp_path):
        main = write(tmp_path, "a.conf", "[s]\n#include *.conf\n")
        error = errorOfFile(main)
        assert error.line == 2 and error.message.startswith("include loop:")

    def test_parseTextIncludesRelativeToFilename(self, tmp_path):
        write(tmp_path, "inc.conf", "k = v\n")
        name = str(tmp_path / "virtual.conf")
        assert parseText("[s]\n#include inc.conf\n", name).section("s").get("k") == "v"
        error = errorOf("[s]\n#include virtual.conf\n", name)
        assert error.message.startswith("cannot include")

    def test_deepNesting(self, tmp_path):
        for i in range(40):
            write(tmp_path, f"f{i}.conf", f"#include f{i + 1}.conf\n")
        write(tmp_path, "f40.conf", "[s]\n")
        error = errorOfFile(str(tmp_path / "f0.conf"))
        assert error.message == "includes nested more than 32 deep"
        assert error.line == 1


def errorOfFile(path):
    with pytest.raises(ConfigError) as info:
        parseFile(path)
    return info.value


# -- files --------------------------------------------------------------------


class TestParseFile:
    def test_missingFile(self, tmp_path):
        path = str(tmp_path / "absent.conf")
        error = errorOfFile(path)
        assert (error.filename, error.line) == (path, None)
        assert str(error) == f"{path}: no such file"

    def test_directory(self, tmp_path):
        error = errorOfFile(str(tmp_path))
        assert str(error) == f"{tmp_path}: cannot read {tmp_path}: not a regular file"

    def test_unusablePath(self, tmp_path):
        path = str(tmp_path / "bad\x00name.conf")
        error = errorOfFile(path)
        assert error.filename == path and error.line is None
        assert error.message.startswith(f"cannot read {path}: ")

    def test_pathThroughAFile(self, tmp_path):
        path = os.path.join(write(tmp_path, "plain", ""), "x.conf")
        assert str(errorOfFile(path)) == f"{path}: no such file"

    def test_invalidUtf8(self, tmp_path):
        path = write(tmp_path, "latin.conf", b"[s]\nk = v\nname = caf\xe9\n", "wb")
        assert str(errorOfFile(path)) == f"{path}:3: text is not valid UTF-8"


# -- values and errors --------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "YES", "true", "True", "y", "t", "1", "on", "On", " yes "])
def test_isTrue(value):
    assert isTrue(value)
    assert not isFalse(value)


@pytest.mark.parametrize("value", ["no", "NO", "false", "n", "f", "0", "off", "OFF"])
def test_isFalse(value):
    assert isFalse(value)
    assert not isTrue(value)


@pytest.mark.parametrize("value", [None, "", "maybe", "2", "yess", "nope"])
def test_neither(value):
    assert not isTrue(value)
    assert not isFalse(value)


class TestConfigError:
    def test_messageFirst(self):
        error = ConfigError("bad value", "sip.conf", 12)
        assert (error.message, error.filename, error.line) == ("bad value", "sip.conf", 12)
        assert str(error) == "sip.conf:12: bad value"

    def test_noLine(self):
        assert str(ConfigError("missing", "etc", None)) == "etc: missing"
        assert str(ConfigError("missing", "etc", 0)) == "etc: missing"

    def test_messageOnly(self):
        error = ConfigError("no configuration")
        assert (str(error), error.filename, error.line) == ("no configuration", None, None)

    def test_keywords(self):
        error = ConfigError(message="m", filename="f", line=3)
        assert str(error) == "f:3: m"

    def test_pickles(self):
        error = pickle.loads(pickle.dumps(ConfigError("m", "f", 3)))
        assert (error.message, error.filename, error.line) == ("m", "f", 3)


def test_buildingByHand():
    """Code and tests elsewhere may build configurations without text."""
    section = Section("s", [Entry("k", "v", "f", 1)])
    config = Config("f", [section])
    assert config.section("S").get("K") == "v"
    assert section.entries[0].arrow is False
    assert section.parents == () and not section.isTemplate


# -- properties ---------------------------------------------------------------

# Include targets resolve into a directory that does not exist, so fuzzed
# "#include" lines can only ever find nothing.
_NOWHERE = "/nonexistent-txpbx-config-fuzz/fuzz.conf"

_tokens = st.sampled_from([
    "[", "]", "(", ")", "!", "+", ",", ";", ";--", "--;", "\\", "\\;", "=", "=>", "+=",
    "#include ", "#tryinclude ", "#exec ", "#", "\n", "\r\n", " ", "\t", "\ufeff",
    "a", "key", "value", "*", '"', "<", ">", "tpl", "s", "\x00",
])


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitraryTextOnlyRaisesConfigError(text):
    try:
        parseText(text, _NOWHERE)
    except ConfigError as e:
        assert e.filename == _NOWHERE and isinstance(e.line, int) and e.line >= 1
        assert str(e).startswith(f"{_NOWHERE}:{e.line}: ")


@settings(max_examples=500, deadline=None)
@given(st.lists(_tokens, max_size=60).map("".join))
def test_dialectSoupOnlyRaisesConfigError(text):
    try:
        parseText(text, _NOWHERE)
    except ConfigError as e:
        assert e.filename == _NOWHERE and e.line >= 1


_names = st.text(st.sampled_from("abcXYZ019_-. "), min_size=1, max_size=8).map(str.strip).filter(bool)
_values = st.text(
    st.sampled_from("abc XYZ 019,()=>${}[]!+@/:.\"'*\t"), max_size=20
).map(lambda v: v.strip(" \t"))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(_names, st.lists(st.tuples(_names, _values, st.booleans()), max_size=6)),
        max_size=6,
    ),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_renderedConfigsRoundTrip(sections, newline, comments):
    lines = []
    for name, entries in sections:
        lines.append(f"[{name}]" + (" ; header" if comments else ""))
        for key, value, arrow in entries:
            if key.endswith("+"):
                continue
            line = f"{key} {'=>' if arrow else '='} {value}"
            if comments:
                lines.append(";-- before --;")
                line += " ; trailing"
            lines.append(line)
    config = parseText(newline.join(lines))
    assert [s.name for s in config.sections] == [name for name, _ in sections]
    for section, (_, entries) in zip(config.sections, sections):
        assert [(e.key, e.value, e.arrow) for e in section.entries] == entries
