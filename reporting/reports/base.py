"""What a report is: a title, the question it answers, its source, a version shown on every output, and
its figures. A figure (`Measure`) counts rows of one query in a period, per practice, with the patients
behind it and the breakdowns it supports; `report_run` turns a report, a period and the practices a
user may see into the numbers (this period and the one before, per practice and for the PCN).

Two kinds of figure:
- an *event* figure counts what happened in the period (`date_field`: episodes opened, contacts made);
  its trend over months is one grouped query;
- an *as-at* figure counts what held at the period's end (`rows(period)`: caseload size, plans overdue);
  its trend is one query too, a conditional count for each period's end.
An as-at figure may instead be a condition on its rows (`when(period)`, a `Q`), as an event figure is
(its date in the period). The figures of a report that are conditions on the same rows are counted
together — this period and the one before, per practice and per value of every breakdown — in one
grouped query (`condition_counts`), which keeps a report over a large table (a recall year's entries)
to one scan of it, and a report of several figures on the same rows to one query for them all.
Figures that are not counts (a median, a percentage) are `ComputedMeasure`s with a function of their own;
`medians` turns (practice, value) pairs into one.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cached_property, reduce, wraps
from statistics import median
from typing import Any

from django.db.models import Count, Field, Model, Q, QuerySet, TextField
from django.db.models.functions import Cast, TruncMonth
from django.db.models.lookups import Contains
from django.utils import timezone

from caseload.models import Patient
from reporting.periods import Period

Value = int | float | None


@dataclass(frozen=True)
class Breakdown:
    key: str
    label: str
    path: str  # the field the rows are grouped by
    choices: dict[Any, str] | None = None  # display labels for stored values
    # The field holds a JSON list of keys (a contact's interventions): a row counts once under each key
    # it holds, and `choices` names every key counted.
    contains: bool = False

    def label_of(self, value: Any) -> str:
        return str((self.choices or {}).get(value, value or "Not recorded"))

    def rows_by_key(self, rows: QuerySet, counted: str, distinct: bool) -> list[tuple[Any, int]]:
        """(key, count) for a `contains` breakdown: one query, one conditional count per key."""
        # The list as text has each key in double quotes; the keys are slugs (no quotes or escapes), so
        # '"key"' matches that key and no other, on PostgreSQL and SQLite alike.
        as_text = Cast(self.path, TextField())
        keys = list(self.choices or {})
        found = rows.order_by().aggregate(
            **{
                f"n{i}": Count(counted, distinct=distinct, filter=Contains(as_text, f'"{key}"'))
                for i, key in enumerate(keys)
            }
        )
        return [(key, found[f"n{i}"]) for i, key in enumerate(keys) if found[f"n{i}"]]


@dataclass(frozen=True)
class Measure:
    """A count of the rows of one query in a period, per practice (see the module's docstring)."""

    key: str
    label: str
    base: Callable[[], QuerySet]  # every row, all practices (scoped by `practice_path`)
    practice_path: str  # how a row reaches its practice, e.g. "patient__practice_id"
    patient_path: str | None = "patient_id"  # how a row reaches its patient (None: no drill-down)
    date_field: str | None = None  # event figures: the date (or datetime) that puts a row in a period
    as_at: Callable[[QuerySet, Period], QuerySet] | None = None  # as-at figures: the rows at the end
    when: Callable[[Period], Q] | None = None  # or as a condition on the rows (see the module's docstring)
    distinct_patients: bool = False  # count patients rather than rows
    # Count distinct values of this path rather than rows: a row that reaches several practices (a
    # meeting of a series shared by two practices) counts once for each practice and once for the PCN.
    distinct: str | None = None
    breakdowns: tuple[Breakdown, ...] = ()
    help: str = ""

    def _counted_path(self) -> tuple[str, bool]:
        """What is counted, and whether distinct values of it are."""
        if self.distinct:
            return self.distinct, True
        if self.distinct_patients:
            return self.patient_path, True  # type: ignore[return-value]
        return "pk", False

    def _counted(self) -> Count:
        path, distinct = self._counted_path()
        return Count(path, distinct=distinct)

    @cached_property
    def model(self) -> type[Model]:
        """The model of the figure's rows (building `base()` just to ask costs a query's worth of work
        where it is made of subqueries)."""
        return self.base().model

    def _date(self) -> tuple[str, Field]:
        """The date field `date_field` ends on (through relations, e.g. "meeting__starts_at"), as a path
        without any transform after it, and the field."""
        model: type[Model] = self.model
        names: list[str] = []
        for part in self.date_field.split("__"):  # type: ignore[union-attr]
            found = model._meta.get_field(part)
            names.append(part)
            if not found.is_relation:
                return "__".join(names), found  # type: ignore[return-value]
            model = found.related_model  # type: ignore[assignment]
        raise ValueError(f"{self.date_field} does not end on a date field")

    def rows(self, period: Period, practice_ids: Iterable[int]) -> QuerySet:
        rows = self.base().filter(**{f"{self.practice_path}__in": list(practice_ids)})
        if self.date_field:
            rows = rows.filter(**{f"{self.date_field}__range": self._range(period)})
        if self.as_at:
            rows = self.as_at(rows, period)
        if self.when:
            rows = rows.filter(self.when(period))
        return rows

    @property
    def practice_is_the_patients(self) -> bool:
        """Whether the rows reach their practice through the patient counted (`patient__practice_id` for
        `patient_id`): then each patient counts at one practice, and the scope's figure of distinct
        patients is the sum of the practices' (no query of its own)."""
        return (
            self.distinct_patients
            and self.patient_path is not None
            and self.practice_path == f"{self.patient_path.removesuffix('_id')}__practice_id"
        )

    def condition(self, period: Period) -> Q:
        """The figure as a condition on its rows in the period (`condition_counts`)."""
        condition = Q()
        if self.date_field:
            condition &= Q(**{f"{self.date_field}__range": self._range(period)})
        if self.when:
            condition &= self.when(period)
        return condition

    @property
    def counted_by_condition(self) -> bool:
        """Whether `condition_counts` can count this figure with others on the same rows: an event figure
        or a condition on its rows, counting each row once or each patient once at their own practice."""
        return (
            bool(self.when or self.date_field)
            and not (self.as_at or self.distinct)
            and (not self.distinct_patients or self.practice_is_the_patients)
        )

    def grouped_breakdowns(self) -> list[Breakdown]:
        """The breakdowns `condition_counts` groups by: fields each row has one value of (grouping by a
        list field, or by a path through a one-to-many relation, would multiply the other figures' rows),
        for a figure counting rows (a patient's rows may fall under two values). The others are counted on
        their own (`breakdown`)."""
        if self.distinct_patients:
            return []
        model = self.model
        return [b for b in self.breakdowns if not b.contains and _single_valued(model, b.path)]

    def _range(self, period: Period) -> tuple[Any, Any]:
        if self._date()[1].get_internal_type() == "DateTimeField":
            return day_bounds(period)
        return period.start, period.end

    def counts(self, period: Period, practice_ids: Iterable[int]) -> dict[int, int]:
        """The figure per practice (one query); practices with none are left out."""
        rows = (
            self.rows(period, practice_ids).order_by().values(self.practice_path).annotate(n=self._counted())
        )
        return {row[self.practice_path]: row["n"] for row in rows}

    def trend(self, periods: list[Period], practice_ids: Iterable[int]) -> list[int]:
        """The PCN figure in each period, in one query: grouped by month for an event figure; for an
        as-at figure one conditional count per period (of the rows its `as_at` keeps at that end)."""
        practice_ids = list(practice_ids)
        if not periods:
            return []
        if not self.date_field:
            rows = self.base().filter(**{f"{self.practice_path}__in": practice_ids})
            path, distinct = self._counted_path()
            found = rows.order_by().aggregate(
                **{
                    f"n{i}": Count(path, distinct=distinct, filter=self._kept_at(rows, p))
                    for i, p in enumerate(periods)
                }
            )
            return [found[f"n{i}"] for i in range(len(periods))]
        whole = Period(periods[0].kind, periods[0].start, periods[-1].end)
        rows = (
            self.rows(whole, practice_ids).order_by()
            .annotate(month=TruncMonth(self._date()[0])).values("month").annotate(n=self._counted())
        )  # fmt: skip
        by_month = {_as_date(row["month"]): row["n"] for row in rows}
        return [by_month.get(p.start.replace(day=1), 0) for p in periods]

    def _kept_at(self, rows: QuerySet, period: Period) -> Q:
        kept = Q(pk__in=self.as_at(rows, period).values("pk")) if self.as_at else Q()
        return kept & self.when(period) if self.when else kept

    def patients(self, period: Period, practice_ids: Iterable[int]) -> QuerySet[Patient]:
        """The patients behind the figure (for the drill-down list)."""
        if self.patient_path is None:
            return Patient.objects.none()
        ids = self.rows(period, practice_ids).values(self.patient_path)
        return Patient.objects.filter(pk__in=ids)

    def breakdown(self, key: str, period: Period, practice_ids: Iterable[int]) -> list[tuple[str, int]]:
        """(label, count) per value of a breakdown, largest first."""
        chosen = next(b for b in self.breakdowns if b.key == key)
        labels = chosen.choices or {}
        if chosen.contains:
            found = chosen.rows_by_key(self.rows(period, practice_ids), *self._counted_path())
            return [(labels[k], n) for k, n in sorted(found, key=lambda kn: (-kn[1], str(kn[0])))]
        rows = (
            self.rows(period, practice_ids)
            .order_by()
            .values(chosen.path)
            .annotate(n=self._counted())
            .order_by("-n", chosen.path)
        )
        return [(chosen.label_of(row[chosen.path]), row["n"]) for row in rows]


@dataclass(frozen=True)
class ComputedMeasure:
    """A figure that is not a count (a median, a percentage): `compute(period, practice_ids)` gives it
    per practice and for the whole scope (key None)."""

    key: str
    label: str
    compute: Callable[[Period, list[int]], dict[int | None, Value]]
    patients_of: Callable[[Period, list[int]], QuerySet[Patient]] | None = None
    unit: str = ""
    help: str = ""
    breakdowns: tuple[Breakdown, ...] = ()
    # The scope's figure in each of several periods at once (the dashboard's 12 months), where that is
    # cheaper than `compute` once per period.
    trend_of: Callable[[list[Period], list[int]], list[Value]] | None = None

    def patients(self, period: Period, practice_ids: Iterable[int]) -> QuerySet[Patient]:
        if self.patients_of is None:
            return Patient.objects.none()
        return self.patients_of(period, list(practice_ids))

    def trend(self, periods: list[Period], practice_ids: Iterable[int]) -> list[Value]:
        ids = list(practice_ids)
        if self.trend_of is not None:
            return self.trend_of(periods, ids)
        return [self.compute(p, ids).get(None) for p in periods]


AnyMeasure = Measure | ComputedMeasure


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    question: str  # what the report answers, in a sentence
    source: str  # where its numbers come from
    version: str  # shown on every output; change it when a definition changes
    measures: tuple[AnyMeasure, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def measure(self, key: str) -> AnyMeasure:
        for measure in self.measures:
            if measure.key == key:
                return measure
        raise KeyError(key)


@dataclass
class FigureRow:
    """One figure's numbers: per practice (id → value) and for the scope, this period and the one before."""

    measure: AnyMeasure
    current: dict[int, Value]
    previous: dict[int, Value]
    total: Value
    previous_total: Value

    @property
    def change(self) -> Value:
        if self.total is None or self.previous_total is None:
            return None
        return round(self.total - self.previous_total, 1)


@dataclass
class ReportResult:
    report: Report
    period: Period
    practice_ids: list[int]
    figures: list[FigureRow]
    # (figure key, breakdown key) → (label, count) rows, for the figures counted by `condition_counts`
    counted_breakdowns: dict[tuple[str, str], list[tuple[str, int]]] = field(default_factory=dict)

    def breakdown(self, measure: Measure, key: str) -> list[tuple[str, int]]:
        """(label, count) per value of the figure's breakdown this period, largest first."""
        if (measure.key, key) in self.counted_breakdowns:
            return self.counted_breakdowns[measure.key, key]
        return measure.breakdown(key, self.period, self.practice_ids)


Group = list[tuple[dict[str, Any], int]]  # (the row's practice and breakdown values, its count)


def condition_counts(
    measures: Sequence[Measure], periods: Sequence[Period], practice_ids: list[int]
) -> dict[tuple[str, Period], Group]:
    """Figures that are conditions on the same rows (`Measure.condition`, the same `base` and `practice_path`),
    each in each period, in one query grouped by practice and by every breakdown's field: for each
    (figure key, period) the groups it counts, with their counts (groups it counts none of are left out).
    Figures of distinct patients (all of them, or none) are counted per practice alone."""
    first = measures[0]
    counted, distinct = ("pk", False) if not first.distinct_patients else (first.patient_path, True)
    paths = list(
        dict.fromkeys([first.practice_path, *(b.path for m in measures for b in m.grouped_breakdowns())])
    )
    conditions = {(m.key, p): m.condition(p) for m in measures for p in periods}
    names = {key: f"n{i}" for i, key in enumerate(conditions)}
    rows = (
        first.base()
        .filter(**{f"{first.practice_path}__in": practice_ids})
        .filter(_any_of(measures, periods, conditions.values()))
        .order_by()
        .values(*paths)
        .annotate(
            **{names[key]: Count(counted, distinct=distinct, filter=q) for key, q in conditions.items()}
        )
    )
    found: dict[tuple[str, Period], Group] = {key: [] for key in conditions}
    for row in rows:
        for key, name in names.items():
            if row[name]:
                found[key].append(({path: row[path] for path in paths}, row[name]))
    return found


def _any_of(measures: Sequence[Measure], periods: Sequence[Period], conditions: Iterable[Q]) -> Q:
    """The rows any of the conditions may count: where every figure is dated by the same field, that
    field from the first period's start to the last one's end (one comparison, however many figures);
    otherwise any of the conditions."""
    dated_by = {m.date_field for m in measures}
    if len(dated_by) == 1 and None not in dated_by:
        first, last = min(p.start for p in periods), max(p.end for p in periods)
        whole = Period(periods[0].kind, first, last)
        return Q(**{f"{measures[0].date_field}__range": measures[0]._range(whole)})
    return reduce(operator.or_, conditions)


def _single_valued(model: type[Model], path: str) -> bool:
    """Whether each row has one value of the path: every step a field or a foreign key forwards."""
    for part in path.split("__"):
        found = model._meta.get_field(part)
        if not found.is_relation:
            return True
        if found.many_to_many or found.one_to_many:
            return False
        model = found.related_model  # type: ignore[assignment]
    return True


def _summed(groups: Group, path: str) -> dict[Any, int]:
    totals: dict[Any, int] = defaultdict(int)
    for values, n in groups:
        totals[values[path]] += n
    return dict(totals)


def _counted_by_condition(
    measures: Iterable[AnyMeasure], period: Period, practice_ids: list[int]
) -> tuple[dict[tuple[str, Period], dict[int, Value]], dict[tuple[str, str], list[tuple[str, int]]]]:
    """The figures `condition_counts` can count, one query per set of rows: per (figure key, period) the
    counts per practice, and per (figure key, breakdown key) this period's breakdown."""
    sets: dict[tuple[Hashable, str, bool], list[Measure]] = defaultdict(list)
    for m in measures:
        if isinstance(m, Measure) and m.counted_by_condition:
            sets[m.base, m.practice_path, m.distinct_patients].append(m)
    counts: dict[tuple[str, Period], dict[int, Value]] = {}
    breakdowns: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for (_, practice_path, _), members in sets.items():
        found = condition_counts(members, [period, period.previous()], practice_ids)
        for (key, in_period), groups in found.items():
            counts[key, in_period] = dict(_summed(groups, practice_path))
        for m in members:
            for b in m.grouped_breakdowns():
                by_value = _summed(found[m.key, period], b.path)
                ordered = sorted(by_value.items(), key=lambda vn: (-vn[1], str(vn[0])))
                breakdowns[m.key, b.key] = [(b.label_of(value), n) for value, n in ordered]
    return counts, breakdowns


def _figure(
    measure: AnyMeasure,
    period: Period,
    practice_ids: list[int],
    counted: dict[tuple[str, Period], dict[int, Value]],
) -> tuple[dict[int, Value], Value]:
    if (measure.key, period) in counted:
        found = counted[measure.key, period]
        return found, sum(v for v in found.values() if v is not None)
    if isinstance(measure, Measure):
        counts: dict[int, Value] = dict(measure.counts(period, practice_ids))
        if (measure.distinct or measure.distinct_patients) and not measure.practice_is_the_patients:
            # A row that reaches several practices (a meeting shared by two) counts once for the scope.
            path = measure.distinct or measure.patient_path
            total: Value = measure.rows(period, practice_ids).values(path).distinct().count()
        else:
            total = sum(v for v in counts.values() if v is not None)
        return counts, total
    computed = measure.compute(period, practice_ids)
    return {k: v for k, v in computed.items() if k is not None}, computed.get(None)


# What figures of one report run look up together (`once_per_run`), for the length of the run.
_run_lookups: ContextVar[dict[Hashable, Any] | None] = ContextVar("report_run_lookups", default=None)


def once_per_run[T](look: Callable[[Period, list[int]], T]) -> Callable[[Period, list[int]], T]:
    """`look(period, practice_ids)` done once per report run however many of its figures ask for it
    (the EHCH figures all count the same admissions); outside a run, every time."""

    @wraps(look)
    def looked(period: Period, practice_ids: list[int]) -> T:
        lookups = _run_lookups.get()
        if lookups is None:
            return look(period, practice_ids)
        key = (look, period, tuple(practice_ids))
        if key not in lookups:
            lookups[key] = look(period, practice_ids)
        return lookups[key]

    return looked


def report_run(*, report: Report, period: Period, practice_ids: Iterable[int]) -> ReportResult:
    """Every figure of `report` for `period` and the period before, over `practice_ids`."""
    started = _run_lookups.set({})
    try:
        return _report_run(report, period, sorted(practice_ids))
    finally:
        _run_lookups.reset(started)


def _report_run(report: Report, period: Period, ids: list[int]) -> ReportResult:
    counted, breakdowns = _counted_by_condition(report.measures, period, ids)
    rows = []
    for measure in report.measures:
        current, total = _figure(measure, period, ids, counted)
        previous, previous_total = _figure(measure, period.previous(), ids, counted)
        rows.append(FigureRow(measure, current, previous, total, previous_total))
    return ReportResult(
        report=report, period=period, practice_ids=ids, figures=rows, counted_breakdowns=breakdowns
    )


def medians(pairs: Iterable[tuple[int, float]]) -> dict[int | None, Value]:
    """The median of the values per practice and for them all (key None), to one decimal place, from
    (practice id, value) pairs; practices without a value are left out, and the whole is None."""
    by_practice: dict[int, list[float]] = {}
    for practice_id, value in pairs:
        by_practice.setdefault(practice_id, []).append(value)
    out: dict[int | None, Value] = {pk: round(median(values), 1) for pk, values in by_practice.items()}
    every = [value for values in by_practice.values() for value in values]
    out[None] = round(median(every), 1) if every else None
    return out


def day_bounds(period: Period) -> tuple[Any, Any]:
    """The first and last moment of the period's days, in the site's time zone."""
    return (
        timezone.make_aware(datetime.combine(period.start, time.min)),
        timezone.make_aware(datetime.combine(period.end, time.max)),
    )


def _as_date(value: Any) -> Any:
    return value.date() if hasattr(value, "date") and callable(value.date) else value
