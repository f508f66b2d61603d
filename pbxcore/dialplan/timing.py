"""
Asterisk time specifications, as used by GotoIfTime, IFTIME and
C{include => context,timespec}:

    times,weekdays,mdays,months[,timezone]

C{times} is C{*} or C{HH:MM-HH:MM} (both minutes included; a range may wrap
past midnight), C{weekdays} C{sun}..C{sat}, C{mdays} 1..31, C{months}
C{jan}..C{dec}; each field is C{*}, a value, a range that may wrap
(C{fri-mon}), or several of these joined by C{&}. The older C{|} separator
between fields is accepted too.

Pure: the caller supplies the time.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Optional

__all__ = ["TimeSpecError", "TimeSpec", "parseTimeSpec", "matches", "splitTimeSpec"]

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun",
           "jul", "aug", "sep", "oct", "nov", "dec")
_MINUTES_PER_DAY = 24 * 60


class TimeSpecError(ValueError):
    """A time specification that cannot be understood."""


@dataclass(frozen=True)
class TimeSpec:
    """
    A parsed time specification: sets of the minutes of the day, weekdays
    (0 = Sunday), days of the month and months (1 = January) it covers.
    """

    text: str
    minutes: frozenset
    weekdays: frozenset
    mdays: frozenset
    months: frozenset
    timezone: Optional[str] = None


def _wrapRange(first: int, last: int, low: int, high: int) -> set:
    """Values first..last inclusive, wrapping from high back to low."""
    if first <= last:
        return set(range(first, last + 1))
    return set(range(first, high + 1)) | set(range(low, last + 1))


def _parseNamed(field: str, names: tuple, low: int, what: str) -> frozenset:
    """A field of names (weekdays, months) or numbers."""
    high = low + len(names) - 1
    field = field.strip()
    if field in ("", "*"):
        return frozenset(range(low, high + 1))

    def value(word: str) -> int:
        word = word.strip().lower()
        if word in names:
            return names.index(word) + low
        if word.isdigit() and low <= int(word) <= high:
            return int(word)
        raise TimeSpecError(f"invalid {what} {word!r}")

    out: set = set()
    for part in field.split("&"):
        if "-" in part:
            a, b = part.split("-", 1)
            out |= _wrapRange(value(a), value(b), low, high)
        else:
            out.add(value(part))
    return frozenset(out)


def _parseMdays(field: str) -> frozenset:
    field = field.strip()
    if field in ("", "*"):
        return frozenset(range(1, 32))

    def value(word: str) -> int:
        word = word.strip()
        if not word.isdigit() or not 1 <= int(word) <= 31:
            raise TimeSpecError(f"invalid day of month {word!r}")
        return int(word)

    out: set = set()
    for part in field.split("&"):
        if "-" in part:
            a, b = part.split("-", 1)
            out |= _wrapRange(value(a), value(b), 1, 31)
        else:
            out.add(value(part))
    return frozenset(out)


def _minuteOfDay(text: str) -> int:
    text = text.strip()
    try:
        hours, minutes = text.split(":")[:2]
        h, m = int(hours), int(minutes)
    except ValueError:
        raise TimeSpecError(f"invalid time {text!r} (expected HH:MM)") from None
    if not (0 <= h <= 24 and 0 <= m <= 59) or (h == 24 and m != 0):
        raise TimeSpecError(f"invalid time {text!r}")
    return (h * 60 + m) % _MINUTES_PER_DAY


def _parseTimes(field: str) -> frozenset:
    field = field.strip()
    if field in ("", "*"):
        return frozenset(range(_MINUTES_PER_DAY))
    out: set = set()
    for part in field.split("&"):
        if "-" in part:
            a, b = part.split("-", 1)
            out |= _wrapRange(_minuteOfDay(a), _minuteOfDay(b), 0, _MINUTES_PER_DAY - 1)
        else:
            out.add(_minuteOfDay(part))
    return frozenset(out)


def splitTimeSpec(text: str) -> list[str]:
    """The fields of a time specification, split on C{,} or the older C{|}."""
    sep = "," if "," in text else "|"
    return text.split(sep)


def parseTimeSpec(text: str) -> TimeSpec:
    """
    Parse C{times,weekdays,mdays,months[,timezone]}; missing trailing fields
    mean "any". Raises L{TimeSpecError}.
    """
    fields = [f.strip() for f in splitTimeSpec(text)]
    if len(fields) > 5:
        raise TimeSpecError(f"too many fields in time specification {text!r}")
    if len(fields) < 4:
        fields += ["*"] * (4 - len(fields))
    timezone = fields[4] if len(fields) == 5 and fields[4] else None
    if timezone is not None:
        _zone(timezone)
    return TimeSpec(
        text=text,
        minutes=_parseTimes(fields[0]),
        weekdays=_parseNamed(fields[1], _WEEKDAYS, 0, "weekday"),
        mdays=_parseMdays(fields[2]),
        months=_parseNamed(fields[3], _MONTHS, 1, "month"),
        timezone=timezone,
    )


def _zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeSpecError(f"unknown time zone {name!r}") from None


def matches(spec: TimeSpec | str, when: datetime.datetime) -> bool:
    """
    Whether C{when} falls inside C{spec}. An aware C{when} is converted to
    the spec's time zone when it names one; a naive one is taken as is.
    """
    if isinstance(spec, str):
        spec = parseTimeSpec(spec)
    if spec.timezone and when.tzinfo is not None:
        when = when.astimezone(_zone(spec.timezone))
    weekday = (when.weekday() + 1) % 7  # Python: Monday 0; here Sunday 0
    return (when.month in spec.months
            and when.day in spec.mdays
            and weekday in spec.weekdays
            and (when.hour * 60 + when.minute) in spec.minutes)
