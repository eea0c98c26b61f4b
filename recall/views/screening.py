"""Screening non-responders: this QOF year's bowel, breast and cervical screening invitations with no
response yet, by practice, as a list to call; each call recorded as a contact on the timeline."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required
from recall.forms.screening import ScreeningCallForm, ScreeningFilter
from recall.models import RecallEntry, Register, ScreeningCallOutcome, qof_year, year_bounds, year_label
from recall.services.screening import screening_call_record

PAGE_SIZE = 50
DECLINED = "they declined. If they do not want to be invited again, record their informed dissent below."


@permission_required(Perm.VIEW_PATIENTS)
def screening_list_view(request: HttpRequest) -> HttpResponse:
    """Invited at least once and not seen, booked, PCA or closed; the longest-waiting first."""
    user: Any = request.user
    year = qof_year(timezone.localdate())
    entries = (
        RecallEntry.objects.visible_to(user)
        .screening_non_responders(year=year)
        .with_last_call(since=year_bounds(year)[0])
        .select_related("patient__practice", "register")
        .order_by("last_invited_on", "patient__family_name", "id")
    )
    screening_filter = ScreeningFilter(request.GET or None, queryset=entries, user=user)
    page = CappedPaginator(screening_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "recall.screening.list", [e.patient_id for e in rows], page=page.number)
    context = {"filter": screening_filter, "page": page, "entries": rows, "year": year_label(year)}
    return render(
        request, "recall/screening_list.html", {**context, "query_string": query_without(request, "page")}
    )


@permission_required(Perm.MANAGE_CASELOAD)
def screening_contact_view(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(
        RecallEntry.objects.visible_to(request.user)
        .filter(register__kind=Register.Kind.SCREENING)
        .select_related("patient__practice", "register"),
        pk=pk,
    )
    form = ScreeningCallForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            screening_call_record(entry=entry, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
            if form.cleaned_data["outcome"] == ScreeningCallOutcome.DECLINED and entry.is_open:
                messages.success(request, f"Call recorded for {entry.patient.display_name}: {DECLINED}")
                pca = reverse("recall:entry_pca", args=[entry.pk])
                return redirect(f"{pca}?reason={RecallEntry.PcaReason.INFORMED_DISSENT}")
            messages.success(request, f"Call recorded for {entry.patient.display_name}.")
            return redirect("recall:screening_list")
    audit(request, "recall.screening.call_form", [entry.patient_id], entry_id=entry.pk)
    context = {"form": form, "entry": entry, "patient": entry.patient}
    return render(request, "recall/screening_contact.html", context)
