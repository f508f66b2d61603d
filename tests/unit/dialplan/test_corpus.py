"""
The dialplan corpus (tests/data/dialplan/): each folder holds an
extensions.conf (and what it includes) written from Asterisk's documented
syntax and the odd corners of its sample files, and expected.json saying
what loading it gives: the warnings (file:line and a fragment of the text)
in order, the contexts, steps, hints, includes and ignore patterns, or the
error where Asterisk's reader gives up on the file.
"""

import json
import os

import pytest

from pbxcore.config import ConfigError
from pbxcore.dialplan.parser import PRIORITY_HINT, readDialplan

CORPUS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "data", "dialplan"))
CASES = sorted(name for name in os.listdir(CORPUS)
               if os.path.isfile(os.path.join(CORPUS, name, "expected.json")))


def load(case):
    folder = os.path.join(CORPUS, case)
    with open(os.path.join(folder, "expected.json")) as f:
        spec = json.load(f)
    return folder, spec


def where(folder, filename):
    return os.path.relpath(filename, folder)


def test_corpusIsThere():
    assert len(CASES) >= 5, CASES


@pytest.mark.parametrize("case", CASES)
def test_corpusCase(case):
    folder, spec = load(case)
    path = os.path.join(folder, "extensions.conf")
    if "refused" in spec:
        filename, line, fragment = spec["refused"]
        with pytest.raises(ConfigError) as info:
            readDialplan(path, folder)
        assert (where(folder, info.value.filename), info.value.line) == (filename, line)
        assert fragment in info.value.message
        return
    dp = readDialplan(path, folder)
    prefix = folder + os.sep
    got = [(where(folder, f), line, message.replace(prefix, ""))
           for f, line, message in dp.warnings]
    assert [g[:2] for g in got] == [tuple(w[:2]) for w in spec["warnings"]], got
    for (_, _, message), (_, _, fragment) in zip(got, spec["warnings"]):
        assert fragment in message, (message, fragment)
    checkContents(dp, spec)


def checkContents(dp, spec):
    if "contexts" in spec:
        assert dp.contextNames() == spec["contexts"]
    for name, value in spec.get("globals", []):
        assert (name, value) in dp.globals
    for key, value in spec.get("general", {}).items():
        assert dp.general[key] == value
    for s in spec.get("steps", []):
        step = dp.find(s["context"], s["exten"], s["priority"], callerid=s.get("callerid"))
        assert step is not None, s
        assert (step.app, step.data) == (s["app"], s["data"]), s
        assert step.label == s.get("label"), s
    for context, exten, priority in spec.get("absent", []):
        assert dp.find(context, exten, priority) is None, (context, exten, priority)
    for context, exten, devices in spec.get("hints", []):
        assert dp.hint(context, exten) == devices
        assert dp.find(context, exten, PRIORITY_HINT).app == devices
    for context, names in spec.get("includes", {}).items():
        assert [i.context for i in dp.contexts[context].includes] == names
    for context, patterns in spec.get("ignorepats", {}).items():
        assert list(dp.contexts[context].ignorepats) == patterns
    for context, exten, label, priority in spec.get("labels", []):
        assert dp.findLabel(context, exten, label) == priority
