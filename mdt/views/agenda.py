"""Preparing a meeting's agenda: adding a suggested patient, editing, moving and removing items, and
the chair's approval. Access: see mdt/views/meetings.py.

An htmx request gets the agenda partial back; a plain form goes back to the meeting's page. A request
writes one audit event at most: its change's, written by the service; else, for the partial, the view
of the patients it shows (a move, or a refusal).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from caseload.models import Patient
from mdt.forms import AgendaApproveForm, AgendaItemAddForm, AgendaItemUpdateForm, AgendaOrderForm
from mdt.models import AgendaItem, Meeting
from mdt.services.agenda import (
    agenda_approve,
    agenda_item_add,
    agenda_item_move,
    agenda_item_remove,
    agenda_item_update,
    agenda_reorder,
)
from mdt.views.meetings import agenda_context, meeting_for, run_service
from pcn.audit import audit
from pcn.models import User
from pcn.permissions import Perm, permission_required


def item_for(request: HttpRequest, pk: int) -> AgendaItem:
    """An item of a meeting the user can see, of a patient they can see; otherwise 404."""
    return get_object_or_404(
        AgendaItem.objects.visible_to(request.user).select_related("patient", "meeting__series__chair"), pk=pk
    )


def _agenda_response(request: HttpRequest, meeting: Meeting, *, audited: bool = False) -> HttpResponse:
    """htmx gets the agenda partial back, audited as it shows the patients unless the request's change
    was already (`audited`: one event per request); a plain form goes back to the meeting's page."""
    if request.htmx:
        context = agenda_context(request, meeting)
        if not audited:
            audit(
                request, "mdt.agenda.view", [item.patient for item in context["items"]], meeting_id=meeting.pk
            )
        return render(request, "mdt/meeting_detail.html#agenda", context)
    return redirect("mdt:meeting_detail", meeting.pk)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm a suggestion: the patient goes on the agenda with the suggestion's reasons."""
    meeting = meeting_for(request, pk)
    form = AgendaItemAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a patient to add.")
        return redirect("mdt:meeting_detail", meeting.pk)
    patient = get_object_or_404(Patient.objects.visible_to(request.user), pk=form.cleaned_data["patient"])
    run_service(
        request, agenda_item_add, meeting=meeting, patient=patient, by=request.user,
        reason=form.cleaned_data["reason"], source=AgendaItem.Source.SUGGESTED,
        success=f"{patient.display_name} added to the agenda.",
    )  # fmt: skip
    return redirect("mdt:meeting_detail", meeting.pk)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for(request, pk)
    meeting = item.meeting
    audited = run_service(request, agenda_item_remove, item=item, by=request.user)  # the service audits it
    return _agenda_response(request, meeting, audited=audited)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for(request, pk)
    direction = request.POST.get("direction")
    if direction in {"up", "down"}:
        run_service(request, agenda_item_move, item=item, direction=direction, by=request.user)
    return _agenda_response(request, item.meeting)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for(request, pk)
    series = item.meeting.series
    presenters = User.objects.filter(Q(meeting_series=series) | Q(chaired_series=series)).distinct()
    form = AgendaItemUpdateForm(request.POST, presenters=presenters)
    audited = False
    if form.is_valid():
        audited = run_service(request, agenda_item_update, item=item, by=request.user, **form.cleaned_data)
    else:
        messages.error(request, "Give the minutes (1 to 120) and a presenter from the MDT's members.")
    return _agenda_response(request, item.meeting, audited=audited)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_reorder_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = meeting_for(request, pk)
    form = AgendaOrderForm(request.POST)
    if form.is_valid():
        run_service(
            request, agenda_reorder, meeting=meeting, item_ids=form.cleaned_data["order"], by=request.user
        )
    else:
        messages.error(request, "Give the item ids separated by commas.")
    return _agenda_response(request, meeting)


@require_POST
@permission_required(Perm.VIEW_PATIENTS)
def agenda_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Only the series' chair (a 403 for anyone else who can see the meeting)."""
    meeting = meeting_for(request, pk)
    if meeting.series.chair_id != request.user.pk:
        raise PermissionDenied
    form = AgendaApproveForm(request.POST)
    form.is_valid()
    agenda_approve(meeting=meeting, by=request.user, comments=form.cleaned_data.get("comments", ""))
    messages.success(request, "Agenda approved.")
    return redirect("mdt:meeting_detail", meeting.pk)
