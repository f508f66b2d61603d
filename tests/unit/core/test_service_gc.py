"""pbx.conf's gcthreshold: parsed with file:line errors, applied only under twistd."""

import pytest

from pbxcore import service
from pbxcore.config import ConfigError
from pbxcore.settings import PBXSettings


def settingsFor(tmp_path, options):
    (tmp_path / "pbx.conf").write_text("[options]\nverbose = 3\n" + options)
    (tmp_path / "modules.conf").write_text("[modules]\nautoload = no\n")
    return PBXSettings.fromConfigDir(str(tmp_path))


def test_defaultWhenAbsent(tmp_path):
    settings = settingsFor(tmp_path, "")
    assert service.gcThreshold(str(tmp_path), settings) == service.DEFAULT_GC_THRESHOLD == 50000


@pytest.mark.parametrize("text, value", [("0", 0), ("1000", 1000), (" 70000 ", 70000)])
def test_wholeNumbers(tmp_path, text, value):
    settings = settingsFor(tmp_path, f"gcthreshold = {text}\n")
    assert service.gcThreshold(str(tmp_path), settings) == value


def test_badValueNamesFileAndLine(tmp_path):
    settings = settingsFor(tmp_path, "gcthreshold = lots\n")
    with pytest.raises(ConfigError) as caught:
        service.gcThreshold(str(tmp_path), settings)
    assert str(caught.value).startswith(f"{tmp_path / 'pbx.conf'}:3:")
    assert "gcthreshold" in str(caught.value)


class FakeGC:
    def __init__(self):
        self.calls = []

    def collect(self):
        self.calls.append("collect")

    def freeze(self):
        self.calls.append("freeze")

    def get_freeze_count(self):
        return 123

    def get_threshold(self):
        return (700, 10, 10)

    def set_threshold(self, *values):
        self.calls.append(("set_threshold", values))


class Booted:
    """Just what _tuneCollector reads from a PBXService."""

    log = service.PBXService.log
    _tuneCollector = service.PBXService._tuneCollector

    def __init__(self, underTwistd, threshold):
        self._installSignalHandlers = underTwistd
        self.gcThreshold = threshold


def test_appliedUnderTwistd(monkeypatch):
    fake = FakeGC()
    monkeypatch.setattr(service, "gc", fake)
    Booted(True, 50000)._tuneCollector()
    assert fake.calls == ["collect", "freeze", ("set_threshold", (50000, 10, 10))]


@pytest.mark.parametrize("underTwistd, threshold", [(False, 50000), (True, 0)])
def test_leftAloneOtherwise(monkeypatch, underTwistd, threshold):
    fake = FakeGC()
    monkeypatch.setattr(service, "gc", fake)
    Booted(underTwistd, threshold)._tuneCollector()
    assert fake.calls == []
