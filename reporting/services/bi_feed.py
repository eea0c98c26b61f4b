"""The BI feed (Power BI, Excel): a report's figures for a period as CSV rows, one per practice per figure
and one for all the practices in scope, aggregate only: no patient identifier ever leaves in it.

Small numbers, as NHS England's published statistics treat them (settings.BI_SUPPRESS_BELOW,
settings.BI_ROUND_TO; defaults 8 and 5):
- a count of 0 is shown as 0 (nothing to protect: nobody is behind it);
- a count from 1 to BI_SUPPRESS_BELOW - 1 is suppressed, shown as "*";
- any other count is rounded to the nearest BI_ROUND_TO (halves up): 8 → 10, 12 → 10, 13 → 15.
  The "all practices" row is rounded from the true total, not summed from rounded figures, so it may
  differ from the sum of the practices' rows; rounding every figure is what keeps a suppressed
  practice's number from being worked out by subtraction.
- a percentage or a median is suppressed ("*") when fewer than BI_SUPPRESS_BELOW patients are behind
  it (its figure's drill-down list, per practice), else shown as computed: a percentage to the whole
  number, a median to one decimal place. They are not rounded to 5 (that would make them meaningless).
- no value (a median of nothing) is an empty cell.
Counts that a ComputedMeasure makes (EHCH on time, late, still due) are counts: the count rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count

from pcn.models import Practice
from reporting.periods import Period
from reporting.reports.base import AnyMeasure, ComputedMeasure, Report, Value, report_run

SUPPRESSED = "*"
ALL_PRACTICES = "ALL"

FEED_HEADER = [
    "report", "version", "period", "period_start", "period_end", "practice_ods_code", "practice_name",
    "figure", "label", "unit", "value", "previous_value",
]  # fmt: skip


def count_cell(value: Value) -> str:
    """A count as the feed shows it: 0, "*" for 1 to BI_SUPPRESS_BELOW - 1, else rounded to BI_ROUND_TO."""
    if value is None:
        return ""
    number = int(value)
    if number == 0:
        return "0"
    if number < settings.BI_SUPPRESS_BELOW:
        return SUPPRESSED
    step = settings.BI_ROUND_TO
    return str((number + step // 2) // step * step if step > 1 else number)


def rate_cell(value: Value, *, base: int, unit: str) -> str:
    """A percentage or median: "*" on a base under BI_SUPPRESS_BELOW patients, else the value."""
    if value is None:
        return ""
    if base < settings.BI_SUPPRESS_BELOW:
        return SUPPRESSED
    places = Decimal(1) if unit.strip() == "%" else Decimal("0.1")
    return str(Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP))


def is_rate(measure: AnyMeasure) -> bool:
    return isinstance(measure, ComputedMeasure) and bool(measure.unit)


def _bases(measure: AnyMeasure, period: Period, practice_ids: list[int]) -> dict[int | None, int]:
    """The patients behind a rate, per practice and in all (None): one grouped query."""
    rows = measure.patients(period, practice_ids).order_by().values("practice_id").annotate(n=Count("pk"))
    out: dict[int | None, int] = {row["practice_id"]: row["n"] for row in rows}
    out[None] = sum(out.values())
    return out


def _cell(measure: AnyMeasure, value: Value, base: int) -> str:
    return rate_cell(value, base=base, unit=measure.unit) if is_rate(measure) else count_cell(value)  # type: ignore[union-attr]


def bi_feed_rows(*, report: Report, period: Period, practice_ids: Iterable[int]) -> list[list[Any]]:
    """Every figure of `report` for `period` (and the one before): a row per practice, by ODS code, then
    the row for them all."""
    result = report_run(report=report, period=period, practice_ids=practice_ids)
    practices = list(Practice.objects.filter(pk__in=result.practice_ids).order_by("ods_code"))
    before = period.previous()
    head = [report.key, report.version, period.label, period.start.isoformat(), period.end.isoformat()]
    rows: list[list[Any]] = []
    for figure in result.figures:
        measure = figure.measure
        rate = is_rate(measure)
        now = _bases(measure, period, result.practice_ids) if rate else {}
        then = _bases(measure, before, result.practice_ids) if rate else {}
        zero = None if rate else 0  # a count with no row is 0; a rate with none has no value
        places: list[tuple[str, str, int | None]] = [(p.ods_code, p.name, p.pk) for p in practices]
        for ods, name, pk in [*places, (ALL_PRACTICES, "All practices in scope", None)]:
            current = figure.total if pk is None else figure.current.get(pk, zero)
            previous = figure.previous_total if pk is None else figure.previous.get(pk, zero)
            rows.append([
                *head, ods, name, measure.key, measure.label, getattr(measure, "unit", "").strip(),
                _cell(measure, current, now.get(pk, 0)), _cell(measure, previous, then.get(pk, 0)),
            ])  # fmt: skip
    return rows
