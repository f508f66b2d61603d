"""
Every code block of docs/modules.md runs: Python blocks are executed in
order in one namespace (a module named txpbx_greeting, so that the dotted
names the guide's descriptors use resolve), C{conf} blocks are parsed as
Asterisk configuration and C{cfg} blocks as setuptools configuration. A
block in any other language fails the test, so none can go unchecked.
"""

import configparser
import os
import re
import sys
import types

import pytest

from pbxcore.config import parseText

GUIDE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "modules.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
NAMESPACE = "txpbx_greeting"


def blocks():
    with open(GUIDE) as f:
        text = f.read()
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield match.group(1), match.group(2), line


def test_everyBlockHasARunnableLanguage():
    found = list(blocks())
    assert len(found) >= 10
    assert {language for language, _, _ in found} <= {"python", "conf", "cfg"}, \
        [(language, line) for language, _, line in found]


def test_guideRuns():
    module = types.ModuleType(NAMESPACE)
    module.__file__ = GUIDE
    sys.modules[NAMESPACE] = module
    try:
        for language, code, line in blocks():
            if language == "python":
                try:
                    exec(compile(code, f"{GUIDE}:{line}", "exec"), module.__dict__)
                except Exception as e:
                    pytest.fail(f"docs/modules.md block at line {line}: {type(e).__name__}: {e}")
            elif language == "conf":
                parseText(code, f"docs/modules.md:{line}")
            elif language == "cfg":
                parser = configparser.ConfigParser()
                parser.read_string(code)
                assert parser.sections(), line
    finally:
        sys.modules.pop(NAMESPACE, None)
