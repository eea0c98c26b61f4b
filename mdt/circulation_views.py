"""Agenda packs and circulation: download a stored pack, see who was sent what and when, re-send.

A download only ever streams the stored file: the pack is rendered in the background, never here.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from mdt.models import Circulation, Meeting, MeetingDocument
from mdt.services import circulation_resend, meeting_document_source_hash
from pcn.audit import audit
from pcn.permissions import Perm, permission_required


@permission_required(Perm.VIEW_PATIENTS)
def document_download(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user).select_related("series"), pk=pk)
    if kind not in MeetingDocument.Kind.values:
        raise Http404
    document = MeetingDocument.objects.filter(meeting=meeting, kind=kind).first()
    if document is None or document.state != MeetingDocument.State.READY or not document.file:
        context = {"meeting": meeting, "document": document, "kind_label": MeetingDocument.Kind(kind).label}
        return render(request, "mdt/document_not_ready.html", context, status=404)
    patient_ids = list(meeting.items.values_list("patient_id", flat=True))
    audit(request, "mdt.document.download", patient_ids, meeting_id=meeting.pk, kind=kind)
    starts = timezone.localtime(meeting.starts_at)
    filename = f"{meeting.series.name} {starts:%Y-%m-%d} {MeetingDocument.Kind(kind).label.lower()}.pdf"
    return FileResponse(
        document.file.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf"
    )


@permission_required(Perm.VIEW_PATIENTS)
def circulation_list(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.visible_to(request.user).select_related("series"), pk=pk)
    documents = []
    for document in MeetingDocument.objects.filter(meeting=meeting).order_by("kind"):
        stale = (
            document.state == MeetingDocument.State.READY
            and document.source_hash != meeting_document_source_hash(meeting=meeting, kind=document.kind)
        )
        documents.append({"document": document, "stale": stale})
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
    try:
        circulation_resend(circulation=circulation, by=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Sent again to {circulation.email}.")
    return redirect("mdt:circulation_list", circulation.meeting_id)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def circulate_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the agenda pack now rather than at the set time (in the background, each member once)."""
    from django.db import transaction

    from mdt.tasks import circulate_agenda_task

    meeting = get_object_or_404(Meeting.objects.visible_to(request.user), pk=pk)
    if meeting.circulated_at is not None or meeting.status != Meeting.Status.SCHEDULED:
        messages.error(request, "This agenda has been circulated already, or the meeting is not scheduled.")
    else:
        transaction.on_commit(lambda: circulate_agenda_task.delay(meeting.pk))
        audit(request, "mdt.agenda.circulate_now", meeting.items.values_list("patient_id", flat=True))
        messages.success(request, "The agenda pack is being made and sent to every member.")
    return redirect("mdt:circulation_list", pk=meeting.pk)
