"""Background work for reporting: the weekly saved searches.

Each task is one line of work, safe to run twice (STYLE.md 4).
"""

from celery import shared_task
from django.utils import timezone

from reporting.services.saved_searches import saved_searches_run_due


@shared_task(acks_late=True)
def saved_searches_run_due_task() -> None:
    saved_searches_run_due(today=timezone.localdate())  # each due search run once; its owner emailed once
