"""The coding export's rows: what the GP record should learn, and ticking them off as entered."""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from caseload.codes import Code
from caseload.models import (
    CodingEntry,
    Patient,
)
from pcn.audit import audit_by
from pcn.models import User


def coding_entry_record(
    *, patient: Patient, coded_on: date, code: Code, recorded_by: User, source: str
) -> CodingEntry:
    """One row for the coding export: what the GP record should learn (idempotent per source and term).

    `code.snomed_id` is None where no id is known (caseload.codes): the row keeps the term and an
    empty id, never an invented one.
    """
    entry, _ = CodingEntry.objects.get_or_create(
        source=source,
        term=code.term,
        defaults={
            "patient": patient,
            "coded_on": coded_on,
            "snomed_id": code.snomed_id or "",
            "recorded_by": recorded_by,
        },
    )
    return entry


@transaction.atomic
def coding_entries_mark_entered(*, entries: Any, by: User) -> int:
    """Mark coding export rows as entered in the GP record; returns how many were newly marked.

    Idempotent: a row already marked keeps its first entered_at and entered_by. `entries` is a
    queryset or list of CodingEntry already scoped to what `by` may see.
    """
    ids = (
        [entry.pk for entry in entries]
        if isinstance(entries, list)
        else list(entries.values_list("pk", flat=True))
    )
    to_mark = CodingEntry.objects.filter(pk__in=ids, entered_at__isnull=True)
    patient_ids = set(to_mark.values_list("patient_id", flat=True))
    marked = to_mark.update(entered_at=timezone.now(), entered_by=by)
    if marked:
        audit_by(by, "coding.mark_entered", patient_ids, rows=marked)
    return marked
