"""The actions: My actions, an action's page with its chase history, and closing one (done or
cancelled). An action whose patient the user cannot see is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from mdt.forms import ActionCloseForm, MyActionsForm
from mdt.models import Action, Meeting
from mdt.services.actions import action_cancel, action_complete
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50


def _action_for(request: HttpRequest, pk: int) -> Action:
    return get_object_or_404(
        Action.objects.visible_to(request.user).select_related(
            "item__patient",
            "item__meeting__series",
            "owner_user",
            "owner_external",
            "closed_by",
            "created_by",
        ),
        pk=pk,
    )


@permission_required(Perm.VIEW_PATIENTS)
def my_actions_view(request: HttpRequest) -> HttpResponse:
    """The user's own open actions, overdue first; optionally one meeting's."""
    user: Any = request.user
    today = timezone.localdate()
    mine = Action.objects.visible_to(user).filter(owner_user=user, status=Action.Status.OPEN)
    meetings = Meeting.objects.filter(pk__in=mine.values("item__meeting")).select_related("series")
    form = MyActionsForm(request.GET or None, meetings=meetings)
    meeting_pk = form.cleaned_data.get("meeting") if form.is_valid() else None
    if meeting_pk:
        mine = mine.filter(item__meeting_id=meeting_pk)
    actions = mine.select_related("item__patient", "item__meeting__series").overdue_first(on=today)
    page = CappedPaginator(actions, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    patient_ids = [action.item.patient_id for action in rows]
    audit(request, "mdt.action.list", patient_ids, page=page.number, meeting_id=meeting_pk)
    query_string = query_without(request, "page")
    context = {"form": form, "page": page, "actions": rows, "today": today, "query_string": query_string}
    return render(request, "mdt/my_actions.html", context)


@permission_required(Perm.VIEW_PATIENTS)
def action_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk)
    audit(request, "mdt.action.view", [action.item.patient_id], action_id=action.pk)
    return render(
        request,
        "mdt/action_detail.html",
        {"action": action, "chases": list(action.chases.all()), "today": timezone.localdate()},
    )


@permission_required(Perm.MANAGE_CASELOAD)
def action_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm: done (with a note of what was done) or cancelled (with the reason)."""
    action = _action_for(request, pk)
    form = ActionCloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        close = action_complete if form.cleaned_data["decision"] == form.DONE else None
        with refusal_shown_on(form):
            if close is not None:
                close(action=action, note=form.cleaned_data["note"], by=request.user)
            else:
                action_cancel(action=action, reason=form.cleaned_data["note"], by=request.user)
            messages.success(request, f"Action {'done' if close else 'cancelled'}: {action.what}.")
            return redirect("mdt:action_detail", action.pk)
    audit(request, "mdt.action.close_form", [action.item.patient_id], action_id=action.pk)
    return render(request, "mdt/action_close.html", {"form": form, "action": action})
