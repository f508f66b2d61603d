"""Time specifications of GotoIfTime, IFTIME and timed includes."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from pbxcore.dialplan.timing import TimeSpecError, matches, parseTimeSpec

# 2024-01-01 was a Monday.
MON = datetime.date(2024, 1, 1)


def at(day, hh, mm, month=1, year=2024):
    return datetime.datetime(year, month, day, hh, mm)


def test_officeHours():
    spec = parseTimeSpec("09:00-17:00,mon-fri,*,*")
    assert matches(spec, at(1, 9, 0))
    assert matches(spec, at(1, 17, 0))      # the end minute is included
    assert not matches(spec, at(1, 17, 1))
    assert not matches(spec, at(1, 8, 59))
    assert matches(spec, at(5, 12, 0))      # Friday
    assert not matches(spec, at(6, 12, 0))  # Saturday
    assert not matches(spec, at(7, 12, 0))  # Sunday


def test_wrapAround():
    night = parseTimeSpec("22:00-06:00,*,*,*")
    assert matches(night, at(1, 23, 30))
    assert matches(night, at(1, 3, 0))
    assert not matches(night, at(1, 12, 0))
    weekend = parseTimeSpec("*,fri-mon,*,*")
    assert [matches(weekend, at(d, 12, 0)) for d in range(1, 8)] == \
        [True, False, False, False, True, True, True]
    winter = parseTimeSpec("*,*,*,dec-feb")
    assert matches(winter, at(15, 0, 0, month=12))
    assert matches(winter, at(15, 0, 0, month=2))
    assert not matches(winter, at(15, 0, 0, month=3))


def test_daysOfMonthAndLists():
    spec = parseTimeSpec("*,*,1-7&25,*")
    assert matches(spec, at(3, 0, 0))
    assert matches(spec, at(25, 0, 0))
    assert not matches(spec, at(10, 0, 0))
    holidays = parseTimeSpec("*,*,25,dec")
    assert matches(holidays, at(25, 10, 0, month=12))
    assert not matches(holidays, at(25, 10, 0, month=11))
    lunch = parseTimeSpec("12:00-12:59&18:00-18:30,sat&sun,*,*")
    assert matches(lunch, at(6, 12, 30))
    assert matches(lunch, at(7, 18, 30))
    assert not matches(lunch, at(6, 13, 0))
    assert not matches(lunch, at(5, 12, 30))


def test_defaultsAndOldSeparator():
    assert matches(parseTimeSpec("*"), at(1, 0, 0))
    spec = parseTimeSpec("08:00-18:00|mon-fri|*|*")
    assert matches(spec, at(2, 8, 0))
    assert not matches(spec, at(6, 8, 0))
    assert matches("*,MON,*,JAN", at(1, 10, 0))   # names in any case; text accepted


def test_timezone():
    spec = parseTimeSpec("09:00-17:00,*,*,*,America/New_York")
    assert spec.timezone == "America/New_York"
    utc = ZoneInfo("UTC")
    assert matches(spec, datetime.datetime(2024, 1, 1, 15, 0, tzinfo=utc))   # 10:00 in NY
    assert not matches(spec, datetime.datetime(2024, 1, 1, 12, 0, tzinfo=utc))  # 07:00 in NY


@pytest.mark.parametrize("text,fragment", [
    ("25:00-26:00,*,*,*", "invalid time"),
    ("9-17,*,*,*", "invalid time"),
    ("*,funday,*,*", "invalid weekday"),
    ("*,*,32,*", "invalid day of month"),
    ("*,*,*,smarch", "invalid month"),
    ("*,*,*,*,Nowhere/Atlantis", "unknown time zone"),
    ("*,*,*,*,*,*", "too many fields"),
])
def test_errors(text, fragment):
    with pytest.raises(TimeSpecError, match=fragment):
        parseTimeSpec(text)
