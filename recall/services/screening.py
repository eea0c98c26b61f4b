"""Screening non-responders: a coordinator's call to a patient invited to bowel, breast or cervical
screening who has not responded, recorded as a caseload contact so that it shows on their timeline."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.models import Contact
from caseload.services.contacts import contact_record
from pcn.audit import audit
from pcn.models import User
from recall.models import RecallEntry, ScreeningCall, ScreeningCallOutcome, screening_call_outcome


@transaction.atomic
def screening_call_record(
    *, entry: RecallEntry, outcome: str, duration_minutes: int, by: User, notes: str = "",
    at: datetime | None = None,
) -> Contact:  # fmt: skip
    """A phone call about a screening invitation: a Contact (on the timeline, its outcome naming the
    register) linked to the entry (the screening list shows the latest). It does not move the entry:
    booking does, or a PCA."""
    if not entry.register.is_screening:
        raise ValidationError("Calls are recorded here for screening programmes only.", code="register")
    if outcome not in ScreeningCallOutcome.values:
        raise ValidationError("Choose what happened on the call.", code="outcome")
    contact: Contact = contact_record(
        patient=entry.patient, contact_at=at or timezone.now(), method=Contact.Method.PHONE,
        with_whom=Contact.WithWhom.PATIENT, duration_minutes=duration_minutes, notes=notes,
        outcome=screening_call_outcome(entry.register, outcome), by=by,
    )  # fmt: skip
    ScreeningCall.objects.create(entry=entry, contact=contact, outcome=outcome)
    audit(
        None, "recall.screening.call", [entry.patient_id], user=by, entry_id=entry.pk, outcome=outcome,
        contact_id=contact.pk,
    )  # fmt: skip
    return contact
