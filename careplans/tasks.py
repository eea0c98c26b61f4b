"""Celery tasks of the careplans app: each calls one service (STYLE.md 4)."""

from celery import shared_task
from django.utils import timezone

from careplans.services.reviews import care_plan_reviews_sweep


@shared_task(acks_late=True)
def care_plan_reviews_sweep_task() -> int:
    # Safe to run twice (or redelivered): each version gets its review task once.
    return care_plan_reviews_sweep(today=timezone.localdate())
