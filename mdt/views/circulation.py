"""Agenda packs and circulation: download a stored pack, see who was sent what and when, re-send.

A download only ever streams a stored file: packs are rendered in the background, never here. Each
user gets the pack they may see (`meeting_documents_for`): the whole agenda's for a member of every
practice of the series, otherwise one of only their own practices' patients, made when they ask.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from mdt.models import AgendaItem, Circulation, Meeting, MeetingDocument
from mdt.services.circulation import circulation_resend
from mdt.services.packs import meeting_document_source_hash, meeting_documents_for
from mdt.tasks import circulate_agenda_task, meeting_document_request
from mdt.views.meetings import run_service
from pcn.audit import audit
from pcn.outbox import enqueue_on_commit
from pcn.permissions import Perm, permission_required


def _meeting_for(request: HttpRequest, pk: int) -> Meeting:
    return get_object_or_404(Meeting.objects.visible_to(request.user).select_related("series"), pk=pk)


def _kind(kind: str) -> MeetingDocument.Kind:
    if kind not in MeetingDocument.Kind.values:
        raise Http404
    return MeetingDocument.Kind(kind)


def _can_request(meeting: Meeting, kind: str) -> bool:
    """Minutes are made for download once signed off; an agenda pack at any time."""
    return kind == MeetingDocument.Kind.AGENDA_PACK or meeting.minutes_locked


@permission_required(Perm.VIEW_PATIENTS)
def document_download_view(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    meeting = _meeting_for(request, pk)
    kind = _kind(kind)
    user: Any = request.user
    scope, document = meeting_documents_for(meeting=meeting, user=user)[kind]
    if document is None or document.state != MeetingDocument.State.READY or not document.file:
        context = {
            "meeting": meeting, "document": document, "kind": kind, "kind_label": kind.label,
            "can_request": _can_request(meeting, kind), "scoped": bool(scope),
        }  # fmt: skip
        return render(request, "mdt/document_not_ready.html", context, status=404)
    patient_ids = AgendaItem.objects.filter(
        meeting=meeting, patient__practice_id__in=document.practice_ids
    ).values_list("patient_id", flat=True)
    audit(request, "mdt.document.download", patient_ids, meeting_id=meeting.pk, kind=kind, scope=scope)
    starts = timezone.localtime(meeting.starts_at)
    filename = f"{meeting.series.name} {starts:%Y-%m-%d} {kind.label.lower()}.pdf"
    return FileResponse(
        document.file.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf"
    )


@require_POST
@permission_required(Perm.VIEW_PATIENTS)
def document_request_view(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Make the user's pack (in the background): the one of their practices' patients, or the whole
    agenda's for a member of every practice of the series."""
    meeting = _meeting_for(request, pk)
    kind = _kind(kind)
    user: Any = request.user
    scope, document = meeting_documents_for(meeting=meeting, user=user)[kind]
    if not _can_request(meeting, kind):
        messages.error(request, "The minutes can be downloaded once the chair has signed them off.")
    elif document is not None and document.state == MeetingDocument.State.RENDERING:
        messages.info(request, f"The {kind.label.lower()} is already being made.")
    else:
        meeting_document_request(meeting=meeting, kind=kind, scope=scope)
        messages.success(request, f"The {kind.label.lower()} is being made: it is ready in a few seconds.")
    return redirect("mdt:circulation_list", meeting.pk)


@permission_required(Perm.VIEW_PATIENTS)
def circulation_list_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_for(request, pk)
    user: Any = request.user
    documents = []
    for kind, (scope, document) in meeting_documents_for(meeting=meeting, user=user).items():
        stale = (
            document is not None
            and document.state == MeetingDocument.State.READY
            and document.source_hash != meeting_document_source_hash(meeting=meeting, kind=kind, scope=scope)
        )
        missing = document is None or document.state == MeetingDocument.State.FAILED
        if document is None and not (scope and _can_request(meeting, kind)):
            continue  # the whole agenda's packs are made when circulated or signed off
        documents.append(
            {
                "kind": kind, "label": kind.label, "document": document, "stale": stale, "scoped": bool(scope),
                "can_request": missing and _can_request(meeting, kind),
            }
        )  # fmt: skip
    circulations = Circulation.objects.filter(meeting=meeting).select_related("user", "external_member")
    return render(
        request,
        "mdt/circulation_list.html",
        {"meeting": meeting, "documents": documents, "circulations": circulations},
    )


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def circulation_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    circulation = get_object_or_404(
        Circulation.objects.select_related("meeting__series").filter(
            meeting__in=Meeting.objects.visible_to(request.user)
        ),
        pk=pk,
    )
    success = f"Sent again to {circulation.email}."
    run_service(request, circulation_resend, circulation=circulation, by=request.user, success=success)
    return redirect("mdt:circulation_list", circulation.meeting_id)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def circulate_now_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the agenda pack now rather than at the set time (in the background, each member once)."""
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user), pk=pk)
    if meeting.circulated_at is not None or meeting.status != Meeting.Status.SCHEDULED:
        messages.error(request, "This agenda has been circulated already, or the meeting is not scheduled.")
    else:
        enqueue_on_commit(circulate_agenda_task, meeting.pk)
        audit(request, "mdt.agenda.circulate_now", meeting.items.values_list("patient_id", flat=True))
        messages.success(request, "The agenda pack is being made and sent to every member.")
    return redirect("mdt:circulation_list", pk=meeting.pk)
