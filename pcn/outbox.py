"""Background work asked for by a change, sent whatever the broker's state (a transactional outbox).

`enqueue_on_commit(task, *args)` writes an `OutboxTask` row in the caller's transaction and, once that
commits, publishes the task. If the broker (Redis) cannot take it — it is down, or restarting — the
request still succeeds: the row stays unsent and `outbox_send_due` (beat, every minute) publishes it
when the broker is back. Publishing never retries in the request (CELERY_TASK_PUBLISH_RETRY off), so a
save waits at most the broker's connection timeout. Every task sent this way is safe to run twice: a row
sent whose mark did not land is sent again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from pcn.models import OutboxTask

log = logging.getLogger(__name__)

# What publishing raises when the broker is out of reach (a task's own error, when tests run tasks
# eagerly, is not one of these and propagates).
BROKER_ERRORS = (KombuOperationalError, RedisError, OSError)
RESEND_AFTER = timedelta(minutes=1)  # younger rows may still be being sent by their own request
KEEP_SENT = timedelta(days=7)


def enqueue_on_commit(task: Any, *args: Any) -> OutboxTask:
    """Ask for `task(*args)` once the current transaction commits (at once outside one)."""
    row = OutboxTask.objects.create(name=task.name, args=list(args))
    transaction.on_commit(lambda: _send(row))
    return row


def _send(row: OutboxTask) -> bool:
    try:
        current_app.tasks[row.name].apply_async(args=row.args)  # eager where tests make tasks eager
    except BROKER_ERRORS as failure:
        # The reason's type only: a broker error can quote the message, and the arguments are ids.
        log.warning("Broker did not take %s (outbox row %s): %s", row.name, row.pk, type(failure).__name__)
        OutboxTask.objects.filter(pk=row.pk).update(
            attempts=row.attempts + 1, last_error=type(failure).__name__[:300]
        )
        return False
    OutboxTask.objects.filter(pk=row.pk).update(
        sent_at=timezone.now(), attempts=row.attempts + 1, last_error=""
    )
    return True


def outbox_send_due(*, limit: int = 500) -> int:
    """Publish the rows not sent for a minute (the broker was down when they were asked for), oldest
    first, each claimed so that two sweeps at once (two beats) send it once; forget sent rows after a
    week. How many were sent."""
    now = timezone.now()
    OutboxTask.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    sent = 0
    with transaction.atomic():
        due = (
            OutboxTask.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, created_at__lte=now - RESEND_AFTER)
            .order_by("created_at", "id")[:limit]
        )
        for row in due:
            if not _send(row):  # the broker is still down: try again at the next sweep
                break
            sent += 1
    return sent
