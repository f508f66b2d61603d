"""Call and pickup groups (pure)."""

import pytest

from pbxcore.pickupgroups import Groups, parseGroups, parseNamedGroups


def test_numberedGroups():
    assert parseGroups("1,3-5, 63") == {1, 3, 4, 5, 63}
    assert parseGroups("") == frozenset()
    for bad in ("64", "5-3", "x", "-1"):
        with pytest.raises(ValueError):
            parseGroups(bad)


def test_namedGroups():
    assert parseNamedGroups("sales, support,,") == {"sales", "support"}


def test_canPickUp():
    sales = Groups.fromSettings({"callgroup": "1", "pickupgroup": "1-2"})
    other = Groups.fromSettings({"callgroup": "3"})
    named = Groups.fromSettings({"namedcallgroup": "desk", "namedpickupgroup": "desk"})
    assert sales.canPickUp(sales)
    assert not sales.canPickUp(other)
    assert not other.canPickUp(sales)  # no pickup group at all
    assert named.canPickUp(named) and not named.canPickUp(sales)
