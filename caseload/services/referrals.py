"""Referrals: recorded with the type's criteria checklist as answered (a copy), then decided once —
accepted onto a caseload, declined with a reason (optionally told to the referrer by email), or
directed to an MDT, which needs every required criterion met. Each decision records who and when.
"""

from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from caseload.models import (
    CareEvent,
    CaseloadEpisode,
    Patient,
    Referral,
)
from caseload.services.care_events import care_event_triage
from caseload.services.episodes import episodes_open
from caseload.services.patients import mdt_series_for
from pcn.audit import audit_by
from pcn.models import User


def referral_criteria_answers(*, referral_type: Any, met_ids: Any) -> list[dict[str, Any]]:
    """The type's checklist as answered: a copy, so that later edits to the criteria leave it alone."""
    met = {int(pk) for pk in met_ids}
    return [
        {"criterion_id": c.pk, "text": c.text, "required": c.is_required, "met": c.pk in met}
        for c in referral_type.criteria.all()
    ]


@transaction.atomic
def referral_create(
    *,
    patient: Patient,
    referral_type: Any,
    source: str,
    referrer_name: str,
    referrer_email: str = "",
    reason: str,
    urgency: str,
    received_on: date,
    criteria_met_ids: Any = (),
    care_event: Any = None,
    by: User,
) -> Any:
    """Record a referral (status NEW). From a transfer of care, `care_event` is triaged as "Referred"."""
    if received_on > timezone.localdate():
        raise ValidationError("The date received cannot be in the future.", code="future")
    referral = Referral.objects.create(
        patient=patient, referral_type=referral_type, source=source, referrer_name=referrer_name,
        referrer_email=referrer_email, reason=reason, urgency=urgency, received_on=received_on,
        criteria=referral_criteria_answers(referral_type=referral_type, met_ids=criteria_met_ids),
        created_by=by,
    )  # fmt: skip
    audit_by(by, "referral.create", [patient], referral_id=referral.pk, type=referral_type.name)
    if care_event is not None:
        care_event_triage(
            event=care_event, outcome=CareEvent.Outcome.REFERRED, note=f"Referral {referral.pk}", by=by
        )
    return referral


def _referral_lock_new(referral: Any) -> Any:
    """Lock the referral's row; a referral is decided once."""
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if locked.status != Referral.Status.NEW:
        raise ValidationError(
            f"This referral has already been decided ({locked.get_status_display().lower()}).",
            code="decided",
        )
    return locked


def _referral_decided(referral: Any, locked: Any, *, status: str, by: User, fields: list[str]) -> None:
    locked.status, locked.decided_by, locked.decided_at = status, by, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", *fields])
    for name in ["status", "decided_by", "decided_at", *fields]:
        setattr(referral, name, getattr(locked, name))


@transaction.atomic
def referral_accept(*, referral: Any, coordinator: User, by: User) -> Any:
    """Accept onto `coordinator`'s caseload (episodes_open). A patient already on a caseload keeps
    that episode, and the referral is linked to it."""
    locked = _referral_lock_new(referral)
    patient = locked.patient
    opened, _skipped = episodes_open(
        patients=[patient],
        coordinator=coordinator,
        reason=CaseloadEpisode.Reason.REFERRAL,
        reason_detail=f"{locked.referral_type.name} referral"[:300],
        by=by,
    )
    locked.episode = opened[0] if opened else CaseloadEpisode.objects.open().get(patient=patient)
    _referral_decided(referral, locked, status=Referral.Status.ACCEPTED, by=by, fields=["episode"])
    audit_by(
        by, "referral.accept", [patient], referral_id=locked.pk, episode_id=locked.episode_id,
        coordinator_id=coordinator.pk,
    )  # fmt: skip
    return referral


def _initials(patient: Patient) -> str:
    letters = [part[:1].upper() for part in (patient.given_name, patient.family_name) if part]
    return ".".join(letters) + "." if letters else "the patient"


@transaction.atomic
def referral_decline(*, referral: Any, reason: str, tell_referrer: bool = False, by: User) -> Any:
    """Decline with a reason. With `tell_referrer` (and an email address) the referrer gets a plain
    message: the patient's initials, the date the referral was received, and the reason — nothing
    more about the patient than they sent. `referrer_told_at` records that it went."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for declining.", code="reason_required")
    locked = _referral_lock_new(referral)
    locked.decline_reason = reason
    _referral_decided(referral, locked, status=Referral.Status.DECLINED, by=by, fields=["decline_reason"])
    told = False
    if tell_referrer and locked.referrer_email:
        received = f"{locked.received_on.day} {locked.received_on:%B %Y}"
        body = (
            f"Dear {locked.referrer_name},\n\n"
            f"Thank you for your referral for {_initials(locked.patient)}, received on {received}, "
            f"to the care coordination team.\n\n"
            f"We are not able to accept it. The reason: {reason}\n\n"
            "If you would like to discuss this, please contact the care coordination team at the "
            "patient's practice.\n"
        )
        try:
            send_mail(
                "Your referral to care coordination",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [locked.referrer_email],
            )
        except OSError:  # SMTP down: the decline stands; the page says the referrer was not told
            told = False
        else:
            told = True
            locked.referrer_told_at = referral.referrer_told_at = timezone.now()
            locked.save(update_fields=["referrer_told_at"])
    audit_by(by, "referral.decline", [locked.patient_id], referral_id=locked.pk, referrer_told=told)
    return referral


@transaction.atomic
def referral_direct_to_mdt(*, referral: Any, series: Any, by: User) -> Any:
    """Record the decision to direct a referral to an MDT: only when every required criterion is met.
    Putting the patient on the series' agenda is mdt's (a floor above): `mdt.services.agenda.
    agenda_referral_add` calls this, then brings the next open agenda up to date."""
    locked = _referral_lock_new(referral)
    if not locked.criteria_met:
        raise ValidationError(
            "The referral does not meet the criteria for an MDT: every required criterion must be met.",
            code="criteria_not_met",
        )
    if not mdt_series_for(patient=locked.patient, user=by).filter(pk=series.pk).exists():
        raise ValidationError("Choose an MDT that covers the patient's practice.", code="series")
    locked.mdt_series = series
    _referral_decided(referral, locked, status=Referral.Status.DIRECTED_TO_MDT, by=by, fields=["mdt_series"])
    audit_by(by, "referral.direct_to_mdt", [locked.patient_id], referral_id=locked.pk, series_id=series.pk)
    return referral
