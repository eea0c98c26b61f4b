"""The services directory, signposting, support given and the coding export (issue "Caseload II")."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from caseload.models import CodingEntry, Patient, Service, Signposting
from caseload.services import (
    coding_entries_mark_entered,
    signposting_outcome_record,
    signposting_record,
    support_record,
)
from caseload.support_forms import (
    CodingExportForm,
    ServiceForm,
    ServiceSearchForm,
    SignpostingForm,
    SignpostingOutcomeForm,
    SupportForm,
)
from pcn.audit import audit
from pcn.exports import csv_download
from pcn.nhs_number import format_nhs_number
from pcn.pagination import CappedPaginator
from pcn.permissions import Perm, has_perm, permission_required

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
NO_SNOMED_ID = "No SNOMED CT id is known for this activity yet; enter the term."


def _query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


def _patient_for(request: HttpRequest, pk: int) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("practice"), pk=pk)


# --- The services directory ----------------------------------------------------------------------


def service_list(request: HttpRequest) -> HttpResponse:
    """The directory: everyone who sees patients (to signpost them), and administrators (to keep it)."""
    can_administer = has_perm(request.user, Perm.ADMINISTER)
    if not (can_administer or has_perm(request.user, Perm.VIEW_PATIENTS)):
        raise PermissionDenied
    form = ServiceSearchForm(request.GET, can_administer=can_administer)
    services = form.filter(Service.objects.order_by("name", "id"))
    page = CappedPaginator(services, PAGE_SIZE).get_page(request.GET.get("page"))
    # Coming from a patient's signposting form, each service links back to it, chosen.
    patient = None
    if (patient_id := request.GET.get("patient", "")).isdigit() and has_perm(
        request.user, Perm.MANAGE_CASELOAD
    ):
        patient = Patient.objects.visible_to(request.user).filter(pk=patient_id).first()
    return render(
        request,
        "caseload/service_list.html",
        {
            "form": form,
            "page": page,
            "services": list(page.object_list),
            "patient": patient,
            "can_administer": can_administer,
            "query_string": _query_without(request, "page"),
        },
    )


@permission_required(Perm.ADMINISTER)
def service_add(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        service = form.save()
        audit(request, "service.add", service_id=service.pk)
        messages.success(request, f"{service.name} added to the directory.")
        return redirect("caseload:service_list")
    return render(request, "caseload/service_form.html", {"form": form, "service": None})


@permission_required(Perm.ADMINISTER)
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    form = ServiceForm(request.POST if request.method == "POST" else None, instance=service)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit(request, "service.edit", service_id=service.pk, changed=form.changed_data)
        messages.success(request, f"{service.name} updated.")
        return redirect("caseload:service_list")
    return render(request, "caseload/service_form.html", {"form": form, "service": service})


# --- Signposting and support given ---------------------------------------------------------------


@permission_required(Perm.MANAGE_CASELOAD)
def signposting_add(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_for(request, pk)
    initial = {"signposted_on": timezone.localdate()}
    if (service_id := request.GET.get("service", "")).isdigit():
        initial["service"] = int(service_id)
    form = SignpostingForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            signposting = signposting_record(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error("service", error)
        else:
            messages.success(request, f"Signposted to {signposting.service.name}.")
            return redirect("caseload:signposting_add", pk=patient.pk)
    history = list(patient.signpostings.select_related("service", "signposted_by"))
    audit(request, "signposting.list", [patient])
    return render(
        request, "caseload/signposting_add.html", {"form": form, "patient": patient, "signpostings": history}
    )


@permission_required(Perm.MANAGE_CASELOAD)
def signposting_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    signposting = get_object_or_404(
        Signposting.objects.filter(patient__in=Patient.objects.visible_to(request.user)).select_related(
            "patient", "service"
        ),
        pk=pk,
    )
    initial = {"outcome": signposting.outcome, "outcome_on": signposting.outcome_on or timezone.localdate()}
    form = SignpostingOutcomeForm(
        request.POST if request.method == "POST" else None, initial=initial, signposting=signposting
    )
    if request.method == "POST" and form.is_valid():
        signposting_outcome_record(signposting=signposting, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"Outcome recorded: {signposting.get_outcome_display()}.")
        return redirect("caseload:signposting_add", pk=signposting.patient_id)
    audit(request, "signposting.view", [signposting.patient_id], signposting_id=signposting.pk)
    return render(request, "caseload/signposting_outcome.html", {"form": form, "signposting": signposting})


@permission_required(Perm.MANAGE_CASELOAD)
def support_add(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_for(request, pk)
    form = SupportForm(
        request.POST if request.method == "POST" else None, initial={"given_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        support = support_record(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"Recorded: {support.get_kind_display()}.")
        return redirect("caseload:support_add", pk=patient.pk)
    history = list(patient.support_given.select_related("given_by"))
    audit(request, "support.list", [patient])
    return render(
        request, "caseload/support_add.html", {"form": form, "patient": patient, "supports": history}
    )


# --- The coding export ---------------------------------------------------------------------------


def _coding_rows(request: HttpRequest, form: CodingExportForm) -> QuerySet[CodingEntry]:
    data = form.cleaned_data
    return CodingEntry.objects.visible_to(request.user).for_export(  # type: ignore[attr-defined]
        practice_id=data["practice"].pk, start=data["start"], end=data["end"], entered=form.entered_filter
    )


@permission_required(Perm.MANAGE_CASELOAD)
def coding_export(request: HttpRequest) -> HttpResponse:
    """What the GP record should learn, per practice and date range, to be entered there by hand;
    rows are ticked off as entered (POST), and the same rows download as CSV."""
    if request.method == "POST":
        ids = [i for i in request.POST.getlist("entry") if i.isdigit()][: PAGE_SIZE * 4]
        back = reverse("caseload:coding_export") + "?" + request.POST.get("query", "")
        if not ids:
            messages.error(request, "Select the rows you have entered in the GP record.")
            return redirect(back)
        entries = list(CodingEntry.objects.visible_to(request.user).filter(pk__in=ids))
        marked = coding_entries_mark_entered(entries=entries, by=request.user)  # type: ignore[arg-type]
        already = len(entries) - marked
        text = f"{marked} row{'s' if marked != 1 else ''} marked as entered in the GP record."
        if already:
            text += f" {already} {'was' if already == 1 else 'were'} already marked."
        messages.success(request, text)
        return redirect(back)

    form = CodingExportForm(request.GET, user=request.user)  # type: ignore[arg-type]
    page, rows = None, []
    if form.is_valid():
        page = CappedPaginator(_coding_rows(request, form), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        audit(
            request, "coding.list", [row.patient_id for row in rows], page=page.number,
            filters=_query_without(request, "page"),
        )  # fmt: skip
    query = _query_for(form)
    return render(
        request,
        "caseload/coding_export.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "no_snomed_id": NO_SNOMED_ID,
            "any_without_id": any(not row.snomed_id for row in rows),
            "query_string": query,
        },
    )


def _query_for(form: CodingExportForm) -> str:
    """The form's filters as a query string (with its defaults filled in), for pagination and CSV."""
    query = QueryDict(mutable=True)
    for name in ("practice", "start", "end", "entered"):
        value = form.data.get(name)
        if value not in (None, ""):
            query[name] = str(value)
    return query.urlencode()


