"""Signposting to a directory service (and its outcome), and support given."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from caseload import codes
from caseload.codes import INTERVENTIONS_BY_KEY
from caseload.models import (
    Patient,
    Service,
    Signposting,
    SupportGiven,
)
from caseload.services.coding import coding_entry_record
from pcn.audit import audit_by
from pcn.models import User

# Support given that the GP record should learn about, as the contact interventions name it (terms
# without a SNOMED CT id yet: the export leaves the id empty and says so). A personal health budget
# has no entry in caseload.codes, so none is made for it.
SUPPORT_CODE_KEYS = {"benefits": "benefits_advice", "employment": "employment_support"}


@transaction.atomic
def signposting_record(
    *, patient: Patient, service: Any, signposted_on: date, by: User, notes: str = ""
) -> Any:
    """Signpost a patient to a directory service. A social prescribing service is a referral to
    social prescribing, which the GP record learns about through the coding export."""
    if not service.is_active:
        raise ValidationError("This service is no longer offered: choose another.")
    signposting = Signposting.objects.create(
        patient=patient, service=service, signposted_on=signposted_on, signposted_by=by, notes=notes
    )
    if service.category == Service.Category.SOCIAL_PRESCRIBING:
        coding_entry_record(
            patient=patient, coded_on=signposted_on, code=codes.SOCIAL_PRESCRIBING_REFERRAL,
            recorded_by=by, source=f"signposting:{signposting.pk}",
        )  # fmt: skip
    audit_by(by, "signposting.add", [patient.pk], signposting_id=signposting.pk, service_id=service.pk)
    return signposting


@transaction.atomic
def signposting_outcome_record(*, signposting: Any, outcome: str, outcome_on: date, by: User) -> Any:
    """Record later what came of a signposting (it starts as "not known yet")."""
    signposting.outcome, signposting.outcome_on = outcome, outcome_on
    signposting.save(update_fields=["outcome", "outcome_on"])
    audit_by(
        by, "signposting.outcome", [signposting.patient_id], signposting_id=signposting.pk,
        outcome=outcome,
    )  # fmt: skip
    return signposting


@transaction.atomic
def support_record(*, patient: Patient, kind: str, given_on: date, by: User, notes: str = "") -> Any:
    """Personal health budget, help to access benefits, help to take up training or employment."""
    support = SupportGiven.objects.create(
        patient=patient, kind=kind, given_on=given_on, notes=notes, given_by=by
    )
    if code_key := SUPPORT_CODE_KEYS.get(kind):
        coding_entry_record(
            patient=patient, coded_on=given_on, code=INTERVENTIONS_BY_KEY[code_key], recorded_by=by,
            source=f"support:{support.pk}",
        )  # fmt: skip
    audit_by(by, "support.add", [patient.pk], support_id=support.pk, kind=kind)
    return support
