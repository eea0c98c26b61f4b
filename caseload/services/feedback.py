"""Feedback and stories from the person or the people around them: recording one and changing it
(marking it good news among others). Who gave it is settled here: the person; someone around them (their
name and relationship copied from the record, so the story keeps them if that record is removed); or
another named person. A good-news story may be offered to an MDT of the patient's practice."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from caseload.models import Feedback, Patient
from pcn.audit import audit
from pcn.models import User

FIELDS = (
    "given_on", "given_by", "person_around", "given_by_name", "given_by_relationship", "story", "rating",
    "consent_to_share", "is_good_news", "mdt_series",
)  # fmt: skip


def _settled(*, patient: Patient, values: dict[str, Any]) -> dict[str, Any]:
    values = {key: values.get(key) for key in FIELDS}
    values["rating"] = values["rating"] or None
    values["consent_to_share"], values["is_good_news"] = (
        bool(values["consent_to_share"]),
        bool(values["is_good_news"]),
    )
    given_by = values["given_by"]
    if given_by == Feedback.GivenBy.PERSON:
        values.update(person_around=None, given_by_name="", given_by_relationship="")
    elif given_by == Feedback.GivenBy.PERSON_AROUND:
        person = values["person_around"]
        if person is None or person.patient_id != patient.pk:
            raise ValidationError({"person_around": "Choose who gave it from the people around the person"})
        values.update(given_by_name=person.name, given_by_relationship=person.relationship_label)
    elif given_by == Feedback.GivenBy.OTHER:
        values["person_around"] = None
        if not (values["given_by_name"] or "").strip():
            raise ValidationError({"given_by_name": "Enter the name of who gave the feedback"})
    else:
        raise ValidationError({"given_by": "Select who gave the feedback"})
    values["given_by_name"] = (values["given_by_name"] or "").strip()
    values["given_by_relationship"] = (values["given_by_relationship"] or "").strip()
    series = values["mdt_series"] if values["is_good_news"] else None
    if series is not None and not (
        series.is_active and series.practices.filter(pk=patient.practice_id).exists()
    ):
        raise ValidationError({"mdt_series": "Choose an MDT of the person's practice"})
    values["mdt_series"] = series
    return values


def _flags(feedback: Feedback) -> dict[str, Any]:
    return {
        "feedback_id": feedback.pk,
        "given_by": feedback.given_by,
        "good_news": feedback.is_good_news,
        "consent_to_share": feedback.consent_to_share,
        "mdt_series_id": feedback.mdt_series_id,
    }


@transaction.atomic
def feedback_record(*, patient: Patient, by: User, **values: Any) -> Feedback:
    feedback = Feedback.objects.create(
        patient=patient, recorded_by=by, **_settled(patient=patient, values=values)
    )
    audit(None, "feedback.record", [patient], user=by, **_flags(feedback))
    return feedback


@transaction.atomic
def feedback_update(*, feedback: Feedback, by: User, **values: Any) -> Feedback:
    settled = _settled(patient=feedback.patient, values=values)
    changed = sorted(key for key, value in settled.items() if getattr(feedback, key) != value)
    for key, value in settled.items():
        setattr(feedback, key, value)
    feedback.updated_by = by
    feedback.save()
    audit(None, "feedback.update", [feedback.patient_id], user=by, changed=changed, **_flags(feedback))
    return feedback
