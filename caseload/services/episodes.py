"""Caseload episodes: taking patients onto a care coordinator's caseload, transferring, closing."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.models import (
    CaseloadEpisode,
    Patient,
)
from pcn.audit import audit_by
from pcn.models import Membership, Role, User


def coordinator_check(*, coordinator: User, patient: Patient) -> None:
    """A caseload belongs to a care coordinator at the patient's practice."""
    if not Membership.objects.filter(
        user=coordinator, practice_id=patient.practice_id, role=Role.COORDINATOR
    ).exists():
        raise ValidationError(
            f"{coordinator} is not a care coordinator at {patient.practice.name}.", code="not_coordinator"
        )


@transaction.atomic
def episodes_open(
    *, patients: Sequence[Patient], coordinator: User, reason: str, reason_detail: str = "", by: User
) -> tuple[list[CaseloadEpisode], list[Patient]]:
    """Take patients onto a coordinator's caseload. Returns (episodes opened, patients skipped
    because they are already on a caseload). Every patient must be at a practice where the
    coordinator works; otherwise nothing is written."""
    for patient in patients:
        coordinator_check(coordinator=coordinator, patient=patient)
    already = set(
        CaseloadEpisode.objects.open()
        .filter(patient__in=patients)
        .select_for_update()
        .values_list("patient_id", flat=True)
    )
    skipped = [p for p in patients if p.pk in already]
    now = timezone.now()
    episodes = CaseloadEpisode.objects.bulk_create(
        CaseloadEpisode(
            patient=p,
            coordinator=coordinator,
            reason=reason,
            reason_detail=reason_detail,
            opened_at=now,
            opened_by=by,
        )
        for p in patients
        if p.pk not in already
    )
    if episodes:
        audit_by(
            by, "caseload.open", [e.patient_id for e in episodes],
            coordinator_id=coordinator.pk, reason=reason,
        )  # fmt: skip
    return episodes, skipped


@transaction.atomic
def episode_transfer(*, episode: CaseloadEpisode, to: User, by: User) -> CaseloadEpisode:
    if not episode.is_open:
        raise ValidationError("This episode is closed: it cannot be transferred.", code="closed")
    if to.pk == episode.coordinator_id:
        raise ValidationError(f"The patient is already on {to}'s caseload.", code="same_coordinator")
    coordinator_check(coordinator=to, patient=episode.patient)
    previous = episode.coordinator_id
    episode.coordinator = to
    episode.save(update_fields=["coordinator", "updated_at"])
    audit_by(
        by, "caseload.transfer", [episode.patient_id], episode_id=episode.pk, from_id=previous, to_id=to.pk
    )
    return episode


@transaction.atomic
def episode_close(*, episode: CaseloadEpisode, reason: str, note: str = "", by: User) -> CaseloadEpisode:
    if not episode.is_open:
        raise ValidationError("This episode is already closed.", code="closed")
    episode.status = CaseloadEpisode.Status.CLOSED
    episode.closed_at = timezone.now()
    episode.closed_by = by
    episode.close_reason = reason
    episode.close_note = note
    episode.save(
        update_fields=["status", "closed_at", "closed_by", "close_reason", "close_note", "updated_at"]
    )
    audit_by(by, "caseload.close", [episode.patient_id], episode_id=episode.pk, reason=reason)
    return episode
