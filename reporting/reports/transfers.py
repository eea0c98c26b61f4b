"""Transfers of care (admissions, discharges, A&E, out of hours, NHS 111, care home admissions, deaths):
received, triaged, waiting at the end, and the median hours from arrival to triage."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from caseload.models import CareEvent, Patient
from reporting.periods import Period
from reporting.reports.base import Breakdown, ComputedMeasure, Measure, Report, Value, day_bounds, medians

KIND = Breakdown("kind", "Kind", "kind", dict(CareEvent.Kind.choices))


def _events() -> QuerySet:
    return CareEvent.objects.all()


def _triaged() -> QuerySet:
    return CareEvent.objects.filter(triaged_at__isnull=False)


def _waiting_at_end(period: Period) -> Q:
    _, end = day_bounds(period)
    return (Q(triaged_at__isnull=True) | Q(triaged_at__gt=end)) & Q(created_at__lte=end)


def _triaged_in(period: Period, practice_ids: list[int]) -> QuerySet:
    return _triaged().filter(patient__practice_id__in=practice_ids, triaged_at__range=day_bounds(period))


def _median_hours_to_triage(period: Period, practice_ids: list[int]) -> dict[int | None, Value]:
    rows = _triaged_in(period, practice_ids).values_list("patient__practice_id", "created_at", "triaged_at")
    return medians(
        (practice_id, (triaged - received).total_seconds() / 3600) for practice_id, received, triaged in rows
    )


def _triaged_patients(period: Period, practice_ids: list[int]) -> QuerySet[Patient]:
    return Patient.objects.filter(pk__in=_triaged_in(period, practice_ids).values("patient_id"))


REPORT = Report(
    key="transfers",
    title="Transfers of care",
    question="How many transfers of care arrived, how many were triaged, and how quickly?",
    source="Transfers of care entered by hand or imported from the care events feed.",
    version="transfers-1",
    measures=(
        Measure(
            "received",
            "Transfers of care received",
            _events,
            "patient__practice_id",
            date_field="created_at",
            breakdowns=(
                KIND,
                Breakdown("source", "How it arrived", "source", dict(CareEvent.Source.choices)),
            ),
        ),
        Measure(
            "triaged",
            "Transfers of care triaged",
            _triaged,
            "patient__practice_id",
            date_field="triaged_at",
            breakdowns=(Breakdown("outcome", "Outcome", "outcome", dict(CareEvent.Outcome.choices)), KIND),
        ),
        Measure(
            "waiting",
            "Waiting for triage at the end of the period",
            _events,
            "patient__practice_id",
            when=_waiting_at_end,
            breakdowns=(KIND,),
        ),
        ComputedMeasure(
            "median_hours_to_triage",
            "Median hours from arrival to triage",
            _median_hours_to_triage,
            patients_of=_triaged_patients,
            unit=" hours",
            help="For those triaged in the period: clock hours (nights and weekends included) from when the event "
            "arrived here to its triage.",
        ),
    ),
    notes=(
        "Received is when the event arrived here (typed in or imported), not when it happened. An event "
        "whose NHS number matched no patient counts once it is matched to one, at that patient's practice.",
    ),
)
