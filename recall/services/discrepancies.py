"""Coding discrepancies: where what was done here and what the GP record shows (at the last recall
dates file, recall.services.reconcile) disagree, each with the fix to make in the GP system.

The kinds (lag: settings.RECALL_CODING_LAG_DAYS, the time coding may take to reach the GP record):
- review: a review recorded done here (seen_source "here") that the GP record, checked more than the
  lag after it, still does not show (no last review, or one before it);
- invitation: the last invitation logged here, not in the GP record checked more than the lag after it;
- pca: a PCA recorded here, with no PCA in the GP record checked more than the lag after it;
- off_register: an entry closed as off the register (the GP record lost the condition) after it was
  invited or booked here: either the code was removed in error, or the invitations were wasted.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import BooleanField, DateField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet

from pcn.models import Practice, User
from recall.models import Appointment, RecallEntry

KIND_LABELS = {
    "review": "Review done here, not in the GP record",
    "invitation": "Invitation logged here, not in the GP record",
    "pca": "PCA here, none in the GP record",
    "off_register": "Off the register after invitations or a booking",
}


class Problem(NamedTuple):
    kind: str
    label: str
    here: str
    gp_record: str
    fix: str


def _after_lag(name: str) -> ExpressionWrapper:
    return ExpressionWrapper(
        F(name) + timedelta(days=settings.RECALL_CODING_LAG_DAYS), output_field=DateField()
    )


def _conditions() -> dict[str, Q]:
    booked = Exists(Appointment.entries.through.objects.filter(recallentry_id=OuterRef("pk")))
    return {
        "review": Q(seen_source=RecallEntry.SeenSource.HERE, seen_on__isnull=False)
        & Q(gp_checked_on__gt=_after_lag("seen_on"))
        & (Q(gp_last_review_on__isnull=True) | Q(gp_last_review_on__lt=F("seen_on"))),
        "invitation": Q(last_invited_on__isnull=False, gp_checked_on__gt=_after_lag("last_invited_on"))
        & (Q(gp_last_invited_on__isnull=True) | Q(gp_last_invited_on__lt=F("last_invited_on"))),
        "pca": Q(state=RecallEntry.State.PCA, pca_on__isnull=False, gp_pca_on__isnull=True)
        & Q(gp_checked_on__gt=_after_lag("pca_on")),
        "off_register": Q(state=RecallEntry.State.CLOSED, closed_reason=RecallEntry.ClosedReason.OFF_REGISTER)
        & (Q(invitations__gt=0) | Q(booked)),
    }


def discrepancies(*, user: User, practice: Practice, year: int, kind: str = "") -> QuerySet[RecallEntry]:
    """The entries of `practice` (one of the user's) in `year` with at least one discrepancy (or with
    `kind`), each flagged by kind (`is_review`, …), by patient name."""
    conditions = _conditions()
    wanted = [conditions[kind]] if kind in conditions else list(conditions.values())
    where = wanted[0]
    for condition in wanted[1:]:
        where |= condition
    return (
        RecallEntry.objects.visible_to(user)
        .filter(year=year, patient__practice=practice)
        .filter(where)
        .annotate(
            **{
                f"is_{name}": ExpressionWrapper(q, output_field=BooleanField())
                for name, q in conditions.items()
            }
        )
        .select_related("patient", "register")
        .order_by("patient__family_name", "patient__given_name", "patient_id", "register__display_order")
    )


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "none"


def _term(term: str, snomed_id: str) -> str:
    return f"“{term}”" + (f" (SNOMED CT {snomed_id})" if snomed_id else "")


def entry_problems(entry: Any) -> list[Problem]:
    """What disagrees on an entry from `discrepancies`, and the fix in the GP system, in plain words."""
    register, checked = entry.register, f"checked {_day(entry.gp_checked_on)}"
    problems = []
    if entry.is_review:
        what = (
            _term(register.review_term, register.review_snomed_id)
            if register.review_term
            else register.review_name
        )
        problems.append(Problem(
            "review", KIND_LABELS["review"], f"Review done {_day(entry.seen_on)}",
            f"Last review {_day(entry.gp_last_review_on)} ({checked})",
            f"Code {what} dated {_day(entry.seen_on)} in the GP record.",
        ))  # fmt: skip
    if entry.is_invitation:
        problems.append(Problem(
            "invitation", KIND_LABELS["invitation"],
            f"Invited {entry.invitations}× (last {_day(entry.last_invited_on)})",
            f"Last invitation {_day(entry.gp_last_invited_on)} ({checked})",
            f"Code {_term(register.invitation_term, '')} dated {_day(entry.last_invited_on)} with the "
            "practice's invitation code.",
        ))  # fmt: skip
    if entry.is_pca:
        problems.append(Problem(
            "pca", KIND_LABELS["pca"], f"PCA: {entry.get_pca_reason_display()} ({_day(entry.pca_on)})",
            f"No PCA ({checked})",
            f"Code the personalised care adjustment “{entry.get_pca_reason_display()}” for the "
            f"{register.name} indicators dated {_day(entry.pca_on)}, with the practice's PCA code.",
        ))  # fmt: skip
    if entry.is_off_register:
        problems.append(Problem(
            "off_register", KIND_LABELS["off_register"],
            f"Invited {entry.invitations}× before it closed on {_day(entry.closed_on)}",
            f"No {register.name} diagnosis" if register.ltc_flag else "Not eligible",
            f"Check the {register.name} diagnosis: if it was removed in error, code it again; if it is "
            "right, cancel any appointment booked for this review."
            if register.ltc_flag
            else f"Check why the patient is no longer eligible for {register.name}; cancel any appointment "
            "booked for it.",
        ))  # fmt: skip
    return problems


CSV_HEADER = ["NHS number", "Family name", "Given name", "Register", "Problem", "Here", "GP record", "Fix"]


def discrepancy_csv_rows(entries: Any) -> Any:
    for entry in entries:
        patient = entry.patient
        for problem in entry_problems(entry):
            yield [
                patient.nhs_number, patient.family_name, patient.given_name, entry.register.name,
                problem.label, problem.here, problem.gp_record, problem.fix,
            ]  # fmt: skip
