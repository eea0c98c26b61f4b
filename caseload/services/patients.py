"""A patient's own record: where they live (the care home move-in), and the MDTs open to them."""

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.models import (
    CareEvent,
    Patient,
)
from pcn.audit import audit_by
from pcn.models import Practice, User

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from mdt.models import MeetingSeries


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
