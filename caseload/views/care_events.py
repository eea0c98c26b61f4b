"""Transfers of care: record one by hand, the triage inbox and each event's outcome, the unmatched
events of a feed, and the feed's upload → check → import.

Triage is for those who manage caseloads (Perm.MANAGE_CASELOAD) and sees their practices' patients;
feeds and unmatched events (no patient, so no practice to scope by) are for the import roles
(Perm.IMPORT_POPULATION). Out of scope is a 404.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from caseload.filters import TriageFilter
from caseload.forms.care_events import (
    CareEventForm,
    FeedStartForm,
    FeedUploadForm,
    ResolveForm,
    TriageAcknowledgeForm,
    TriageContactForm,
    TriageMdtForm,
    TriageTaskForm,
)
from caseload.models import CARE_EVENT_FEED_SOURCE, CareEvent, ImportBatch, Task
from caseload.services.care_events import (
    care_event_feed_import,
    care_event_feed_upload,
    care_event_record,
    care_event_resolve,
    care_event_triage,
    discharge_follow_up_due,
)
from caseload.services.patients import mdt_series_for
from caseload.views.imports import batch_start
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50
ERRORS_ON_SCREEN = 100


def _follow_up(event: CareEvent) -> Task | None:
    return event.tasks.filter(kind=Task.Kind.DISCHARGE_FOLLOW_UP).select_related("owner").first()


@permission_required(Perm.MANAGE_CASELOAD)
def care_event_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = CareEventForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            event = care_event_record(patient=patient, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
            kind = event.get_kind_display().lower()
            messages.success(request, f"The {kind} is recorded and waits for triage.")
            if (follow_up := _follow_up(event)) is not None:
                due = f"{follow_up.due_on:%-d %B %Y}"
                messages.success(
                    request, f"A discharge follow-up task for {follow_up.owner} is due on {due}."
                )
            return redirect("caseload:care_event_triage", event.pk)
    audit(request, "care_event.add_form", [patient])
    return render(
        request,
        "caseload/care_event_form.html",
        {"form": form, "patient": patient, "follow_up_days": settings.DISCHARGE_FOLLOW_UP_WORKING_DAYS},
    )


@permission_required(Perm.VIEW_PATIENTS)
def triage_list_view(request: HttpRequest) -> HttpResponse:
    """New events for the user's patients, oldest first (or, with ?show=triaged, the latest triaged)."""
    triaged = request.GET.get("show") == "triaged"
    events = CareEvent.objects.visible_to(request.user).select_related("patient__practice", "triaged_by")
    if triaged:
        events = events.filter(triaged_at__isnull=False).order_by("-triaged_at", "-id")
    else:
        events = events.to_triage().order_by("occurred_at", "id")
    triage_filter = TriageFilter(request.GET, queryset=events, user=request.user)  # type: ignore[arg-type]
    page = CappedPaginator(triage_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "care_event.list", [e.patient_id for e in rows], page=page.number, triaged=triaged)
    return render(
        request,
        "caseload/care_event_triage_list.html",
        {
            "filter": triage_filter,
            "page": page,
            "events": rows,
            "triaged": triaged,
            "query_string": query_without(request, "page"),
        },
    )


def _triage_forms(request: HttpRequest, event: CareEvent, *, bound: str = "") -> dict[str, Form]:
    """A form for each outcome; the one chosen (`bound`) has the POST."""
    data = request.POST if request.method == "POST" else None
    user: Any = request.user
    series = mdt_series_for(patient=event.patient, user=user)
    return {
        CareEvent.Outcome.ACKNOWLEDGED: TriageAcknowledgeForm(
            data if bound == CareEvent.Outcome.ACKNOWLEDGED else None, prefix="ack"
        ),
        CareEvent.Outcome.CONTACT: TriageContactForm(
            data if bound == CareEvent.Outcome.CONTACT else None, prefix="contact"
        ),
        CareEvent.Outcome.TASK: TriageTaskForm(
            data if bound == CareEvent.Outcome.TASK else None, prefix="task", patient=event.patient, user=user
        ),
        CareEvent.Outcome.MDT: TriageMdtForm(
            data if bound == CareEvent.Outcome.MDT else None, prefix="mdt", series=series
        ),
    }


def _triage_page(event: CareEvent, outcome_forms: dict[str, Form], *, bound: str) -> dict[str, Any]:
    return {
        "event": event,
        "patient": event.patient,
        "forms": outcome_forms,
        "bound": bound,
        "follow_up": _follow_up(event),
        "follow_up_due": discharge_follow_up_due(event.occurred_at)
        if event.kind == CareEvent.Kind.DISCHARGE
        else None,
        "follow_up_days": settings.DISCHARGE_FOLLOW_UP_WORKING_DAYS,
        "refer_url": f"{reverse('caseload:referral_add', args=[event.patient_id])}?care_event={event.pk}",
    }


