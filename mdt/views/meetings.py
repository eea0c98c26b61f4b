"""A meeting's page (its agenda, with suggestions for those who prepare it), moving and cancelling it.

Access (schedule and agenda): a meeting is reached by every user at one of the practices its series
covers (`Meeting.objects.visible_to`, the same rule on every page of a meeting); anyone else gets 404,
as if it did not exist. On it, a user sees and works only the agenda items of patients they can see
(`AgendaItem.objects.visible_to`): a coordinator at one practice prepares their own patients for an
MDT that several practices share, and learns nothing of the others' — not even how many there are.
An item whose patient they cannot see is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from mdt.forms import AgendaApproveForm, MeetingMoveForm
from mdt.models import Meeting
from mdt.services.agenda import agenda_since
from mdt.services.backgrounds import patient_backgrounds
from mdt.services.schedule import meeting_cancel, meeting_move
from mdt.services.suggestions import agenda_suggestions
from pcn.audit import audit
from pcn.models import User
from pcn.permissions import Perm, has_perm, permission_required


def meeting_for(request: HttpRequest, pk: int) -> Meeting:
    return get_object_or_404(
        Meeting.objects.visible_to(request.user).select_related("series", "series__chair"), pk=pk
    )


def run_service(
    request: HttpRequest, service: Callable[..., Any], *, success: str = "", **kwargs: Any
) -> bool:
    """Run the service: True when it went through (saying `success`, if given); a refusal becomes
    error messages."""
    try:
        service(**kwargs)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return False
    if success:
        messages.success(request, success)
    return True


def agenda_context(request: HttpRequest, meeting: Meeting) -> dict[str, Any]:
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


@permission_required(Perm.VIEW_PATIENTS)
def meeting_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = meeting_for(request, pk)
    context = agenda_context(request, meeting)
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


@permission_required(Perm.MANAGE_CASELOAD)
def meeting_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The form is the confirmation page: the members are emailed when it is sent."""
    meeting = meeting_for(request, pk)
    local = timezone.localtime(meeting.starts_at)
    form = MeetingMoveForm(
        request.POST if request.method == "POST" else None,
        initial={"starts_on": local.date(), "start_time": local.time().replace(second=0)},
    )
    if request.method == "POST" and form.is_valid():
        run_service(
            request, meeting_move, meeting=meeting, starts_at=form.starts_at(), by=request.user,
            place=form.cleaned_data["place"] or None, success="Meeting moved: the members have been emailed.",
        )  # fmt: skip
        return redirect("mdt:meeting_detail", meeting.pk)
    return render(request, "mdt/meeting_move.html", {"meeting": meeting, "form": form})


@permission_required(Perm.MANAGE_CASELOAD)
def meeting_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = meeting_for(request, pk)
    if request.method == "POST":
        success = "Meeting cancelled: the members have been emailed."
        run_service(request, meeting_cancel, meeting=meeting, by=request.user, success=success)
        return redirect(reverse("mdt:meeting_detail", args=[meeting.pk]))
    return render(request, "mdt/meeting_cancel.html", {"meeting": meeting})
