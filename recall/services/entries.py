"""Moving a recall entry by hand: a Personalised Care Adjustment recorded or withdrawn, and a review
recorded as done here (from an attended appointment) with its coding-export row."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.codes import Code
from caseload.services.coding import coding_entry_record
from pcn.audit import audit_by
from pcn.models import User
from recall.models import RecallEntry, count_state


@transaction.atomic
def entry_pca_record(*, entry: RecallEntry, reason: str, on: date, by: User) -> RecallEntry:
    """Record a PCA (one of the five reasons) on an open entry; it leaves the worklists."""
    if reason not in RecallEntry.PcaReason.values:
        raise ValidationError("Choose one of the five PCA reasons.", code="reason")
    if not entry.is_open:
        raise ValidationError(
            f"This review is {entry.state_text().lower()}: no PCA can be added.", code="closed"
        )
    if on > timezone.localdate():
        raise ValidationError("The date cannot be in the future.", code="future")
    entry.state, entry.pca_reason, entry.pca_on, entry.pca_by = RecallEntry.State.PCA, reason, on, by
    entry.save(update_fields=["state", "pca_reason", "pca_on", "pca_by", "updated_at"])
    audit_by(by, "recall.pca.record", [entry.patient_id], entry_id=entry.pk, reason=reason)
    return entry


@transaction.atomic
def entry_pca_withdraw(*, entry: RecallEntry, by: User) -> RecallEntry:
    """Take a PCA back (recorded in error, or the person changed their mind): the entry is due again."""
    if entry.state != RecallEntry.State.PCA:
        raise ValidationError("This review has no PCA to withdraw.", code="no_pca")
    # A PCA recorded on a booked review leaves its appointment open: withdrawn, the review is booked again.
    if entry.appointments.filter(outcome="booked").exists():
        entry.state = RecallEntry.State.BOOKED
    else:
        entry.state = count_state(entry.invitations, entry.register.invitations_expected)
    entry.pca_reason, entry.pca_on, entry.pca_by = "", None, None
    entry.save(update_fields=["state", "pca_reason", "pca_on", "pca_by", "updated_at"])
    audit_by(by, "recall.pca.withdraw", [entry.patient_id], entry_id=entry.pk)
    return entry


def entries_seen(*, entries: list[RecallEntry], on: date, by: User, source: str) -> None:
    """Mark reviews done here; a register with a review code gets a coding-export row for the GP record."""
    for entry in entries:
        entry.state, entry.seen_on, entry.seen_source = (
            RecallEntry.State.SEEN,
            on,
            RecallEntry.SeenSource.HERE,
        )
        entry.save(update_fields=["state", "seen_on", "seen_source", "updated_at"])
        register = entry.register
        if register.review_term:
            coding_entry_record(
                patient=entry.patient,
                coded_on=on,
                code=Code(register.key, register.review_term, register.review_snomed_id or None),
                recorded_by=by,
                source=f"{source}:{register.key}",
            )


def entries_reopen(*, entries: list[RecallEntry]) -> None:
    """Booked entries whose appointment did not happen are due again, by their invitations so far."""
    for entry in entries:
        if (
            entry.state == RecallEntry.State.BOOKED
            and not entry.appointments.filter(outcome="booked").exists()
        ):
            entry.state = count_state(entry.invitations, entry.register.invitations_expected)
            entry.save(update_fields=["state", "updated_at"])
