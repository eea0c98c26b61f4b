"""Contacts with (or about) a patient.

Contacts keep the patient's open caseload episode up to date and feed the coding export with the
interventions that have a SNOMED CT id (caseload.codes.CODED_INTERVENTION_KEYS). An intervention
without a known id is kept on the contact but makes no coding row: the export is for what a
practice can enter in EMIS/SystmOne, and an id is never invented (DOMAIN.md).
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.codes import INTERVENTIONS_BY_KEY
from caseload.models import (
    CaseloadEpisode,
    Contact,
    Patient,
)
from caseload.services.coding import coding_entry_record
from pcn.audit import audit_by
from pcn.models import User


@transaction.atomic
def contact_record(
    *,
    patient: Patient,
    contact_at: Any,
    method: str,
    with_whom: str,
    duration_minutes: int,
    interventions: Sequence[str] = (),
    notes: str = "",
    outcome: str = "",
    next_contact_due: date | None = None,
    care_event: Any = None,
    by: User,
) -> Any:
    """Record a contact with (or about) a patient.

    The open caseload episode's `last_contact_at` becomes the latest contact's time; when this
    contact is the latest one, its `next_contact_due` (blank included: the contact that was due has
    happened) becomes the episode's. A contact entered late, older than the latest, changes neither.
    """
    unknown = [key for key in interventions if key not in INTERVENTIONS_BY_KEY]
    if unknown:
        raise ValidationError(f"Unknown intervention: {', '.join(unknown)}", code="unknown_intervention")
    contact = Contact.objects.create(
        patient=patient,
        contact_at=contact_at,
        method=method,
        with_whom=with_whom,
        duration_minutes=duration_minutes,
        interventions=list(dict.fromkeys(interventions)),
        notes=notes,
        outcome=outcome,
        next_contact_due=next_contact_due,
        care_event=care_event,
        recorded_by=by,
    )
    episode = CaseloadEpisode.objects.open().filter(patient=patient).select_for_update().first()
    if episode is not None and (episode.last_contact_at is None or contact_at >= episode.last_contact_at):
        episode.last_contact_at = contact_at
        episode.next_contact_due = next_contact_due
        episode.save(update_fields=["last_contact_at", "next_contact_due", "updated_at"])
    coded_on = timezone.localdate(contact_at)
    for key in contact.interventions:
        code = INTERVENTIONS_BY_KEY[key]
        if code.snomed_id:
            coding_entry_record(
                patient=patient, coded_on=coded_on, code=code, recorded_by=by, source=f"contact:{contact.pk}"
            )
    audit_by(by, "contact.record", [patient], contact_id=contact.pk, method=method)
    return contact