@permission_required(Perm.MANAGE_CASELOAD)
def coding_export_csv(request: HttpRequest) -> HttpResponse:
    """The rows the page shows (every page), as CSV; audited with every patient."""
    form = CodingExportForm(request.GET, user=request.user)  # type: ignore[arg-type]
    if not form.is_valid():
        messages.error(request, "Correct the filters before downloading.")
        return redirect(reverse("caseload:coding_export") + "?" + request.GET.urlencode())
    rows = list(
        _coding_rows(request, form).values_list(
            "patient_id", "patient__nhs_number", "coded_on", "snomed_id", "term", "recorded_by__full_name",
            "recorded_by__email",
        )[:EXPORT_LIMIT]
    )  # fmt: skip
    data = form.cleaned_data
    audit(
        request, "coding.export", [row[0] for row in rows], rows=len(rows), practice=data["practice"].ods_code,
        start=data["start"].isoformat(), end=data["end"].isoformat(), entered=data.get("entered") or "no",
    )  # fmt: skip

    lines = (
        [format_nhs_number(nhs), coded_on.strftime("%d/%m/%Y"), snomed_id, term, name or email]
        for _, nhs, coded_on, snomed_id, term, name, email in rows
    )
    filename = f"coding-{data['practice'].ods_code}-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.csv"
    return csv_download(filename, ["NHS number", "Date", "SNOMED CT id", "Term", "Recorded by"], lines)
