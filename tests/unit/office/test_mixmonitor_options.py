"""MixMonitor options and volume (pure)."""

from array import array

import pytest

from plugins.app_mixmonitor_options import MixMonitorOptions, adjustVolume, parseOptions


def test_options():
    assert parseOptions("") == MixMonitorOptions()
    assert parseOptions("ab") == MixMonitorOptions(append=True, bridgedOnly=True)
    assert parseOptions("v(2)V(-1)") == MixMonitorOptions(readVolume=2, writeVolume=-1)
    assert parseOptions("W(3)") == MixMonitorOptions(readVolume=3, writeVolume=3)
    for bad in ("v(5)", "V(x)", "W(2"):
        with pytest.raises(ValueError):
            parseOptions(bad)


def test_volume():
    pcm = array("h", [1000, -1000, 20000]).tobytes()
    assert list(array("h", adjustVolume(pcm, 1))) == [2000, -2000, 32767]
    assert list(array("h", adjustVolume(pcm, -1))) == [500, -500, 10000]
    assert adjustVolume(pcm, 0) == pcm
