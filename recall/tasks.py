"""Background work for call and recall: the nightly sweep (and the sync after an import), batch letters.

Each task is one line of work, safe to run twice, enqueued after commit (STYLE.md 4).
"""

from typing import Any

from celery import shared_task
from django.db import transaction

from pcn.outbox import enqueue_on_commit
from recall.models import InvitationBatch
from recall.services.letters import batch_letters_render
from recall.services.years import recall_sweep


@shared_task(acks_late=True)
def recall_sweep_task() -> None:
    recall_sweep()  # the current year's entries made and kept in step; on 1 April, the new year's


@shared_task(acks_late=True)
def batch_letters_task(batch_id: int) -> None:
    batch_letters_render(batch=InvitationBatch.objects.get(pk=batch_id))  # a finished batch is left as it is


def population_imported_receiver(sender: Any, **kwargs: Any) -> None:
    """After a population import: conditions, deaths and leavers change who is on which register."""
    transaction.on_commit(recall_sweep_task.delay)


def batch_letters_enqueue(batch: InvitationBatch) -> None:
    enqueue_on_commit(batch_letters_task, batch.pk)
