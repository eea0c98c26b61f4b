"""Background work of the core: sending what the broker did not take when it was asked for (pcn.outbox)."""

from celery import shared_task

from pcn.outbox import outbox_send_due


@shared_task(acks_late=True)
def outbox_send_due_task() -> None:
    outbox_send_due()  # each row claimed, so two beats send it once
