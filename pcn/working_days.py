"""Working days in England: Monday to Friday, less the bank holidays of England and Wales.

The bank holidays come from the maintained `holidays` package (GB, subdivision ENG), which follows
the UK government's published list, including one-off holidays (a coronation, a jubilee).
"""

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def first_working_day_of_month(day: date) -> date:
    """The first working day of `day`'s month: Monday 4 January 2027 (1 January, a Friday, is a bank
    holiday, then the weekend); Monday 3 August 2026 (1 August is a Saturday)."""
    first = day.replace(day=1)
    while not is_working_day(first):
        first += timedelta(days=1)
    return first


@lru_cache(maxsize=4096)  # a pure function of its arguments; reports ask it for each admission
def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (`start` itself is never counted).

    Friday 19 December 2025 + 2 → Tuesday 23 December (the weekend skipped); Tuesday 23 December
    2025 + 2 → Monday 29 December and Wednesday 24 December + 2 → Tuesday 30 December (25 and 26
    December are bank holidays). `days` = 0 gives `start` itself.
    """
    if days < 0:
        raise ValueError("days must be 0 or more")
    day = start
    while days:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def subtract_working_days(start: date, days: int) -> date:
    """The date `days` working days before `start` (`start` itself is never counted).

    Tuesday 23 December 2025 − 2 → Friday 19 December (the weekend skipped); Tuesday 30 December
    2025 − 2 → Wednesday 24 December (25 and 26 December are bank holidays). 0 gives `start`.
    """
    if days < 0:
        raise ValueError("days must be 0 or more")
    day = start
    while days:
        day -= timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is before `start`).

    The inverse of `add_working_days` for a working-day `end`: Wednesday 24 December 2025 to
    Tuesday 30 December → 2 (25, 26 December and the weekend are not working days); a day to itself → 0.
    """
    if end < start:
        return -working_days_between(end, start)
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
