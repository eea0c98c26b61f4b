"""Invitations: the safe-batch checks, a batch's ledger rows, undo, and the two exports a batch makes.

The ledger is append-only: a batch writes its `Invitation` rows in one INSERT, and undoing it (the same
day) stamps them cancelled; nothing is deleted or overwritten. An entry's `invitations` count and
state follow from its rows that are not cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from pcn.audit import audit_by
from pcn.models import User
from pcn.nhs_number import format_nhs_number
from recall.models import Channel, Invitation, InvitationBatch, RecallEntry, count_state

BATCH_LIMIT = 5000
# What the checks and the ledger read of an entry, its patient and register (a 5,000-patient batch
# loads no more: bench/recall.py).
PLAN_FIELDS = (
    "state", "invitations", "last_invited_on", "year", "pca_reason", "closed_reason", "patient_id", "register_id",
    "patient__nhs_number", "patient__given_name", "patient__family_name", "patient__practice_id",
    "patient__is_deceased", "patient__has_left", "patient__mobile", "patient__phone", "patient__address",
    "patient__postcode", "register__name", "register__min_days_between_invitations",
    "register__invitations_expected",
)  # fmt: skip  # patients a batch may invite at once (bench/recall.py times this size)

ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


def ordinal(number: int) -> str:
    return ORDINALS.get(number, f"{number}th")


@dataclass(frozen=True)
class Exclusion:
    """A patient (or one of their reviews) a batch leaves out, and why: listed, never dropped silently."""

    patient_id: int
    nhs_number: str
    name: str
    register: str
    reason: str


@dataclass
class BatchPlan:
    entries: list[RecallEntry]
    exclusions: list[Exclusion]

    @property
    def patient_ids(self) -> list[int]:
        return sorted({entry.patient_id for entry in self.entries})


def _patient_problem(patient: Any, channel: str) -> str:
    if patient.is_deceased:
        return "Deceased"
    if patient.has_left:
        return "Left the practice"
    if channel == Channel.SMS and not patient.mobile.strip():
        return "No mobile number for a text message"
    if channel == Channel.LETTER and not (patient.address.strip() and patient.postcode.strip()):
        return "No address (with postcode) for a letter"
    if channel == Channel.PHONE and not (patient.mobile.strip() or patient.phone.strip()):
        return "No phone number"
    return ""


def _entry_problem(entry: RecallEntry, on: date) -> str:
    if entry.state == RecallEntry.State.BOOKED:
        return "Already booked"
    if entry.state == RecallEntry.State.SEEN:
        return "Already seen: review done"
    if entry.state == RecallEntry.State.PCA:
        return f"Personalised care adjustment: {entry.get_pca_reason_display()}"
    if entry.state == RecallEntry.State.CLOSED:
        return f"Closed: {entry.get_closed_reason_display()}"
    spacing = entry.register.min_days_between_invitations
    if entry.last_invited_on and entry.last_invited_on > on - timedelta(days=spacing):
        after = entry.last_invited_on + timedelta(days=spacing)
        return (
            f"Invited on {entry.last_invited_on:%d %b %Y}: the next invitation can go from {after:%d %b %Y}"
        )
    return ""


def invitation_batch_plan(*, entries: Iterable[RecallEntry], channel: str, on: date) -> BatchPlan:
    """Which of `entries` (with patient and register loaded) may be invited by `channel` on `on`, and
    each one left out with its reason (deceased, left, no mobile/address, spacing, booked, seen…)."""
    plan = BatchPlan(entries=[], exclusions=[])
    for entry in entries:
        patient = entry.patient
        reason = _patient_problem(patient, channel) or _entry_problem(entry, on)
        if reason:
            plan.exclusions.append(
                Exclusion(
                    patient.pk,
                    format_nhs_number(patient.nhs_number),
                    patient.display_name,
                    entry.register.name,
                    reason,
                )
            )
        else:
            plan.entries.append(entry)
    return plan


@transaction.atomic
def invitation_batch_create(
    *,
    entries: Any,
    channel: str,
    on: date,
    by: User,
    description: str = "",
    request_key: UUID | None = None,
) -> InvitationBatch:
    """Invite every entry of `entries` (a queryset already scoped to `by`) that passes the checks.

    The entries are locked for the transaction (two coordinators batching the same list invite each
    patient once); the ledger rows are one INSERT. Raises ValidationError when nothing may be invited.
    With `request_key` (the confirm form's one-time key), a second call with the same key returns the
    batch the first made: looked up once the entries are locked, so a concurrent twin waits for it.
    """
    if channel not in Channel.values:
        raise ValidationError("Choose how to send the invitations.", code="channel")
    locked = list(
        RecallEntry.objects.filter(pk__in=entries.values("pk"))
        .select_related("patient", "register")
        .only(*PLAN_FIELDS)
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    if request_key is not None:
        made = InvitationBatch.objects.filter(request_key=request_key, created_by=by).first()
        if made is not None:
            return made
    plan = invitation_batch_plan(entries=locked, channel=channel, on=on)
    if len(plan.patient_ids) > BATCH_LIMIT:
        raise ValidationError(
            f"A batch can invite up to {BATCH_LIMIT:,} patients; narrow the list.", code="too_many"
        )
    if not plan.entries:
        raise ValidationError("None of these patients can be invited: see the reasons listed.", code="empty")
    batch = InvitationBatch.objects.create(
        channel=channel,
        sent_on=on,
        description=description[:300],
        practice_ids=sorted({entry.patient.practice_id for entry in plan.entries}),
        patient_count=len(plan.patient_ids),
        invitation_count=len(plan.entries),
        excluded=[asdict(exclusion) for exclusion in plan.exclusions],
        created_by=by,
        letters_state=InvitationBatch.LettersState.PENDING if channel == Channel.LETTER else "",
        letters_total=len(plan.patient_ids) if channel == Channel.LETTER else 0,
        request_key=request_key,
    )
    _ledger_insert(plan.entries, batch=batch)
    _entries_after_invitation(plan.entries, on=on)
    audit_by(
        by, "recall.batch.create", plan.patient_ids, batch_id=batch.pk, channel=channel,
        invitations=len(plan.entries), excluded=len(plan.exclusions),
    )  # fmt: skip
    return batch


def _ledger_insert(entries: list[RecallEntry], *, batch: InvitationBatch) -> None:
    """The batch's ledger rows, one per entry, in one INSERT (before the entries count them).

    On PostgreSQL an INSERT … SELECT from the entries (building 10,000 model instances for bulk_create
    took most of a 5,000-patient batch's time: bench/recall.py); elsewhere bulk_create.
    """
    if connection.vendor != "postgresql":
        Invitation.objects.bulk_create(
            Invitation(
                entry=entry, patient_id=entry.patient_id, register_id=entry.register_id, year=entry.year,
                sequence=entry.invitations + 1, channel=batch.channel, sent_on=batch.sent_on, batch=batch,
                created_by_id=batch.created_by_id,
            )
            for entry in entries
        )  # fmt: skip
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Invitation._meta.db_table} (entry_id, patient_id, register_id, year, sequence, channel, "  # noqa: S608 — the table name from _meta, every value a parameter
            "sent_on, batch_id, created_by_id, created_at) "
            f"SELECT e.id, e.patient_id, e.register_id, e.year, e.invitations + 1, %s, %s, %s, %s, %s "
            f"FROM {RecallEntry._meta.db_table} e WHERE e.id = ANY(%s)",
            [
                batch.channel,
                batch.sent_on,
                batch.pk,
                batch.created_by_id,
                timezone.now(),
                [e.pk for e in entries],
            ],
        )


def _entries_after_invitation(entries: list[RecallEntry], *, on: date) -> None:
    """Count one more invitation on each entry: one UPDATE per distinct state it moves to."""
    by_state: dict[str, list[int]] = {}
    for entry in entries:
        entry.invitations += 1
        entry.last_invited_on = on
        entry.state = count_state(entry.invitations, entry.register.invitations_expected)
        by_state.setdefault(entry.state, []).append(entry.pk)
    now = timezone.now()
    for state, ids in by_state.items():
        RecallEntry.objects.filter(pk__in=ids).update(
            state=state, invitations=F("invitations") + 1, last_invited_on=on, updated_at=now
        )


def entries_recount(*, entry_ids: list[int]) -> None:
    """Set each entry's count, last invitation date and (if open and not booked) state from its ledger
    rows that are not cancelled."""
    entries = (
        RecallEntry.objects.filter(pk__in=entry_ids)
        .select_related("register")
        .annotate(
            active=Count("invitation_rows", filter=Q(invitation_rows__cancelled_at__isnull=True)),
            last=Max("invitation_rows__sent_on", filter=Q(invitation_rows__cancelled_at__isnull=True)),
        )
    )
    for entry in entries:
        entry.invitations, entry.last_invited_on = entry.active, entry.last
        if entry.state in RecallEntry.INVITABLE_STATES:
            entry.state = count_state(entry.invitations, entry.register.invitations_expected)
        entry.save(update_fields=["invitations", "last_invited_on", "state", "updated_at"])


@transaction.atomic
def invitation_batch_undo(*, batch: InvitationBatch, by: User, today: date) -> InvitationBatch:
    """Cancel a batch sent today: its ledger rows are stamped cancelled (kept), the entries recounted."""
    batch = InvitationBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.is_cancelled:
        raise ValidationError("This batch has already been undone.", code="cancelled")
    if batch.sent_on != today:
        raise ValidationError("A batch can be undone only on the day it was sent.", code="too_late")
    now = timezone.now()
    rows = batch.invitations.filter(cancelled_at__isnull=True)
    entry_ids = list(rows.values_list("entry_id", flat=True))
    patient_ids = sorted(set(rows.values_list("patient_id", flat=True)))
    rows.update(cancelled_at=now, cancelled_by=by)
    batch.cancelled_at, batch.cancelled_by = now, by
    batch.save(update_fields=["cancelled_at", "cancelled_by"])
    entries_recount(entry_ids=entry_ids)
    audit_by(by, "recall.batch.undo", patient_ids, batch_id=batch.pk)
    return batch


# --- What a batch hands on ---------------------------------------------------------------------------

MESSAGING_HEADER = ["NHS number", "Given name", "Family name", "Date of birth", "Mobile", "Reviews due"]
CODING_HEADER = ["Date", "NHS number", "Name", "SNOMED CT id", "Term", "Invitation"]


def batch_patients(batch: InvitationBatch) -> Iterator[tuple[Any, list[Invitation]]]:
    """Each patient of a batch with their invitations in it (one letter or message each), by NHS number."""
    rows = (
        batch.invitations.select_related("patient", "register", "patient__practice")
        .order_by("patient__nhs_number", "register__display_order", "register__name", "id")
        .iterator(chunk_size=2000)
    )
    current: Any = None
    group: list[Invitation] = []
    for row in rows:
        if current is not None and row.patient_id != current.pk:
            yield current, group
            group = []
        current = row.patient
        group.append(row)
    if current is not None:
        yield current, group


def messaging_rows(batch: InvitationBatch) -> Iterator[list[Any]]:
    """One row per patient, however many reviews are due, shaped for batch-messaging tools."""
    for patient, invitations in batch_patients(batch):
        yield [
            patient.nhs_number, patient.given_name, patient.family_name,
            patient.date_of_birth.strftime("%d/%m/%Y"), patient.mobile,
            "; ".join(row.register.review_name for row in invitations),
        ]  # fmt: skip


def coding_rows(batch: InvitationBatch) -> Iterator[list[Any]]:
    """One row per invitation, with the register's invitation term (no SNOMED id is invented)."""
    for patient, invitations in batch_patients(batch):
        for row in invitations:
            yield [
                row.sent_on.strftime("%d/%m/%Y"), patient.nhs_number, patient.display_name, "",
                row.register.invitation_term, ordinal(row.sequence),
            ]  # fmt: skip
