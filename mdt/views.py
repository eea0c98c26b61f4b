"""MDT pages. Each engineer's part is a section below.

Access (schedule and agenda): a meeting is reached by every user at one of the practices its series
covers (`Meeting.objects.visible_to`, the same rule on every page of a meeting); anyone else gets 404,
as if it did not exist. On it, a user sees and works only the agenda items of patients they can see
(`AgendaItem.objects.visible_to`): a coordinator at one practice prepares their own patients for an
MDT that several practices share, and learns nothing of the others' — not even how many there are.
An item whose patient they cannot see is a 404. The series list shows the series covering any of the
user's practices, with their next meetings (no patient data).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from caseload.models import Patient
from mdt.forms import (
    AgendaApproveForm,
    AgendaItemAddForm,
    AgendaItemUpdateForm,
    AgendaOrderForm,
    MeetingMoveForm,
)
from mdt.models import AgendaItem, Meeting, MeetingSeries
from mdt.services.agenda import (
    agenda_approve,
    agenda_item_add,
    agenda_item_move,
    agenda_item_remove,
    agenda_item_update,
    agenda_reorder,
    agenda_since,
)
from mdt.services.backgrounds import patient_backgrounds
from mdt.services.schedule import meeting_cancel, meeting_move
from mdt.services.suggestions import agenda_suggestions
from pcn.audit import audit
from pcn.models import User
from pcn.permissions import Perm, has_perm, permission_required

# --- Schedule and agenda ----------------------------------------------------------------------------

NEXT_MEETINGS_SHOWN = 4


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _meeting_for(request: HttpRequest, pk: int) -> Meeting:
    return get_object_or_404(
        Meeting.objects.visible_to(request.user).select_related("series", "series__chair"), pk=pk
    )


def _item_for(request: HttpRequest, pk: int) -> AgendaItem:
    """An item of a meeting the user can see, of a patient they can see; otherwise 404."""
    return get_object_or_404(
        AgendaItem.objects.visible_to(request.user).select_related("patient", "meeting__series__chair"), pk=pk
    )


def _messages_from(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _agenda_context(request: HttpRequest, meeting: Meeting) -> dict[str, Any]:
    """The items the user can see (and only their count and minutes): see the module's docstring."""
    items = list(
        meeting.items.visible_to(request.user)
        .select_related("patient", "patient__practice", "presenter", "referral")
        .order_by("position", "id")
    )
    since = agenda_since(meeting=meeting)
    backgrounds = patient_backgrounds(patients=[item.patient for item in items], since=since)
    for item in items:
        item.background = backgrounds[item.patient_id]
    series = meeting.series
    can_edit = (
        has_perm(request.user, Perm.MANAGE_CASELOAD)
        and meeting.circulated_at is None
        and meeting.status == Meeting.Status.SCHEDULED
    )
    presenters = (
        list(
            User.objects.filter(Q(meeting_series=series) | Q(chaired_series=series), is_active=True)
            .distinct()
            .order_by("full_name")
        )
        if can_edit
        else []
    )
    return {
        "meeting": meeting,
        "items": items,
        "since": since,
        "can_edit": can_edit,
        "presenters": presenters,
        "total_minutes": sum(item.minutes_allotted for item in items),
    }


def _agenda_response(request: HttpRequest, meeting: Any) -> HttpResponse:
    """htmx gets the agenda partial back (audited: it shows the patients); a plain form goes back."""
    if _is_htmx(request):
        context = _agenda_context(request, meeting)
        audit(request, "mdt.agenda.view", [item.patient for item in context["items"]], meeting_id=meeting.pk)
        return render(request, "mdt/meeting_detail.html#agenda", context)
    return redirect("mdt:meeting_detail", meeting.pk)


@permission_required(Perm.VIEW_PATIENTS)
def series_list(request: HttpRequest) -> HttpResponse:
    upcoming = Meeting.objects.filter(starts_at__gte=timezone.now()).order_by("starts_at", "id")
    series = list(
        MeetingSeries.objects.visible_to(request.user)
        .filter(is_active=True)
        .select_related("chair")
        .prefetch_related("practices", Prefetch("meetings", queryset=upcoming, to_attr="upcoming"))
    )
    for one in series:
        one.next_meetings = one.upcoming[:NEXT_MEETINGS_SHOWN]
    return render(request, "mdt/series_list.html", {"series_list": series})