@permission_required(Perm.MANAGE_CASELOAD)
def care_event_triage_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One event: its details and, until it is triaged, a form for each outcome; afterwards its
    outcome, who and when."""
    event = get_object_or_404(
        CareEvent.objects.visible_to(request.user).select_related("patient__practice", "triaged_by"), pk=pk
    )
    if request.method == "POST" and event.triaged_at is not None:
        messages.error(request, "This event has already been triaged.")
        return redirect("caseload:care_event_triage", event.pk)
    outcome = request.POST.get("outcome", "") if request.method == "POST" else ""
    outcome_forms = _triage_forms(request, event, bound=outcome)
    if (form := outcome_forms.get(outcome)) is not None and form.is_valid():
        with refusal_shown_on(form):
            care_event_triage(event=event, outcome=outcome, by=request.user, **form.service_kwargs())  # type: ignore[arg-type, attr-defined]
            what = f"{event.get_kind_display()} for {event.patient.display_name}"
            messages.success(request, f"{what}: {event.get_outcome_display().lower()}.")
            if request.POST.get("next") == "list":
                return redirect("caseload:triage_list")
            return redirect("caseload:care_event_triage", event.pk)
    context = _triage_page(event, outcome_forms, bound=outcome)
    audit(request, "care_event.view", [event.patient_id], care_event_id=event.pk)
    return render(request, "caseload/care_event_triage.html", context)


# --- Unmatched events and the feed (import roles) ----------------------------------------------------


def _unmatched() -> QuerySet[CareEvent]:
    return CareEvent.objects.unmatched().select_related("batch")


@permission_required(Perm.IMPORT_POPULATION)
def care_event_unmatched_view(request: HttpRequest) -> HttpResponse:
    """Feed events whose NHS number matched no patient: PCN-wide (no practice to scope them by)."""
    events = _unmatched().order_by("occurred_at", "id")
    page = CappedPaginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "care_event.unmatched_list", [], page=page.number, care_event_ids=[e.pk for e in rows])
    return render(
        request, "caseload/care_event_unmatched.html", {"page": page, "events": rows, "query_string": ""}
    )


@permission_required(Perm.IMPORT_POPULATION)
def care_event_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(_unmatched(), pk=pk)
    form = ResolveForm(request.POST if request.method == "POST" else None, user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        patient = form.cleaned_data["patient"]
        with refusal_shown_on(form):
            care_event_resolve(
                event=event,
                patient=patient,
                note=form.cleaned_data["note"],
                by=request.user,  # type: ignore[arg-type]
            )
            if patient is not None:
                messages.success(
                    request, f"Event matched to {patient.display_name}: it is waiting for triage."
                )
            else:
                messages.success(request, "Event dismissed.")
            return redirect("caseload:care_event_unmatched")
    audit(request, "care_event.resolve_form", [], care_event_id=event.pk)
    return render(request, "caseload/care_event_resolve.html", {"form": form, "event": event})


def _feed_batches(request: HttpRequest) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.visible_to(request.user).filter(
        source=CARE_EVENT_FEED_SOURCE, profile__isnull=True
    )


@permission_required(Perm.IMPORT_POPULATION)
def care_event_import_view(request: HttpRequest) -> HttpResponse:
    """Upload a feed: it is checked at once and the preview shown (nothing is imported yet)."""
    form = FeedUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        batch = care_event_feed_upload(upload=form.cleaned_data["file"], by=request.user)  # type: ignore[arg-type]
        return redirect("caseload:care_event_import_detail", batch.pk)
    recent = list(_feed_batches(request).select_related("created_by")[:10])
    return render(
        request,
        "caseload/care_event_import.html",
        {"form": form, "recent": recent, "max_mb": settings.IMPORT_MAX_UPLOAD_MB},
    )


@permission_required(Perm.IMPORT_POPULATION)
def care_event_import_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The check's counts and errors, the import button; after the import, what it did."""
    batch = get_object_or_404(_feed_batches(request).select_related("created_by"), pk=pk)
    errors = batch.report.get("errors", [])[:ERRORS_ON_SCREEN]
    if batch.error_count:
        audit(request, "care_event_feed.view", batch_id=batch.pk, errors_shown=len(errors))
    return render(
        request,
        "caseload/care_event_import_detail.html",
        {
            "batch": batch,
            "counts": batch.counts,
            "errors": errors,
            "errors_not_shown": max(batch.error_count - len(errors), 0),
            "start_form": FeedStartForm(),
        },
    )


@require_POST
@permission_required(Perm.IMPORT_POPULATION)
def care_event_import_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(_feed_batches(request), pk=pk)
    batch_start(request, care_event_feed_import, batch, FeedStartForm(request.POST))
    return redirect("caseload:care_event_import_detail", batch.pk)
