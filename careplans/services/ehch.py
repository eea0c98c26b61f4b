"""EHCH (Enhanced Health in Care Homes): a care home resident gets a PCSP within 7 working days of
admission (DOMAIN.md). `ehch_pcsp_due` is one patient's state, `ehch_compliance` the report, and
`ehch_badges_for` the badges of a page of patients.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

from careplans.models import CarePlanVersion
from caseload.models import CareEvent, Patient
from pcn.working_days import add_working_days, working_days_between

EHCH_PCSP_WORKING_DAYS = 7
EHCH_BADGE_STATES = ("due", "overdue")


@dataclass(frozen=True)
class EhchDue:
    """A care home resident's PCSP deadline. `state`: "done" (agreed on time), "late" (agreed after
    the deadline), "overdue" (past the deadline, none agreed) or "due" (`days_left` working days)."""

    admitted_on: date
    due_on: date
    state: str
    days_left: int = 0
    agreed_on: date | None = None

    def __iter__(self) -> Any:  # (due_on, state), as `due, state = ehch_pcsp_due(...)`
        return iter((self.due_on, self.state))


def _ehch_state(admitted_on: date, agreed: list[date], today: date) -> EhchDue:
    due_on = add_working_days(admitted_on, EHCH_PCSP_WORKING_DAYS)
    first = min((day for day in agreed if day >= admitted_on), default=None)
    if first is not None and first <= due_on:
        return EhchDue(admitted_on, due_on, "done", agreed_on=first)
    if first is not None:
        return EhchDue(admitted_on, due_on, "late", agreed_on=first)
    if today > due_on:
        return EhchDue(admitted_on, due_on, "overdue")
    return EhchDue(admitted_on, due_on, "due", days_left=working_days_between(today, due_on))


def ehch_pcsp_due(*, patient: Patient, today: date | None = None) -> EhchDue | None:
    """The PCSP deadline after the patient's latest care home admission (None without one). Two queries."""
    return ehch_pcsp_due_for(patient_ids=[patient.pk], today=today).get(patient.pk)


def ehch_badge(*, patient: Patient, today: date | None = None) -> dict[str, Any]:
    """Context for the patient page's badge: "PCSP due in N working days" / "PCSP overdue"."""
    due = ehch_pcsp_due(patient=patient, today=today)
    return {"ehch_pcsp": due if due is not None and due.state in ("due", "overdue") else None}


@dataclass(frozen=True)
class EhchAdmission:
    """One care home admission and where its PCSP stands (`due`)."""

    event: CareEvent
    due: EhchDue


@dataclass(frozen=True)
class EhchState:
    """One care home admission's PCSP state without the admission's record: what a report counts."""

    practice_id: int
    patient_id: int
    due: EhchDue


def _care_home_admissions(*, practice_ids: Any, start: date, end: date) -> QuerySet[CareEvent]:
    return CareEvent.objects.filter(
        kind=CareEvent.Kind.CARE_HOME_ADMISSION,
        patient__practice_id__in=list(practice_ids),
        occurred_at__date__gte=start,
        occurred_at__date__lte=end,
    ).order_by("-occurred_at", "-id")


def _agreed_on(patient_ids: Iterable[int] | QuerySet) -> dict[int, list[date]]:
    """The days each patient's plans were agreed (current and superseded versions), for the patients
    (ids, or a query of them: one query either way)."""
    agreed: dict[int, list[date]] = {}
    for patient_id, agreed_on in (
        CarePlanVersion.objects.filter(plan__patient_id__in=patient_ids, agreed_on__isnull=False)
        .exclude(status=CarePlanVersion.Status.DRAFT)
        .values_list("plan__patient_id", "agreed_on")
    ):
        agreed.setdefault(patient_id, []).append(agreed_on)
    return agreed


def ehch_admissions(
    *, practice_ids: Any, start: date, end: date, today: date | None = None
) -> list[EhchAdmission]:
    """Care home admissions from `start` to `end` (inclusive, by local day) at the practices, newest
    first, each with its PCSP state: a re-admission counts again, and a plan counts for the first
    admission it follows. Two queries."""
    today = today or timezone.localdate()
    events = list(
        _care_home_admissions(practice_ids=practice_ids, start=start, end=end).select_related(
            "patient__practice"
        )
    )
    agreed = _agreed_on({e.patient_id for e in events})
    return [
        EhchAdmission(
            event,
            _ehch_state(timezone.localdate(event.occurred_at), agreed.get(event.patient_id, []), today),
        )
        for event in events
    ]


