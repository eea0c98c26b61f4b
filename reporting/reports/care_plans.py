"""Personalised care and support plans (PCSPs): agreed, reviewed, overdue for review at the period's end,
and EHCH's PCSP within 7 working days of a care home admission (careplans.services.ehch works it out)."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from careplans.models import CarePlanReview, CarePlanVersion
from careplans.services.ehch import EHCH_PCSP_WORKING_DAYS, EhchState, ehch_counts, ehch_states
from caseload.models import CareEvent, Patient
from reporting.periods import Period
from reporting.reports.base import (
    Breakdown,
    ComputedMeasure,
    Measure,
    Report,
    Value,
    day_bounds,
    once_per_run,
)

PLAN_PRACTICE, PLAN_PATIENT = "plan__patient__practice_id", "plan__patient_id"


def _agreed() -> QuerySet:
    return CarePlanVersion.objects.exclude(status=CarePlanVersion.Status.DRAFT)


def _reviews() -> QuerySet:
    return CarePlanReview.objects.all()


def _overdue_at_end(rows: QuerySet, period: Period) -> QuerySet:
    """Plans in force at the end (agreed by then, not yet superseded) whose review date had passed.

    A review moves the version's review date in place, so the date in force at the end is the next
    review date of the latest review on or before the end, else the version's own."""
    _, end = day_bounds(period)
    latest_review = CarePlanReview.objects.filter(
        version_id=OuterRef("pk"), reviewed_on__lte=period.end
    ).order_by("-reviewed_on", "-id")
    return (
        rows.filter(agreed_on__lte=period.end)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=end))
        .alias(due_at_end=Coalesce(Subquery(latest_review.values("next_review_date")[:1]), F("review_date")))
        .filter(due_at_end__lt=period.end)
    )


def _care_home_admissions() -> QuerySet:
    return CareEvent.objects.filter(kind=CareEvent.Kind.CARE_HOME_ADMISSION)


# --- EHCH: the state of each admission's PCSP is careplans.services.ehch's; here it is only counted. ---


@once_per_run
def _admissions(period: Period, practice_ids: list[int]) -> list[EhchState]:
    return ehch_states(practice_ids=practice_ids, start=period.start, end=period.end)


def _by_practice(admissions: list[EhchState]) -> dict[int | None, list[EhchState]]:
    groups: dict[int | None, list[EhchState]] = {None: admissions}
    for admission in admissions:
        groups.setdefault(admission.practice_id, []).append(admission)
    return groups


def _ehch_figure(count: str) -> Callable[[Period, list[int]], dict[int | None, Value]]:
    def compute(period: Period, practice_ids: list[int]) -> dict[int | None, Value]:
        groups = _by_practice(_admissions(period, practice_ids))
        return {key: ehch_counts(group)[count] for key, group in groups.items()}

    return compute


def _percent_on_time(admissions: list[EhchState]) -> Value:
    counts = ehch_counts(admissions)
    return counts["percent_on_time"] if counts["on_time"] + counts["late"] else None


def _ehch_percent(period: Period, practice_ids: list[int]) -> dict[int | None, Value]:
    return {
        key: _percent_on_time(group) for key, group in _by_practice(_admissions(period, practice_ids)).items()
    }


def _ehch_percent_trend(periods: list[Period], practice_ids: list[int]) -> list[Value]:
    """The percentage in each period from one look at the admissions of them all (two queries, not two
    per period): an admission's PCSP state does not depend on the period it is counted in."""
    if not periods:
        return []
    whole = Period(periods[0].kind, min(p.start for p in periods), max(p.end for p in periods))
    admitted = _admissions(whole, practice_ids)
    return [_percent_on_time([a for a in admitted if p.start <= a.due.admitted_on <= p.end]) for p in periods]


def _ehch_patients(*states: str) -> Callable[[Period, list[int]], QuerySet[Patient]]:
    def patients_of(period: Period, practice_ids: list[int]) -> QuerySet[Patient]:
        ids = {a.patient_id for a in _admissions(period, practice_ids) if a.due.state in states}
        return Patient.objects.filter(pk__in=ids)

    return patients_of


DECIDED = ("done", "late", "overdue")

REPORT = Report(
    key="care_plans",
    title="Personalised care and support plans",
    question="How many care plans were agreed and reviewed, how many are overdue for review, and did care "
    "home residents get theirs within 7 working days of admission (EHCH)?",
    source="Care plans, their versions and reviews recorded here; care home admissions from transfers of "
    "care and the move-in date coordinators record.",
    version="care_plans-1",
    measures=(
        Measure(
            "agreed",
            "Plans agreed",
            _agreed,
            PLAN_PRACTICE,
            patient_path=PLAN_PATIENT,
            date_field="agreed_on",
            breakdowns=(
                Breakdown(
                    "agreed_with", "Agreed with", "agreed_with", dict(CarePlanVersion.AgreedWith.choices)
                ),
                Breakdown("agreed_how", "Agreed how", "agreed_how", dict(CarePlanVersion.AgreedHow.choices)),
            ),
            help="Each agreed version: a new plan or a changed one.",
        ),
        Measure(
            "reviewed",
            "Plans reviewed",
            _reviews,
            "version__plan__patient__practice_id",
            patient_path="version__plan__patient_id",
            date_field="reviewed_on",
            breakdowns=(Breakdown("outcome", "Outcome", "outcome", dict(CarePlanReview.Outcome.choices)),),
        ),
        Measure(
            "overdue_review",
            "Overdue for review at the end of the period",
            _agreed,
            PLAN_PRACTICE,
            patient_path=PLAN_PATIENT,
            as_at=_overdue_at_end,
            help="Plans in force on the period's last day whose review date was before it.",
        ),
        ComputedMeasure(
            "ehch_on_time_percent",
            f"EHCH: PCSP within {EHCH_PCSP_WORKING_DAYS} working days of care home admission",
            _ehch_percent,
            patients_of=_ehch_patients(*DECIDED),
            trend_of=_ehch_percent_trend,
            unit="%",
            help="Of the admissions in the period whose deadline has passed or whose plan is agreed.",
        ),
        Measure(
            "ehch_admissions",
            "Care home admissions",
            _care_home_admissions,
            "patient__practice_id",
            date_field="occurred_at",
        ),
        ComputedMeasure(
            "ehch_on_time",
            "PCSP agreed on time",
            _ehch_figure("on_time"),
            patients_of=_ehch_patients("done"),
        ),
        ComputedMeasure(
            "ehch_late",
            "PCSP late (agreed late, or not agreed and past the deadline)",
            _ehch_figure("late"),
            patients_of=_ehch_patients("late", "overdue"),
        ),
        ComputedMeasure(
            "ehch_still_due",
            "PCSP still due (deadline not yet reached)",
            _ehch_figure("still_due"),
            patients_of=_ehch_patients("due"),
        ),
    ),
    notes=(
        f"EHCH (Enhanced Health in Care Homes): each new or re-admitted care home resident gets a PCSP within "
        f"{EHCH_PCSP_WORKING_DAYS} working days of admission. Working days are Monday to Friday less the "
        "bank holidays of England and Wales; the admission day itself is not counted. A re-admission "
        "counts again. The figures are as known today: an admission's plan agreed since the period ended "
        "counts for it. The care home residents' care plans page lists each admission.",
        "Overdue for review: a review moves the plan's review date in place, so the date a plan was agreed "
        "with is not kept; for a period before a plan's first review, it counts by the date its latest "
        "review set.",
    ),
)
