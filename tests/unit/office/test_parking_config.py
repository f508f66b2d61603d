"""res_parking.conf and features.conf parking settings, and slot choice (pure)."""

import os

import pytest

from pbxcore.config import ConfigError, parseFile, parseText
from plugins.res_parking_config import (
    ParkingLotConfig,
    checkLots,
    chooseSlot,
    lotForContext,
    parseFeaturesParking,
    parseResParking,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def test_sampleLot():
    lots = parseResParking(parseFile(os.path.join(ROOT, "etc", "res_parking.conf")))
    lot = lots["default"]
    assert (lot.context, lot.parkext, lot.parkposStart, lot.parkposEnd) == (
        "parkedcalls", "700", 701, 720)
    assert lot.parkingtime == 45 and lot.comebacktoorigin and lot.parkedmusicclass == "default"
    assert lot.hint(701) == "park:701@parkedcalls"


def test_featuresConfGeneralCompatibility():
    lots = parseFeaturesParking(parseText(
        "[general]\nparkext => 800\nparkpos => 801-805\ncontext => parked\n"
        "parkingtime => 10\ncomebacktoorigin = no\n"
        "[parkinglot_sales]\nparkext => 900\nparkpos => 901-902\ncontext => sales\n"))
    assert lots["default"].parkext == "800"
    assert list(lots["default"].slots()) == [801, 802, 803, 804, 805]
    assert lots["default"].context == "parked" and not lots["default"].comebacktoorigin
    assert lots["parkinglot_sales"].parkext == "900"


@pytest.mark.parametrize("line, message", [
    ("parkpos => 720-701", "res_parking.conf:3: parkpos: '720-701' ends before it starts"),
    ("parkingtime => soon", "res_parking.conf:3: parkingtime: 'soon' is not a number"),
    ("findslot => middle", "res_parking.conf:3: findslot: 'middle' is not first or next"),
])
def test_badValuesNameFileAndLine(line, message):
    with pytest.raises(ConfigError) as e:
        parseResParking(parseText(f"[general]\n[default]\n{line}\n", "res_parking.conf"))
    assert str(e.value) == message


def test_overlappingLotsRefused():
    lots = parseResParking(parseText("[default]\nparkpos => 701-710\n[b]\nparkext => 705\n"))
    with pytest.raises(ConfigError):
        checkLots(lots, "res_parking.conf")


def test_chooseSlot():
    lot = ParkingLotConfig(parkposStart=701, parkposEnd=703)
    assert chooseSlot(lot, set()) == 701
    assert chooseSlot(lot, {701}) == 702
    assert chooseSlot(lot, {701, 702, 703}) is None
    assert chooseSlot(lot, set(), wanted=703) == 703
    assert chooseSlot(lot, {703}, wanted=703) is None
    assert chooseSlot(lot, set(), wanted=799) is None
    following = ParkingLotConfig(parkposStart=701, parkposEnd=703, findslot="next")
    assert chooseSlot(following, set(), last=701) == 702
    assert chooseSlot(following, {701}, last=703) == 702


def test_lotForContext():
    lots = {"default": ParkingLotConfig(parkposStart=701, parkposEnd=720)}
    assert lotForContext(lots, "ParkedCalls", "700").name == "default"
    assert lotForContext(lots, "parkedcalls", "715").name == "default"
    assert lotForContext(lots, "parkedcalls", "721") is None
    assert lotForContext(lots, "other", "701") is None