def ehch_states(*, practice_ids: Any, start: date, end: date, today: date | None = None) -> list[EhchState]:
    """`ehch_admissions` as reports count them: each admission's practice, patient and PCSP state, read
    as three values a row rather than three records. Two queries."""
    today = today or timezone.localdate()
    rows = list(
        _care_home_admissions(practice_ids=practice_ids, start=start, end=end).values_list(
            "patient__practice_id", "patient_id", "occurred_at"
        )
    )
    agreed = _agreed_on({patient_id for _, patient_id, _ in rows})
    return [
        EhchState(
            practice_id, patient_id, _ehch_state(timezone.localdate(at), agreed.get(patient_id, []), today)
        )
        for practice_id, patient_id, at in rows
    ]


def ehch_counts(admissions: Sequence[EhchAdmission | EhchState]) -> dict[str, int]:
    """On time, late (agreed after the deadline, or the deadline passed with none: `overdue` counts
    those) and still due, and `percent_on_time` of those whose deadline has been reached."""
    counts = {"admissions": len(admissions), "on_time": 0, "late": 0, "overdue": 0, "still_due": 0}
    for admission in admissions:
        state = admission.due.state
        if state == "done":
            counts["on_time"] += 1
        elif state == "due":
            counts["still_due"] += 1
        else:
            counts["late"] += 1
            counts["overdue"] += state == "overdue"
    decided = counts["on_time"] + counts["late"]
    counts["percent_on_time"] = round(100 * counts["on_time"] / decided) if decided else 0
    return counts


def ehch_compliance(
    *, practice_ids: Any, start: date, end: date, today: date | None = None
) -> dict[str, int]:
    """EHCH 7-working-day compliance for care home admissions from `start` to `end` (inclusive) at
    the practices (the figure reporting reads): `ehch_counts` of `ehch_admissions`. Two queries."""
    return ehch_counts(ehch_admissions(practice_ids=practice_ids, start=start, end=end, today=today))


# --- EHCH badges on lists (My caseload, MDT suggestions) ------------------------------------------------
#
# The lists show the patient page's badge on every row, so the state is worked out for a page of
# patients at once: a fixed number of queries however many rows, by the same `_ehch_state`.


def ehch_pcsp_due_for(*, patient_ids: Iterable[int], today: date | None = None) -> dict[int, EhchDue]:
    """`ehch_pcsp_due` for many patients, by patient id; patients without a care home admission are
    left out. Two queries at most, whatever the number of patients (none without patients, one when
    none of them has an admission). Portable SQL (a GROUP BY, not DISTINCT ON): `make run` uses SQLite."""
    ids = list(patient_ids)
    if not ids:
        return {}
    latest = (
        CareEvent.objects.filter(patient_id__in=ids, kind=CareEvent.Kind.CARE_HOME_ADMISSION)
        .order_by()
        .values("patient_id")
        .annotate(latest_at=Max("occurred_at"))
        .values_list("patient_id", "latest_at")
    )
    admitted = {patient_id: timezone.localdate(latest_at) for patient_id, latest_at in latest}
    if not admitted:
        return {}
    agreed: dict[int, list[date]] = {}
    for patient_id, agreed_on in (
        CarePlanVersion.objects.filter(
            plan__patient_id__in=list(admitted), agreed_on__gte=min(admitted.values())
        )
        .exclude(status=CarePlanVersion.Status.DRAFT)
        .values_list("plan__patient_id", "agreed_on")
    ):
        agreed.setdefault(patient_id, []).append(agreed_on)
    today = today or timezone.localdate()
    return {
        patient_id: _ehch_state(admitted_on, agreed.get(patient_id, []), today)
        for patient_id, admitted_on in admitted.items()
    }


def ehch_badges_for(*, patient_ids: Iterable[int], today: date | None = None) -> dict[int, EhchDue]:
    """The patients of `ehch_pcsp_due_for` that get a badge: a PCSP still due, or overdue."""
    return {
        patient_id: due
        for patient_id, due in ehch_pcsp_due_for(patient_ids=patient_ids, today=today).items()
        if due.state in EHCH_BADGE_STATES
    }
