"""The cohort ("Find patients"), its CSV export, and a patient's care home (the move-in)."""

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from caseload.filters import PatientFilter, patient_cohort
from caseload.forms.patients import CareHomeForm
from caseload.models import CareEvent, Patient
from caseload.services.patients import (
    PATIENT_EXPORT_FIELDS,
    PATIENT_EXPORT_HEADER,
    patient_care_home_set,
    patient_export_line,
)
from pcn.audit import audit
from pcn.exports import csv_download
from pcn.forms import refusal_shown_on
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


def patient_for(request: HttpRequest, pk: int) -> Patient:
    """A patient at one of the user's practices, with the practice; anyone else's is a 404."""
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("practice"), pk=pk)


def _cohort(request: HttpRequest) -> tuple[PatientFilter, QuerySet[Patient]]:
    patient_filter = patient_cohort(request.GET, user=request.user)  # type: ignore[arg-type]
    return patient_filter, patient_filter.qs


@permission_required(Perm.VIEW_PATIENTS)
def patient_list_view(request: HttpRequest) -> HttpResponse:
    """Find patients: the PCN population, filtered, sorted and paged; select people for a caseload."""
    patient_filter, patients = _cohort(request)
    page = CappedPaginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "patient.list", rows, page=page.number, filters=query_without(request, "page"))
    return render(
        request,
        "caseload/patient_list.html",
        {
            "filter": patient_filter,
            "page": page,
            "patients": rows,
            "today": timezone.localdate(),
            "query_string": query_without(request, "page"),
            "sort_query": query_without(request, "page", "sort"),
            "current_sort": request.GET.get("sort") or "name",
            "frequent_attender_threshold": patient_filter.filters["frequent_attender"].extra["help_text"],
        },
    )


@permission_required(Perm.VIEW_PATIENTS)
def patient_export_view(request: HttpRequest) -> HttpResponse:
    """CSV of what the list shows (every page, up to 100,000 rows); audited with every patient."""
    _, patients = _cohort(request)
    return patients_csv(request, patients, filters=request.GET.urlencode())


def patients_csv(request: HttpRequest, patients: QuerySet[Patient], **detail: Any) -> HttpResponse:
    """The Find-patients CSV of `patients` (the cohort, filtered): also a saved search's download."""
    rows = list(patients.values_list(*PATIENT_EXPORT_FIELDS)[:EXPORT_LIMIT])
    audit(request, "patient.export", [row[0] for row in rows], rows=len(rows), **detail)
    lines = (patient_export_line(row) for row in rows)
    return csv_download(f"patients-{timezone.localdate():%Y%m%d}.csv", PATIENT_EXPORT_HEADER, lines)


# --- The care home (the resident flag with a move-in date) ---------------------------------------------


def _care_home_saved(patient: Patient, event: CareEvent | None) -> str:
    if patient.care_home is None:
        return "Recorded as not living in a care home."
    if event is not None:
        return (
            f"Recorded as living at {patient.care_home} since {patient.care_home_since:%-d %B %Y}: "
            "the care home admission is on the timeline and starts the 7-working-day care plan clock."
        )
    return f"Care home details saved ({patient.care_home})."


@permission_required(Perm.MANAGE_CASELOAD)
def patient_care_home_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The resident flag with a move-in date: a new move-in records a care home admission, which
    starts the 7-working-day PCSP clock (EHCH)."""
    patient = get_object_or_404(
        Patient.objects.visible_to(request.user).select_related("practice", "care_home"), pk=pk
    )
    initial = {"care_home": patient.care_home_id, "moved_in_on": patient.care_home_since}
    form = CareHomeForm(request.POST if request.method == "POST" else None, patient=patient, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            event = patient_care_home_set(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, _care_home_saved(patient, event))
            return redirect(patient.get_absolute_url())
    audit(request, "patient.care_home_form", [patient])
    return render(
        request,
        "caseload/patient_care_home.html",
        {"form": form, "patient": patient, "has_homes": form.fields["care_home"].queryset.exists()},  # type: ignore[attr-defined]
    )
