"""Taking the minutes (attendance, one discussion per agenda item, actions added from an item),
signing them off, and addenda.

Scope first: a meeting outside the user's practices, or an item whose patient the user cannot see,
is a 404. The items of a meeting shown are those whose patients the user can see.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from mdt.forms import ActionForm, AddendumForm, AttendanceForm, DiscussionForm
from mdt.models import Action, AgendaItem, Meeting
from mdt.services.actions import action_create
from mdt.services.minutes import addendum_add, attendance_set, discussion_save, minutes_sign_off
from mdt.views.agenda import item_for
from mdt.views.meetings import run_service
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.permissions import Perm, has_perm, permission_required


def _meeting_for(request: HttpRequest, pk: int) -> Meeting:
    return get_object_or_404(
        Meeting.objects.visible_to(request.user).select_related("series__chair", "minutes_signed_off_by"),
        pk=pk,
    )


def _items(user: Any) -> Any:
    """Agenda items the user may see: the meeting is theirs and so is the patient."""
    return AgendaItem.objects.visible_to(user)


def _open_actions() -> Prefetch:
    return Prefetch(
        "actions",
        queryset=Action.objects.select_related("owner_user", "owner_external").order_by("due_on", "id"),
    )


def _row(item: AgendaItem, *, form: DiscussionForm | None = None, error: str = "", draft: str = "") -> dict:
    """What the item's partial needs: its discussion (if any), a form carrying the version read."""
    discussion = getattr(item, "discussion", None) if hasattr(item, "discussion") else None
    if form is None:
        form = DiscussionForm(
            initial={
                "notes": discussion.notes if discussion else "",
                "outcome": discussion.outcome if discussion else "",
                "version": discussion.version if discussion else 0,
            },
            prefix=f"item-{item.pk}",
        )
    return {"item": item, "discussion": discussion, "form": form, "error": error, "draft": draft}


def _minutes_context(request: HttpRequest, meeting: Meeting, rows: list[dict] | None = None) -> dict:
    if rows is None:
        items = (
            _items(request.user)
            .filter(meeting=meeting)
            .select_related("patient", "discussion__updated_by")
            .prefetch_related(_open_actions())
        )
        rows = [_row(item) for item in items]
    return {
        "meeting": meeting,
        "rows": rows,
        "attendance_form": AttendanceForm(meeting=meeting),
        "addenda": list(meeting.addenda.select_related("added_by")),
        "is_chair": meeting.series.chair_id == request.user.pk,
        "today": timezone.localdate(),
    }


def _item_row(item_pk: int, **extra: Any) -> dict:
    item = (
        AgendaItem.objects.select_related("patient", "meeting__series", "discussion__updated_by")
        .prefetch_related(_open_actions())
        .get(pk=item_pk)
    )
    return _row(item, **extra)


@permission_required(Perm.VIEW_PATIENTS)
def minutes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The minutes page: attendance, then one form per agenda item saved on its own (htmx)."""
    meeting = _meeting_for(request, pk)
    if request.method == "POST":
        if not has_perm(request.user, Perm.MANAGE_CASELOAD):
            raise PermissionDenied
        form = AttendanceForm(request.POST, meeting=meeting)
        if form.is_valid():
            run_service(
                request, attendance_set, meeting=meeting, by=request.user, **form.service_kwargs(),
                success="Attendance saved.",
            )  # fmt: skip
        return redirect("mdt:minutes", meeting.pk)
    context = _minutes_context(request, meeting)
    patient_ids = [row["item"].patient_id for row in context["rows"]]
    audit(request, "mdt.minutes.view", patient_ids, meeting_id=meeting.pk)
    return render(request, "mdt/minutes.html", context)


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def discussion_save_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save one item's discussion. htmx gets the item's partial back: saved, or refused with the
    stored text and the user's unsaved text side by side (nothing is lost)."""
    item = item_for(request, pk)
    form = DiscussionForm(request.POST, prefix=f"item-{item.pk}")
    error = draft = ""
    if form.is_valid():
        try:
            discussion_save(item=item, by=request.user, **form.cleaned_data)
            form = None  # show the saved text with its new version
        except ValidationError as refusal:
            error, draft = refusal.messages[0], form.cleaned_data["notes"]
            form = None  # the stored text and version, with the draft beside it
    else:
        error = "The discussion could not be saved: reload the page."
    row = _item_row(item.pk, form=form, error=error, draft=draft)
    if request.htmx:
        return render(request, "mdt/minutes.html#item", {"row": row, "meeting": item.meeting})
    if not error:
        messages.success(request, "Discussion saved.")
        return redirect(reverse("mdt:minutes", args=[item.meeting_id]) + f"#item-{item.pk}")
    context = _minutes_context(request, _meeting_for(request, item.meeting_id))
    context["rows"] = [row if r["item"].pk == item.pk else r for r in context["rows"]]
    return render(request, "mdt/minutes.html", context)


@permission_required(Perm.MANAGE_CASELOAD)
def action_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for(request, pk)
    form = ActionForm(request.POST if request.method == "POST" else None, meeting=item.meeting)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            action_create(item=item, by=request.user, **form.service_kwargs())
            if request.htmx:
                return render(
                    request, "mdt/minutes.html#item", {"row": _item_row(item.pk), "meeting": item.meeting}
                )
            messages.success(request, "Action added.")
            return redirect(reverse("mdt:minutes", args=[item.meeting_id]) + f"#item-{item.pk}")
    audit(request, "mdt.action.form", [item.patient_id], item_id=item.pk)
    return render(request, "mdt/action_form.html", {"form": form, "item": item})


@permission_required(Perm.MANAGE_CASELOAD)
def minutes_sign_off_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The chair confirms, and the minutes lock. Anyone else: 403 (the meeting is in scope)."""
    meeting = _meeting_for(request, pk)
    if meeting.series.chair_id != request.user.pk:
        raise PermissionDenied
    if request.method == "POST":
        try:
            minutes_sign_off(meeting=meeting, by=request.user)
        except ValidationError as refusal:
            messages.error(request, refusal.messages[0])
        else:
            messages.success(request, "Minutes signed off. They are locked: corrections are addenda.")
        return redirect("mdt:minutes", meeting.pk)
    items = list(_items(request.user).filter(meeting=meeting).select_related("patient", "discussion"))
    audit(request, "mdt.minutes.sign_off_form", [item.patient_id for item in items], meeting_id=meeting.pk)
    undiscussed = [item for item in items if not hasattr(item, "discussion")]
    return render(
        request, "mdt/minutes_sign_off.html", {"meeting": meeting, "items": items, "undiscussed": undiscussed}
    )


@permission_required(Perm.MANAGE_CASELOAD)
def addendum_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_for(request, pk)
    form = AddendumForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            addendum_add(meeting=meeting, text=form.cleaned_data["text"], by=request.user)
            messages.success(request, "Addendum added to the minutes.")
            return redirect("mdt:minutes", meeting.pk)
    audit(request, "mdt.addendum.form", [], meeting_id=meeting.pk)
    return render(request, "mdt/addendum_form.html", {"form": form, "meeting": meeting})
