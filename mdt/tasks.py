"""Celery tasks of the MDT app: each calls one service and is safe to run twice (STYLE.md 4).

Each engineer's part is a section below.
"""

from celery import shared_task

# --- Minutes and actions ----------------------------------------------------------------------------


@shared_task(acks_late=True)
def actions_chase_task() -> None:
    """The daily chase of overdue actions (safe to run twice: one ActionChase per action per day)."""
    from django.utils import timezone

    from mdt.services import actions_chase

    actions_chase(today=timezone.localdate())


# --- Schedule and agenda ----------------------------------------------------------------------------


@shared_task(acks_late=True)
def meetings_schedule_task() -> None:
    """Hourly: every active series scheduled ahead and its next agenda refreshed (both idempotent)."""
    from django.utils import timezone

    from mdt.services import series_keep_current

    series_keep_current(now=timezone.now())


# --- Agenda packs and circulation -------------------------------------------------------------------


@shared_task(acks_late=True)
def render_meeting_document_task(meeting_id: int, kind: str, scope: str = "") -> None:
    from mdt.models import Meeting
    from mdt.services import meeting_document_render

    meeting = Meeting.objects.select_related("series").get(pk=meeting_id)
    meeting_document_render(meeting=meeting, kind=kind, scope=scope)


@shared_task(acks_late=True)
def circulate_agenda_task(meeting_id: int) -> None:
    from mdt.models import Meeting
    from mdt.services import agenda_circulate

    agenda_circulate(meeting=Meeting.objects.select_related("series").get(pk=meeting_id))  # each member once


@shared_task(acks_late=True)
def circulate_minutes_task(meeting_id: int) -> None:
    from mdt.models import Meeting
    from mdt.services import minutes_circulate

    minutes_circulate(meeting=Meeting.objects.select_related("series").get(pk=meeting_id))


@shared_task(acks_late=True)
def circulation_sweep_task() -> None:
    from django.utils import timezone

    from mdt.services import circulation_sweep

    circulation_sweep(now=timezone.now())
