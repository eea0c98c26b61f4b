"""Celery tasks of the MDT app: each calls one service and is safe to run twice (STYLE.md 4).

Also here, beside the tasks they queue: asking for a pack (`meeting_document_request`) and the beat
sweep that queues circulations (`circulation_sweep`). The sweep runs in a task and queues tasks, so
wherever it lived the tasks would import it and it would import the tasks; here the imports run one
way: the tasks import the services that do the work, and what queues work (the views, the minutes'
sign-off) imports the tasks.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from mdt.models import Meeting, MeetingDocument
from mdt.services.chasing import actions_chase
from mdt.services.circulation import agenda_circulate, minutes_circulate
from mdt.services.packs import meeting_document_render, meeting_document_source_hash
from mdt.services.schedule import series_keep_current
from pcn.outbox import enqueue_on_commit

# --- Minutes and actions ----------------------------------------------------------------------------


@shared_task(acks_late=True)
def actions_chase_task() -> None:
    """The daily chase of overdue actions (safe to run twice: one ActionChase per action per day)."""
    actions_chase(today=timezone.localdate())


# --- Schedule and agenda ----------------------------------------------------------------------------


@shared_task(acks_late=True)
def meetings_schedule_task() -> None:
    """Hourly: every active series scheduled ahead and its next agenda refreshed (both idempotent)."""
    series_keep_current(now=timezone.now())


# --- Agenda packs and circulation -------------------------------------------------------------------


@shared_task(acks_late=True)
def render_meeting_document_task(meeting_id: int, kind: str, scope: str = "") -> None:
    meeting = Meeting.objects.select_related("series").get(pk=meeting_id)
    meeting_document_render(meeting=meeting, kind=kind, scope=scope)


@shared_task(acks_late=True)
def circulate_agenda_task(meeting_id: int) -> None:
    agenda_circulate(meeting=Meeting.objects.select_related("series").get(pk=meeting_id))  # each member once


@shared_task(acks_late=True)
def circulate_minutes_task(meeting_id: int) -> None:
    minutes_circulate(meeting=Meeting.objects.select_related("series").get(pk=meeting_id))


@shared_task(acks_late=True)
def circulation_sweep_task() -> None:
    circulation_sweep(now=timezone.now())


def meeting_document_request(*, meeting: Meeting, kind: str, scope: str = "") -> MeetingDocument:
    """Mark the pack as rendering and render it in the background once this transaction commits."""
    document, _ = MeetingDocument.objects.get_or_create(meeting=meeting, kind=kind, scope=scope)
    document.state = MeetingDocument.State.RENDERING
    document.save(update_fields=["state", "requested_at"])
    enqueue_on_commit(render_meeting_document_task, meeting.pk, kind, scope)
    return document


def circulation_sweep(*, now: Any) -> list[int]:
    """The beat sweep: every scheduled meeting due for circulation and not yet circulated gets a task;
    and every upcoming meeting's stored agenda pack that the agenda has outdated is made again, so a
    download is at most one sweep (five minutes) behind the agenda. Returns the meetings circulated."""
    for document in MeetingDocument.objects.filter(
        kind=MeetingDocument.Kind.AGENDA_PACK,
        state=MeetingDocument.State.READY,
        meeting__status=Meeting.Status.SCHEDULED,
        meeting__starts_at__gte=now,
    ).select_related("meeting__series", "meeting__series__chair"):
        kind, scope = MeetingDocument.Kind.AGENDA_PACK, document.scope
        fresh = meeting_document_source_hash(meeting=document.meeting, kind=kind, scope=scope)
        if document.source_hash != fresh:
            meeting_document_request(meeting=document.meeting, kind=kind, scope=scope)
    due = list(
        Meeting.objects.filter(
            status=Meeting.Status.SCHEDULED, circulate_at__lte=now, circulated_at__isnull=True
        ).values_list("pk", flat=True)
    )
    for meeting_id in due:
        enqueue_on_commit(circulate_agenda_task, meeting_id)
    return due
