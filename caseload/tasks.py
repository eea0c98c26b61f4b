"""Celery tasks of the caseload app: each takes ids and calls one service (STYLE.md 4).

The population import's tasks are safe to run twice: each service claims its batch by status, so a
redelivered task finds the work done and returns.
"""

from celery import shared_task

from caseload.models import ImportBatch
from caseload.services.import_runs import (
    population_import_drop_folder_sweep,
    population_import_preview,
    population_import_run,
)
from caseload.services.safeguarding_notify import safeguarding_concern_notify


@shared_task(acks_late=True)
def population_import_preview_task(batch_id: int) -> None:
    population_import_preview(batch=ImportBatch.objects.get(pk=batch_id))


@shared_task(acks_late=True)
def population_import_run_task(batch_id: int) -> None:
    population_import_run(batch=ImportBatch.objects.get(pk=batch_id))


@shared_task(acks_late=True)
def population_import_sweep_task() -> None:
    population_import_drop_folder_sweep()


@shared_task(acks_late=True)
def safeguarding_concern_notify_task(concern_id: int) -> None:
    safeguarding_concern_notify(concern_id=concern_id)  # each recipient emailed once (notified_at)
