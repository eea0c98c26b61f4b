"""The demo PCN's recall year in progress: registers filled, and the year so far played out — patients
invited once and twice (some excepted but still due), booked, seen, with PCAs and DNAs — so that the
worklists, the report and the discrepancies page show real-looking work on first sign-in.

Deterministic for a seed and a date; written with bulk inserts (no audit rows: nobody looked at anything).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import F
from django.utils import timezone

from caseload.models import LongTermCondition, Patient, RiskSnapshot
from demo.rows import rows_update
from pcn.models import Practice, User
from recall.models import (
    Appointment,
    Channel,
    Invitation,
    InvitationBatch,
    RecallEntry,
    ScreeningCall,
    qof_year,
)
from recall.services.years import recall_sweep

# Conditions the first demo generator did not know, by age band 0-17 / 18-39 / 40-64 / 65-79 / 80+
# (a separate random stream, so the patients the older seed made stay the same).
_EXTRA_RATES = (
    (LongTermCondition.ATRIAL_FIBRILLATION, (0.0, 0.001, 0.01, 0.06, 0.15)),
    (LongTermCondition.NON_DIABETIC_HYPERGLYCAEMIA, (0.0, 0.01, 0.05, 0.09, 0.08)),
)

_PRACTICE_ADDRESSES = (
    ("1 River Walk, Riverside", "RV1 2AB", "01632 960001"),
    ("22 Castle Street, Oldtown", "OT3 4CD", "01632 960002"),
    ("Parkview Road, Parkview", "PV5 6EF", "01632 960003"),
    ("Mill Lane, Millbrook", "MB7 8GH", "01632 960004"),
    ("3 Orchard Lane, Eastfield", "EF9 1JK", "01632 960005"),
    ("St Anne's Square, Northgate", "NG2 3LM", "01632 960006"),
    ("The Green, Westbury", "WB4 5NP", "01632 960007"),
    ("Station Road, Southmoor", "SM6 7QR", "01632 960008"),
    ("High Street, Hillcrest", "HC8 9ST", "01632 960009"),
)


@dataclass(frozen=True)
class DemoRecallCounts:
    entries: int
    invitations: int
    appointments: int


def _age_band(born: date, on: date) -> int:
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return 0 if age < 18 else 1 if age < 40 else 2 if age < 65 else 3 if age < 80 else 4


def _extra_conditions(rng: random.Random, *, on: date) -> None:
    added: dict[int, list[int]] = defaultdict(list)
    for pk, born in Patient.objects.order_by("nhs_number").values_list("pk", "date_of_birth"):
        band = _age_band(born, on)
        for flag, rates in _EXTRA_RATES:
            if rng.random() < rates[band]:
                added[int(flag)].append(pk)
    for flag, ids in added.items():  # the imports' snapshots say so too (they are what set the flags)
        Patient.objects.filter(pk__in=ids).update(ltc_flags=F("ltc_flags").bitor(flag))
        RiskSnapshot.objects.filter(patient_id__in=ids).update(ltc_flags=F("ltc_flags").bitor(flag))


def _practice_addresses(practices: list[Practice]) -> None:
    for practice, (address, postcode, phone) in zip(practices, _PRACTICE_ADDRESSES, strict=False):
        Practice.objects.filter(pk=practice.pk).update(address=address, postcode=postcode, phone=phone)


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


class _Year:
    """The year so far, played out entry by entry and written in bulk at the end."""

    def __init__(self, rng: random.Random, *, on: date, coordinators: dict[int, User]) -> None:
        self.rng, self.on, self.coordinators = rng, on, coordinators
        self.batches: dict[tuple[int, date, str], InvitationBatch] = {}
        self.invitations: list[Invitation] = []
        self.appointments: list[tuple[Appointment, RecallEntry]] = []

    def batch(self, practice_id: int, sent_on: date, channel: str) -> InvitationBatch:
        key = (practice_id, sent_on, channel)
        if key not in self.batches:
            self.batches[key] = InvitationBatch(
                channel=channel, sent_on=sent_on, practice_ids=[practice_id],
                description="Demo: the month's worklist", created_by=self.coordinators[practice_id],
                letters_state="",
            )  # fmt: skip
        return self.batches[key]

    def invite(self, entry: RecallEntry, times: int) -> None:
        practice_id = entry.patient.practice_id
        first = max(entry.due_month - timedelta(days=21), date(entry.year, 4, 1))
        for sequence in range(1, times + 1):
            sent_on = min(first + timedelta(days=18 * (sequence - 1)), self.on - timedelta(days=1))
            sent_on = sent_on.replace(day=1) + timedelta(days=(sent_on.day - 1) // 7 * 7)  # weekly batches
            channel = Channel.SMS if entry.patient.mobile and sequence < 3 else Channel.LETTER
            batch = self.batch(practice_id, sent_on, channel)
            self.invitations.append(
                Invitation(
                    entry=entry, patient_id=entry.patient_id, register_id=entry.register_id, year=entry.year,
                    sequence=sequence, channel=channel, sent_on=sent_on, batch=batch, created_by=batch.created_by,
                )
            )  # fmt: skip
            entry.invitations, entry.last_invited_on = sequence, sent_on
        expected = entry.register.invitations_expected
        entry.state = "excepted" if times >= expected else "invited" if times else "due"

    def appointment(self, entry: RecallEntry, day: date, outcome: str) -> None:
        practice_id = entry.patient.practice_id
        appointment = Appointment(
            patient_id=entry.patient_id, starts_at=_at(day, self.rng.choice((9, 10, 11, 14, 15))),
            with_whom=self.rng.choice(("Nurse Kaur", "Nurse Evans", "HCA Nowak")), role="nurse",
            location="Practice treatment room", reason=entry.register.review_name, outcome=outcome,
            review_done=outcome == "attended", booked_by=self.coordinators[practice_id],
            outcome_at=_at(day, 17) if outcome != "booked" else None,
            outcome_by=self.coordinators[practice_id] if outcome != "booked" else None,
        )  # fmt: skip
        self.appointments.append((appointment, entry))

    def play(self, entry: RecallEntry) -> None:
        """What has happened to this review by `on`, by how long ago it fell due."""
        rng, on = self.rng, self.on
        if entry.due_month > on:
            if entry.due_month <= on + timedelta(days=21) and rng.random() < 0.5:
                self.invite(entry, 1)  # invited ahead of the birth month
            return
        roll = rng.random()
        if entry.register.is_screening:
            self.play_screening(entry, roll)
        elif roll < 0.34:  # seen: invited once or twice, attended, review done
            self.invite(entry, 1 + (rng.random() < 0.3))
            seen = min(entry.last_invited_on + timedelta(days=rng.randint(7, 30)), on - timedelta(days=1))
            self.appointment(entry, seen, "attended")
            entry.state, entry.seen_on, entry.seen_source = "seen", seen, "here"
            # Most reviews reach the GP record by the last reconciliation; a few not yet (discrepancies).
            entry.gp_checked_on = on - timedelta(days=2)
            entry.gp_last_review_on = seen if rng.random() < 0.9 else None
            entry.gp_last_invited_on = entry.last_invited_on
        elif roll < 0.46:  # booked: an appointment in the next three weeks
            self.invite(entry, 1)
            self.appointment(entry, on + timedelta(days=rng.randint(1, 21)), "booked")
            entry.state = "booked"
        elif roll < 0.52:  # did not attend: still due, invited again or about to be
            self.invite(entry, 1)
            dna = min(entry.last_invited_on + timedelta(days=14), on - timedelta(days=1))
            self.appointment(entry, dna, "dna")
        elif roll < 0.55:  # a personalised care adjustment
            self.invite(entry, 2)
            entry.state = "pca"
            entry.pca_reason = rng.choice(RecallEntry.PcaReason.values)
            entry.pca_on, entry.pca_by = entry.last_invited_on, self.coordinators[entry.patient.practice_id]
        elif roll < 0.72:  # invited twice, no answer: excepted but still due
            self.invite(entry, entry.register.invitations_expected)
        elif roll < 0.90:
            self.invite(entry, 1)
        # else: due and not invited yet

    def play_screening(self, entry: RecallEntry, roll: float) -> None:
        """Screening is the national programmes' to run: most tests are simply in the GP record; the
        practice follows up the non-responders (invited once or twice from here)."""
        if roll < 0.6:
            seen = entry.due_month + timedelta(days=self.rng.randint(0, 27))
            entry.state, entry.seen_on, entry.seen_source = "seen", min(seen, self.on), "gp_record"
            entry.gp_checked_on, entry.gp_last_review_on = self.on - timedelta(days=2), entry.seen_on
        elif roll < 0.85:
            self.invite(entry, 1 + (self.rng.random() < 0.4))


def demo_recall_seed(
    *, seed: int, on: date, practices: list[Practice], coordinators: dict[int, User]
) -> DemoRecallCounts:
    """Registers filled for this QOF year and the year so far played out (after the patients are in)."""
    rng = random.Random(seed * 7919 + 12)  # noqa: S311 — synthetic data must be reproducible, not secret
    _extra_conditions(rng, on=on)
    _practice_addresses(practices)
    recall_sweep(today=on)
    year = _Year(rng, on=on, coordinators=coordinators)
    entries = list(
        RecallEntry.objects.filter(year=qof_year(on))
        .select_related("patient", "register")
        .order_by("patient__nhs_number", "register__display_order")
    )
    for entry in entries:
        year.play(entry)
    InvitationBatch.objects.bulk_create(year.batches.values())
    for batch in year.batches.values():  # made on the day it was sent, not when the demo was seeded
        batch.created_at = _at(batch.sent_on, 9)
    rows_update(list(year.batches.values()), ["created_at"])
    by_batch = defaultdict(set)
    for invitation in year.invitations:
        invitation.batch_id = invitation.batch.pk
        by_batch[invitation.batch_id].add(invitation.patient_id)
    Invitation.objects.bulk_create(year.invitations, batch_size=2000)
    for batch in year.batches.values():
        rows = [i for i in year.invitations if i.batch_id == batch.pk]
        InvitationBatch.objects.filter(pk=batch.pk).update(
            patient_count=len(by_batch[batch.pk]), invitation_count=len(rows)
        )
    Appointment.objects.bulk_create([appointment for appointment, _ in year.appointments], batch_size=2000)
    Appointment.entries.through.objects.bulk_create(
        Appointment.entries.through(appointment_id=appointment.pk, recallentry_id=entry.pk)
        for appointment, entry in year.appointments
    )
    rows_update(
        entries,
        ["state", "invitations", "last_invited_on", "seen_on", "seen_source", "pca_reason", "pca_on", "pca_by",
         "gp_checked_on", "gp_last_review_on", "gp_last_invited_on"],
    )  # fmt: skip
    return DemoRecallCounts(
        entries=len(entries), invitations=len(year.invitations), appointments=len(year.appointments)
    )


def demo_recall_reset() -> None:
    """The recall records go before the patients they name (they protect them)."""
    ScreeningCall.objects.all().delete()
    Appointment.objects.all().delete()
    Invitation.objects.all().delete()
    InvitationBatch.objects.all().delete()
    RecallEntry.objects.all().delete()
