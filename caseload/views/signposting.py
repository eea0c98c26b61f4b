"""Signposting a patient to a directory service (and its outcome later), and support given."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from caseload.forms.signposting import SignpostingForm, SignpostingOutcomeForm, SupportForm
from caseload.models import Patient, Signposting
from caseload.services.signposting import signposting_outcome_record, signposting_record, support_record
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.permissions import Perm, permission_required


@permission_required(Perm.MANAGE_CASELOAD)
def signposting_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    initial = {"signposted_on": timezone.localdate()}
    if (service_id := request.GET.get("service", "")).isdigit():
        initial["service"] = int(service_id)
    form = SignpostingForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form, "service"):
            signposting = signposting_record(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, f"Signposted to {signposting.service.name}.")
            return redirect("caseload:signposting_add", pk=patient.pk)
    history = list(patient.signpostings.select_related("service", "signposted_by"))
    audit(request, "signposting.list", [patient])
    return render(
        request, "caseload/signposting_add.html", {"form": form, "patient": patient, "signpostings": history}
    )


@permission_required(Perm.MANAGE_CASELOAD)
def signposting_outcome_view(request: HttpRequest, pk: int) -> HttpResponse:
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
def support_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
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
