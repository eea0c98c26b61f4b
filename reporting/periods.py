"""Report periods: a calendar month, a QOF year (1 April to 31 March) or a custom range, each with the
period before it of the same kind (the previous month, the previous QOF year, the same number of days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta


class PeriodKind(StrEnum):
    MONTH = "month"
    QOF_YEAR = "qof_year"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("A period cannot end before it starts.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%B %Y}"
        if self.kind == PeriodKind.QOF_YEAR:
            return f"QOF year {self.start.year}/{(self.start.year + 1) % 100:02d}"
        return f"{self.start:%d %b %Y} to {self.end:%d %b %Y}"

    def previous(self) -> Period:
        if self.kind == PeriodKind.MONTH:
            start = self.start - relativedelta(months=1)
            return month(start.year, start.month)
        if self.kind == PeriodKind.QOF_YEAR:
            return qof_year(self.start.year - 1)
        return Period(
            PeriodKind.CUSTOM, self.start - timedelta(days=self.days), self.start - timedelta(days=1)
        )

    def months(self) -> list[Period]:
        """The calendar months the period touches, each cut to the period (for trends by month)."""
        out, first = [], self.start.replace(day=1)
        while first <= self.end:
            last = first + relativedelta(months=1) - timedelta(days=1)
            out.append(Period(PeriodKind.MONTH, max(first, self.start), min(last, self.end)))
            first += relativedelta(months=1)
        return out


def month(year: int, number: int) -> Period:
    start = date(year, number, 1)
    return Period(PeriodKind.MONTH, start, start + relativedelta(months=1) - timedelta(days=1))


def qof_year(year: int) -> Period:
    return Period(PeriodKind.QOF_YEAR, date(year, 4, 1), date(year + 1, 3, 31))


def qof_year_of(day: date) -> Period:
    return qof_year(day.year if day.month >= 4 else day.year - 1)


def last_complete_month(today: date) -> Period:
    first = today.replace(day=1) - relativedelta(months=1)
    return month(first.year, first.month)


def last_twelve_months(today: date) -> list[Period]:
    """The 12 complete months before `today`'s month, oldest first (the dashboard's trend)."""
    latest = last_complete_month(today)
    return [
        month(d.year, d.month) for d in (latest.start - relativedelta(months=n) for n in range(11, -1, -1))
    ]
