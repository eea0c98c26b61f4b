"""Tasks: adding one to a patient, and marking one done."""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from caseload.models import (
    Patient,
    Task,
)
from pcn.audit import audit_by
from pcn.models import User


@transaction.atomic
def task_create(
    *,
    patient: Patient,
    title: str,
    owner: User,
    due_on: date,
    kind: str = "general",
    notes: str = "",
    care_event: Any = None,
    by: User | None,
) -> Any:
    task = Task.objects.create(
        patient=patient, title=title, owner=owner, due_on=due_on, kind=kind, notes=notes,
        care_event=care_event, created_by=by,
    )  # fmt: skip
    audit_by(by, "task.create", [patient], task_id=task.pk, kind=kind, owner_id=owner.pk)
    return task


@transaction.atomic
def task_complete(*, task: Any, by: User) -> Any:
    """Mark a task done. Idempotent: a task already done keeps who did it and when."""
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.done_at is None:
        locked.done_at, locked.done_by = timezone.now(), by
        locked.save(update_fields=["done_at", "done_by"])
        audit_by(by, "task.complete", [locked.patient_id], task_id=locked.pk)
    task.done_at, task.done_by_id = locked.done_at, locked.done_by_id
    return task
