"""Appointments and attendance: booking (the reviews it serves become *booked*), the outcome (attended
with the review done closes them; did not attend, cancelled or attended without the review leaves them
due), and rescheduling (a new appointment that keeps them booked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.models import Patient
from pcn.audit import audit_by
from pcn.models import User
from recall.models import Appointment, RecallEntry
from recall.services.entries import entries_reopen, entries_seen


def _check_entries(patient: Patient, entries: list[RecallEntry]) -> None:
    for entry in entries:
        if entry.patient_id != patient.pk:
            raise ValidationError("A review chosen is another patient's.", code="patient")
        if not entry.is_open:
            raise ValidationError(
                f"The {entry.register} review is {entry.state_text().lower()}.", code="closed"
            )


@transaction.atomic
def appointment_book(
    *, patient: Patient, starts_at: datetime, role: str, by: User, entries: list[RecallEntry] = (),  # type: ignore[assignment]
    with_whom: str = "", location: str = "", reason: str = "",
) -> Appointment:  # fmt: skip
    """Record an appointment; the open reviews it is for are booked."""
    entries = list(entries)
    _check_entries(patient, entries)
    if not entries and not reason.strip():
        raise ValidationError("Say what the appointment is for: a review due, or a reason.", code="reason")
    appointment = Appointment.objects.create(
        patient=patient, starts_at=starts_at, role=role, with_whom=with_whom, location=location,
        reason=reason, booked_by=by,
    )  # fmt: skip
    appointment.entries.set(entries)
    for entry in entries:
        entry.state = RecallEntry.State.BOOKED
        entry.save(update_fields=["state", "updated_at"])
    audit_by(by, "recall.appointment.book", [patient], appointment_id=appointment.pk)
    return appointment


@transaction.atomic
def appointment_outcome_record(
    *, appointment: Appointment, outcome: str, by: User, review_done: bool = False, notes: str = ""
) -> Appointment:
    """Attended / did not attend / cancelled. Attended with the review done marks its reviews seen (and
    their coding rows); anything else leaves them due, to be invited again."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not appointment.is_open:
        raise ValidationError(
            f"This appointment's outcome is already recorded: {appointment.get_outcome_display().lower()}.",
            code="recorded",
        )
    choices = {Appointment.Outcome.ATTENDED, Appointment.Outcome.DNA, Appointment.Outcome.CANCELLED}
    if outcome not in choices:
        raise ValidationError("Choose attended, did not attend or cancelled.", code="outcome")
    if review_done and outcome != Appointment.Outcome.ATTENDED:
        raise ValidationError(
            "A review can be done only at an appointment the patient attended.", code="review"
        )
    if outcome != Appointment.Outcome.CANCELLED and appointment.starts_at > timezone.now():
        raise ValidationError("This appointment has not happened yet.", code="future")
    appointment.outcome, appointment.review_done, appointment.outcome_notes = (
        outcome,
        review_done,
        notes[:300],
    )
    appointment.outcome_at, appointment.outcome_by = timezone.now(), by
    appointment.save()
    entries = list(appointment.entries.select_related("register", "patient"))
    if review_done:
        entries_seen(
            entries=[e for e in entries if e.is_open],
            on=timezone.localtime(appointment.starts_at).date(),
            by=by,
            source=f"appointment:{appointment.pk}",
        )
    else:
        entries_reopen(entries=entries)
    audit_by(
        by,
        "recall.appointment.outcome",
        [appointment.patient_id],
        appointment_id=appointment.pk,
        outcome=outcome,
    )
    return appointment


@transaction.atomic
def appointment_reschedule(
    *, appointment: Appointment, starts_at: datetime, by: User, **changes: Any
) -> Appointment:
    """Move an appointment: the old one is kept as rescheduled, a new one holds its reviews."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not appointment.is_open:
        raise ValidationError("Only a booked appointment can be rescheduled.", code="recorded")
    new = Appointment.objects.create(
        patient=appointment.patient, starts_at=starts_at, booked_by=by,
        role=changes.get("role") or appointment.role,
        with_whom=changes.get("with_whom", appointment.with_whom),
        location=changes.get("location", appointment.location), reason=appointment.reason,
    )  # fmt: skip
    new.entries.set(appointment.entries.all())
    appointment.outcome, appointment.outcome_at, appointment.outcome_by = (
        Appointment.Outcome.RESCHEDULED,
        timezone.now(),
        by,
    )
    appointment.rescheduled_to = new
    appointment.save()
    audit_by(
        by,
        "recall.appointment.reschedule",
        [appointment.patient_id],
        appointment_id=appointment.pk,
        new_id=new.pk,
    )
    return new
