"""Data quality: per practice, living registered patients with a missing or stale field that matters to
care coordination, each with the fix (seed 004: "support practices to keep care records up to date by
identifying … missing or out-of-date information").

Who is checked: patients not deceased and not left the practice (`is_deceased`, `has_left`). A patient
can fail several checks; each check counts them once. The checks, exactly:

- no_mobile: `mobile` is blank (messaging and the recall text batches need one).
- no_ethnicity: `ethnicity` is blank.
- no_risk_score: `risk_score` is null. An import with a risk-score column writes every row's score (a
  blank cell clears it) and one that lacks the column, or the patient, leaves it as it was; an unchanged
  score writes no RiskSnapshot. So a null score means: no import has ever scored the patient, or the
  newest import that carried a risk score for them left it blank. (Whether the newest import of all
  included the patient is not stored: a patient missing from it keeps their earlier score.)
- no_coordinator: an open caseload episode whose coordinator is deactivated or no longer has any
  membership at the patient's practice.
- care_home_unlinked: a care-home move-in date (`care_home_since`) but no care home. The import's
  "care home resident = Y" without a home's name is not kept per patient (the import only counts those
  rows in its report's notes), so the check finds what is stored: a home unlinked by an import's "N" or
  deleted, with the move-in date left behind.
- pcsp_overdue: the current agreed PCSP's review date is before today.
- pam_stale: on a caseload (an open episode), measured before, and no PAM on or after the day
  settings.PAM_REMEASURE_MONTHS months ago (a PAM exactly that long ago is due, not yet stale).
  Caseload patients never measured are not counted: the caseload report's PAM figures cover them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from careplans.models import CarePlanVersion
from caseload.models import ActivationMeasure, CaseloadEpisode, Patient, PatientQuerySet
from pcn.models import Membership, Practice, User


def pam_stale_before(today: date) -> date:
    """The first day a PAM still counts as recent: PAM_REMEASURE_MONTHS months before today."""
    return today - relativedelta(months=settings.PAM_REMEASURE_MONTHS)


def _open_episode() -> QuerySet:
    return CaseloadEpisode.objects.open().filter(patient_id=OuterRef("pk"))


def _no_coordinator(today: date) -> Q:
    member_here = Membership.objects.filter(
        user_id=OuterRef("coordinator_id"), practice_id=OuterRef("patient__practice_id")
    )
    return Q(Exists(_open_episode().filter(Q(coordinator__is_active=False) | ~Exists(member_here))))


def _pcsp_overdue(today: date) -> Q:
    return Q(
        Exists(
            CarePlanVersion.objects.agreed().filter(plan__patient_id=OuterRef("pk"), review_date__lt=today)
        )
    )


def _pam_stale(today: date) -> Q:
    measures = ActivationMeasure.objects.filter(patient_id=OuterRef("pk"))
    recent = measures.filter(measured_on__gte=pam_stale_before(today))
    return Q(Exists(_open_episode())) & Q(Exists(measures)) & ~Q(Exists(recent))


def _day(value: date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else ""


@dataclass(frozen=True)
class Check:
    key: str
    label: str  # the page's row: what is wrong
    missing: str  # the CSV's "What is missing"
    fix: str  # the CSV's "The fix", and where it is made
    where: str  # "the GP system" or "this service"
    condition: Callable[[date], Q]
    help: str = ""
    # The detail the list and CSV show (the date or the name that makes it stale), as annotations.
    annotations: Callable[[], dict[str, Any]] = dict
    detail: Callable[[Any], str] = lambda patient: ""


CHECKS: dict[str, Check] = {
    check.key: check
    for check in (
        Check(
            "no_mobile", "No mobile number", "Mobile number",
            "Record the patient's mobile number in the GP record; the next population import brings it in.",
            "the GP system", lambda today: Q(mobile=""),
            help="Text messages (recall invitations, reminders) need a mobile number.",
        ),
        Check(
            "no_ethnicity", "No ethnicity", "Ethnicity",
            "Record the patient's ethnic category in the GP record, and map an ethnicity column in the "
            "population import profile if it has none.",
            "the GP system", lambda today: Q(ethnicity=""),
            help="Needed to see who the service reaches (health inequalities).",
        ),
        Check(
            "no_risk_score", "No risk score", "Risk score",
            "Check the patient is in the risk-stratification extract with a score; if they are missing from "
            "it, ask the ICB's risk tool team why.",
            "the GP system", lambda today: Q(risk_score__isnull=True),
            help="No import has scored them, or the newest import with a risk score for them left it blank.",
        ),
        Check(
            "no_coordinator", "On a caseload without a current coordinator", "Named care coordinator",
            "Transfer the caseload episode to a coordinator who works at the practice (in this service).",
            "this service", _no_coordinator,
            help="The episode's coordinator has left (deactivated) or no longer works at the patient's practice.",
            annotations=lambda: {
                "coordinator_name": Subquery(
                    CaseloadEpisode.objects.open().filter(patient_id=OuterRef("pk")).values("coordinator__full_name")[:1]
                )
            },
            detail=lambda patient: f"Coordinator: {patient.coordinator_name}",
        ),
        Check(
            "care_home_unlinked", "Care home move-in date but no care home", "Care home",
            "Check where the patient lives: record the care home (in this service and in the GP record), or "
            "clear the move-in date if they have left it.",
            "this service", lambda today: Q(care_home__isnull=True, care_home_since__isnull=False),
            help="A move-in date is recorded but no home is linked (an import said N, or the home was removed).",
            detail=lambda patient: f"Moved in {_day(patient.care_home_since)}",
        ),
        Check(
            "pcsp_overdue", "Care plan past its review date", "Care plan review",
            "Review the personalised care and support plan with the person (in this service), then code the "
            "review in the GP record.",
            "this service", _pcsp_overdue,
            help="The current agreed PCSP's review date has passed.",
            annotations=lambda: {
                "review_due": Subquery(
                    CarePlanVersion.objects.agreed().filter(plan__patient_id=OuterRef("pk")).values("review_date")[:1]
                )
            },
            detail=lambda patient: f"Review due {_day(patient.review_due)}",
        ),
        Check(
            "pam_stale", "PAM not re-measured", "Patient Activation Measure",
            f"Re-measure activation with the person (PAM re-measure interval: {settings.PAM_REMEASURE_MONTHS} "
            "months), then code it in the GP record.",
            "this service", _pam_stale,
            help=f"On a caseload, with their last PAM more than {settings.PAM_REMEASURE_MONTHS} months ago.",
            annotations=lambda: {
                "last_pam": Subquery(
                    ActivationMeasure.objects.filter(patient_id=OuterRef("pk")).order_by("-measured_on").values("measured_on")[:1]
                )
            },
            detail=lambda patient: f"Last PAM {_day(patient.last_pam)}",
        ),
    )
}  # fmt: skip


def checked_patients() -> PatientQuerySet:
    """The patients the checks look at: living, registered."""
    return Patient.objects.filter(is_deceased=False, has_left=False)


@dataclass
class PracticeCounts:
    practice: Practice
    counts: dict[str, int]  # check key → patients
    patients: int  # living registered patients checked


def data_quality_counts(*, practice_ids: Iterable[int], today: date) -> list[PracticeCounts]:
    """Each practice's count for every check: one aggregate query (and one for the practices)."""
    ids = sorted(practice_ids)
    rows = (
        checked_patients().filter(practice_id__in=ids).order_by().values("practice_id")
        .annotate(patients=Count("pk"), **{key: Count("pk", filter=c.condition(today)) for key, c in CHECKS.items()})
    )  # fmt: skip
    by_practice: dict[int, dict[str, Any]] = {row["practice_id"]: row for row in rows}
    out = []
    for practice in Practice.objects.filter(pk__in=ids).order_by("name"):
        row: dict[str, Any] = by_practice.get(practice.pk, {})
        out.append(PracticeCounts(practice, {key: row.get(key, 0) for key in CHECKS}, row.get("patients", 0)))
    return out


def data_quality_patients(
    *, check: Check, user: User, practice_ids: Iterable[int], today: date
) -> QuerySet[Patient]:
    """The patients failing `check` at `practice_ids` that `user` may see, by name, with the check's detail."""
    return (
        checked_patients().visible_to(user).filter(practice_id__in=list(practice_ids))
        .filter(check.condition(today)).annotate(**check.annotations())
        .select_related("practice").order_by(*(Patient._meta.ordering or ()))
    )  # fmt: skip


CSV_HEADER = [
    "NHS number", "Family name", "Given name", "Date of birth", "Practice ODS code", "Practice",
    "What is missing", "Details", "The fix", "Where to fix it",
]  # fmt: skip


def data_quality_csv_row(check: Check, patient: Patient) -> list[Any]:
    return [
        patient.nhs_number, patient.family_name, patient.given_name, _day(patient.date_of_birth),
        patient.practice.ods_code, patient.practice.name, check.missing, check.detail(patient), check.fix,
        check.where,
    ]  # fmt: skip
