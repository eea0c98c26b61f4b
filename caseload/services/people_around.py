"""The people around the person: adding, changing and removing them. One main carer per person: the
rule is checked here (a clear message) and by a database constraint (two people saving at once)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from caseload.models import Patient, PersonAround
from pcn.audit import audit_by
from pcn.models import User

FIELDS = (
    "name", "relationship", "relationship_detail", "phone", "email", "is_main_carer",
    "may_receive_information", "consent_recorded_on", "notes",
)  # fmt: skip


def _check(*, patient: Patient, values: dict[str, Any], person: PersonAround | None = None) -> None:
    if values.get("may_receive_information") and not values.get("consent_recorded_on"):
        raise ValidationError(
            {"consent_recorded_on": "Enter the date the person agreed they may receive information"}
        )
    if values.get("is_main_carer"):
        # Locks the patient's rows so that two saves at once queue here rather than at the constraint.
        others = PersonAround.objects.select_for_update().filter(patient=patient, is_main_carer=True)
        if person is not None:
            others = others.exclude(pk=person.pk)
        current = others.first()
        if current is not None:
            raise ValidationError(
                {
                    "is_main_carer": f"{current.name} is the main carer: change their details first to say they are not"
                }
            )


@transaction.atomic
def person_around_add(*, patient: Patient, by: User, **values: Any) -> PersonAround:
    values = {k: v for k, v in values.items() if k in FIELDS}
    _check(patient=patient, values=values)
    person = PersonAround.objects.create(patient=patient, created_by=by, **values)
    audit_by(by, "person_around.add", [patient], person_id=person.pk, **_flags(person))
    return person


@transaction.atomic
def person_around_update(*, person: PersonAround, by: User, **values: Any) -> PersonAround:
    values = {k: v for k, v in values.items() if k in FIELDS}
    _check(patient=person.patient, values=values, person=person)
    changed = sorted(k for k, v in values.items() if getattr(person, k) != v)
    for key, value in values.items():
        setattr(person, key, value)
    person.updated_by = by
    person.save()
    audit_by(
        by,
        "person_around.update",
        [person.patient_id],
        person_id=person.pk,
        changed=changed,
        **_flags(person),
    )
    return person


@transaction.atomic
def person_around_remove(*, person: PersonAround, by: User) -> None:
    """Removed for good (they are no longer around the person); the audit trail keeps who they were."""
    audit_by(
        by, "person_around.remove", [person.patient_id], person_id=person.pk, name=person.name,
        relationship=person.relationship,
    )  # fmt: skip
    person.delete()


def _flags(person: PersonAround) -> dict[str, Any]:
    return {
        "relationship": person.relationship,
        "main_carer": person.is_main_carer,
        "may_receive_information": person.may_receive_information,
    }