@permission_required(Perm.VIEW_PATIENTS)
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_for(request, pk)
    context = _agenda_context(request, meeting)
    user: Any = request.user
    suggestions = agenda_suggestions(meeting=meeting, user=user) if context["can_edit"] else []
    shown = [item.patient for item in context["items"]] + [s["patient"] for s in suggestions]
    audit(request, "mdt.meeting.view", shown, meeting_id=meeting.pk)
    context.update(
        suggestions=suggestions,
        is_chair=meeting.series.chair_id == request.user.pk,
        approve_form=AgendaApproveForm(initial={"comments": meeting.chair_comments}),
        can_manage=has_perm(request.user, Perm.MANAGE_CASELOAD),
    )
    return render(request, "mdt/meeting_detail.html", context)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm a suggestion: the patient goes on the agenda with the suggestion's reasons."""
    meeting = _meeting_for(request, pk)
    form = AgendaItemAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a patient to add.")
        return redirect("mdt:meeting_detail", meeting.pk)
    patient = get_object_or_404(Patient.objects.visible_to(request.user), pk=form.cleaned_data["patient"])
    try:
        agenda_item_add(
            meeting=meeting, patient=patient, by=request.user, reason=form.cleaned_data["reason"],
            source=AgendaItem.Source.SUGGESTED,
        )  # fmt: skip
    except ValidationError as error:
        _messages_from(request, error)
    else:
        messages.success(request, f"{patient.display_name} added to the agenda.")
    return redirect("mdt:meeting_detail", meeting.pk)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_for(request, pk)
    meeting = item.meeting
    try:
        agenda_item_remove(item=item, by=request.user)
    except ValidationError as error:
        _messages_from(request, error)
    return _agenda_response(request, meeting)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_for(request, pk)
    direction = request.POST.get("direction")
    if direction in {"up", "down"}:
        try:
            agenda_item_move(item=item, direction=direction, by=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            _messages_from(request, error)
    return _agenda_response(request, item.meeting)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_item_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_for(request, pk)
    series = item.meeting.series
    presenters = User.objects.filter(Q(meeting_series=series) | Q(chaired_series=series)).distinct()
    form = AgendaItemUpdateForm(request.POST, presenters=presenters)
    if form.is_valid():
        try:
            agenda_item_update(item=item, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _messages_from(request, error)
    else:
        messages.error(request, "Give the minutes (1 to 120) and a presenter from the MDT's members.")
    return _agenda_response(request, item.meeting)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def agenda_reorder_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_for(request, pk)
    form = AgendaOrderForm(request.POST)
    if form.is_valid():
        try:
            agenda_reorder(meeting=meeting, item_ids=form.cleaned_data["order"], by=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            _messages_from(request, error)
    else:
        messages.error(request, "Give the item ids separated by commas.")
    return _agenda_response(request, meeting)


@require_POST
@permission_required(Perm.VIEW_PATIENTS)
def agenda_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Only the series' chair (a 403 for anyone else who can see the meeting)."""
    meeting = _meeting_for(request, pk)
    if meeting.series.chair_id != request.user.pk:
        raise PermissionDenied
    form = AgendaApproveForm(request.POST)
    form.is_valid()
    agenda_approve(meeting=meeting, by=request.user, comments=form.cleaned_data.get("comments", ""))
    messages.success(request, "Agenda approved.")
    return redirect("mdt:meeting_detail", meeting.pk)


@permission_required(Perm.MANAGE_CASELOAD)
def meeting_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The form is the confirmation page: the members are emailed when it is sent."""
    meeting = _meeting_for(request, pk)
    local = timezone.localtime(meeting.starts_at)
    form = MeetingMoveForm(
        request.POST if request.method == "POST" else None,
        initial={"starts_on": local.date(), "start_time": local.time().replace(second=0)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            meeting_move(
                meeting=meeting, starts_at=form.starts_at(), by=request.user,
                place=form.cleaned_data["place"] or None,
            )  # fmt: skip
        except ValidationError as error:
            _messages_from(request, error)
        else:
            messages.success(request, "Meeting moved: the members have been emailed.")
        return redirect("mdt:meeting_detail", meeting.pk)
    return render(request, "mdt/meeting_move.html", {"meeting": meeting, "form": form})


@permission_required(Perm.MANAGE_CASELOAD)
def meeting_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_for(request, pk)
    if request.method == "POST":
        try:
            meeting_cancel(meeting=meeting, by=request.user)
        except ValidationError as error:
            _messages_from(request, error)
        else:
            messages.success(request, "Meeting cancelled: the members have been emailed.")
        return redirect(reverse("mdt:meeting_detail", args=[meeting.pk]))
    return render(request, "mdt/meeting_cancel.html", {"meeting": meeting})
