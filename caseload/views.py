"""The cohort ("Find patients") and caseload episodes (taking patients on, transferring, closing)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from caseload.filters import PatientFilter
from caseload.forms import EpisodeCloseForm, EpisodeOpenForm, EpisodeTransferForm
from caseload.models import CaseloadEpisode, Patient, ltc_labels
from caseload.services import episode_close, episode_transfer, episodes_open
from pcn.audit import audit
from pcn.exports import csv_download
from pcn.nhs_number import format_nhs_number
from pcn.pagination import CappedPaginator
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


def _query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


def _cohort(request: HttpRequest) -> tuple[PatientFilter, QuerySet[Patient]]:
    open_coordinator = CaseloadEpisode.objects.open().filter(patient=OuterRef("pk"))
    base = (
        Patient.objects.visible_to(request.user)
        .select_related("practice")
        .annotate(
            coordinator_name=Subquery(open_coordinator.values("coordinator__full_name")[:1]),
        )
    )
    patient_filter = PatientFilter(request.GET or None, queryset=base, user=request.user)  # type: ignore[arg-type]
    return patient_filter, patient_filter.qs


@permission_required(Perm.VIEW_PATIENTS)
def patient_list(request: HttpRequest) -> HttpResponse:
    """Find patients: the PCN population, filtered, sorted and paged; select people for a caseload."""
    patient_filter, patients = _cohort(request)
    page = CappedPaginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "patient.list", rows, page=page.number, filters=_query_without(request, "page"))
    return render(
        request,
        "caseload/patient_list.html",
        {
            "filter": patient_filter,
            "page": page,
            "patients": rows,
            "today": timezone.localdate(),
            "query_string": _query_without(request, "page"),
            "sort_query": _query_without(request, "page", "sort"),
            "current_sort": request.GET.get("sort") or "name",
            "frequent_attender_threshold": patient_filter.filters["frequent_attender"].extra["help_text"],
        },
    )


@permission_required(Perm.VIEW_PATIENTS)
def patient_export(request: HttpRequest) -> HttpResponse:
    """CSV of what the list shows (every page, up to 100,000 rows); audited with every patient."""
    _, patients = _cohort(request)
    rows = list(
        patients.values_list(
            "pk", "nhs_number", "family_name", "given_name", "date_of_birth", "sex", "practice__ods_code",
            "risk_score", "efi_score", "efi_category", "ae_attendances_12m", "emergency_admissions_12m",
            "ltc_flags", "care_home__name", "coordinator_name",
        )[:EXPORT_LIMIT]
    )  # fmt: skip
    audit(
        request, "patient.export", [row[0] for row in rows], rows=len(rows), filters=request.GET.urlencode()
    )
    header = [
        "NHS number", "Family name", "Given name", "Date of birth", "Sex", "Practice", "Risk score", "eFI",
        "eFI category", "A&E attendances (12 months)", "Emergency admissions (12 months)",
        "Long-term conditions", "Care home", "Care coordinator",
    ]  # fmt: skip
    lines = (
        [format_nhs_number(nhs), family, given, dob.strftime("%d/%m/%Y"), sex, practice, risk, efi, efi_cat, ae,
         ea, "; ".join(ltc_labels(ltc)), home, coordinator]
        for (_, nhs, family, given, dob, sex, practice, risk, efi, efi_cat, ae, ea, ltc, home, coordinator) in rows
    )  # fmt: skip
    return csv_download(f"patients-{timezone.localdate():%Y%m%d}.csv", header, lines)


# --- Caseload episodes -------------------------------------------------------------------------------


@permission_required(Perm.MANAGE_CASELOAD)
def episode_add(request: HttpRequest) -> HttpResponse:
    """Take one or more patients (ticked in Find patients, or from a patient's page) onto a caseload."""
    ids = request.POST.getlist("patient") if request.method == "POST" else request.GET.getlist("patient")
    patients = list(
        Patient.objects.visible_to(request.user)
        .select_related("practice")
        .filter(pk__in=[i for i in ids if i.isdigit()][:500])
    )
    if not patients:
        messages.error(request, "Select at least one patient to add to a caseload.")
        return redirect(request.POST.get("back") or reverse("caseload:patient_list"))
    confirming = request.method == "POST" and "reason" in request.POST
    form = EpisodeOpenForm(request.POST if confirming else None, patients=patients, user=request.user)  # type: ignore[arg-type]
    if confirming and form.is_valid():
        try:
            opened, skipped = episodes_open(patients=patients, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error("coordinator", error)
        else:
            coordinator = form.cleaned_data["coordinator"]
            messages.success(
                request,
                f"{len(opened)} patient{'s' if len(opened) != 1 else ''} added to {coordinator}'s caseload.",
            )
            if skipped:
                names = ", ".join(p.display_name for p in skipped[:5])
                messages.warning(
                    request, f"{len(skipped)} already on a caseload and left as they were: {names}."
                )
            if len(patients) == 1:
                return redirect(patients[0])
            return redirect(f"{reverse('overview:my_caseload')}?coordinator={coordinator.pk}")
    audit(request, "caseload.open_form", patients)
    return render(request, "caseload/episode_add.html", {"form": form, "patients": patients})


def _episode_for(request: HttpRequest, pk: int) -> CaseloadEpisode:
    return get_object_or_404(
        CaseloadEpisode.objects.visible_to(request.user).select_related("patient__practice", "coordinator"),
        pk=pk,
    )


@permission_required(Perm.MANAGE_CASELOAD)
def episode_transfer_view(request: HttpRequest, pk: int) -> HttpResponse:
    episode = _episode_for(request, pk)
    form = EpisodeTransferForm(request.POST if request.method == "POST" else None, episode=episode)
    if request.method == "POST" and form.is_valid():
        try:
            episode_transfer(episode=episode, to=form.cleaned_data["coordinator"], by=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error("coordinator", error)
        else:
            messages.success(
                request, f"{episode.patient.display_name} is now on {episode.coordinator}'s caseload."
            )
            return redirect(episode.patient)
    return render(request, "caseload/episode_transfer.html", {"form": form, "episode": episode})


@permission_required(Perm.MANAGE_CASELOAD)
def episode_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    episode = _episode_for(request, pk)
    if not episode.is_open:
        messages.error(request, "This episode is already closed.")
        return redirect(episode.patient)
    form = EpisodeCloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        episode_close(episode=episode, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"{episode.patient.display_name} is off {episode.coordinator}'s caseload.")
        return redirect(episode.patient)
    return render(request, "caseload/episode_close.html", {"form": form, "episode": episode})
