"""A patient's own record: where they live (the care home move-in), and the MDTs open to them; the rows of
Find patients' export (its CSV here and a saved search's download in reporting)."""

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.models import (
    CareEvent,
    Patient,
    ltc_labels,
)
from pcn.audit import audit_by
from pcn.models import Practice, User
from pcn.nhs_number import format_nhs_number

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from mdt.models import MeetingSeries


# Find patients' export: the values read (the patient's id first, for the audit), the header, each line.
PATIENT_EXPORT_FIELDS = (
    "pk", "nhs_number", "family_name", "given_name", "date_of_birth", "sex", "practice__ods_code",
    "risk_score", "efi_score", "efi_category", "ae_attendances_12m", "emergency_admissions_12m",
    "ltc_flags", "care_home__name", "coordinator_name",
)  # fmt: skip
PATIENT_EXPORT_HEADER = [
    "NHS number", "Family name", "Given name", "Date of birth", "Sex", "Practice", "Risk score", "eFI",
    "eFI category", "A&E attendances (12 months)", "Emergency admissions (12 months)",
    "Long-term conditions", "Care home", "Care coordinator",
]  # fmt: skip


def patient_export_line(row: tuple[Any, ...]) -> list[Any]:
    """One patient's line from a row of PATIENT_EXPORT_FIELDS (unescaped: the writer escapes it)."""
    _, nhs, family, given, dob, sex, practice, risk, efi, efi_cat, ae, ea, ltc, home, coordinator = row
    return [format_nhs_number(nhs), family, given, dob.strftime("%d/%m/%Y"), sex, practice, risk, efi, efi_cat,
            ae, ea, "; ".join(ltc_labels(ltc)), home, coordinator]  # fmt: skip


def mdt_series_for(*, patient: Patient, user: User) -> "QuerySet[MeetingSeries]":
    """The MDT series a referral (or a transfer of care) for `patient` may go to: active, covering the
    patient's practice, and one of the user's practices'. MeetingSeries is mdt's, a floor above: it is
    reached through the practice's reverse accessor (MeetingSeries.practices), not imported. Only the
    practice's key is needed, so no query loads the practice."""
    practice = Practice(pk=patient.practice_id)
    return practice.meeting_series.visible_to(user).filter(is_active=True)


@transaction.atomic
def patient_care_home_set(*, patient: Patient, care_home: Any, moved_in_on: date | None, by: User) -> Any:
    """Set (or, with care_home None, clear) the patient's care home and move-in date. Returns the
    care home admission event recorded, or None."""
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if care_home is None:
        locked.care_home, locked.care_home_since = None, None
        locked.save(update_fields=["care_home", "care_home_since", "updated_at"])
        patient.care_home, patient.care_home_since = None, None
        audit_by(by, "patient.care_home", [patient], care_home_id=None)
        return None
    if care_home.practice_id != locked.practice_id:
        raise ValidationError("Choose a care home aligned to the patient's practice.", code="practice")
    if moved_in_on is None:
        raise ValidationError("Enter the date the person moved in.", code="required")
    if moved_in_on > timezone.localdate():
        raise ValidationError("The move-in date must be today or in the past.", code="future")
    changed = (locked.care_home_id, locked.care_home_since) != (care_home.pk, moved_in_on)
    locked.care_home, locked.care_home_since = care_home, moved_in_on
    locked.save(update_fields=["care_home", "care_home_since", "updated_at"])
    patient.care_home, patient.care_home_since = care_home, moved_in_on
    event = None
    same_day = CareEvent.objects.filter(
        patient=locked, kind=CareEvent.Kind.CARE_HOME_ADMISSION, occurred_at__date=moved_in_on
    )
    if changed and not same_day.exists():
        now = timezone.now()
        event = CareEvent.objects.create(
            patient=locked, nhs_number=locked.nhs_number, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
            occurred_at=timezone.make_aware(datetime.combine(moved_in_on, time(12))),
            provider=care_home.name[:200], summary="Moved in (recorded on the patient's page).",
            source=CareEvent.Source.MANUAL, created_by=by, triaged_at=now, triaged_by=by,
            outcome=CareEvent.Outcome.ACKNOWLEDGED,
        )  # fmt: skip
    audit_by(
        by, "patient.care_home", [patient], care_home_id=care_home.pk,
        moved_in_on=moved_in_on.isoformat(), care_event_id=event.pk if event else None,
    )  # fmt: skip
    return event
