"""Shared decision making: recording that a decision aid was offered, and what came of it."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from careplans.models import DecisionAid, DecisionAidOffer
from caseload.models import Patient
from pcn.audit import audit_by
from pcn.models import User


@transaction.atomic
def decision_aid_offer_record(
    *, patient: Patient, aid: DecisionAid, decision: str, offered_on: date, by: User,
    what_matters: str = "", questions: str = "", outcome: str = "",
) -> DecisionAidOffer:  # fmt: skip
    if not aid.is_active:
        raise ValidationError({"aid": "This decision aid is no longer offered: choose another."})
    offer = DecisionAidOffer.objects.create(
        patient=patient, aid=aid, decision=decision, offered_on=offered_on, offered_by=by,
        what_matters=what_matters, questions=questions, outcome=outcome,
    )  # fmt: skip
    audit_by(by, "decision_aid.offer", [patient], offer_id=offer.pk, aid_id=aid.pk)
    return offer


@transaction.atomic
def decision_aid_offer_update(*, offer: DecisionAidOffer, by: User, **values: Any) -> DecisionAidOffer:
    """Change an offer: most often to add the outcome after the conversation. An aid since withdrawn
    may stay on the offer that used it, but cannot be newly chosen."""
    aid = values.get("aid", offer.aid)
    if aid.pk != offer.aid_id and not aid.is_active:
        raise ValidationError({"aid": "This decision aid is no longer offered: choose another."})
    fields = ("aid", "decision", "offered_on", "what_matters", "questions", "outcome")
    changed = sorted(k for k in fields if k in values and getattr(offer, k) != values[k])
    for key in fields:
        if key in values:
            setattr(offer, key, values[key])
    offer.updated_by = by
    offer.save()
    audit_by(by, "decision_aid.offer_update", [offer.patient_id], offer_id=offer.pk, changed=changed)
    return offer
