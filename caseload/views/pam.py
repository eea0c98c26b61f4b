"""The Patient Activation Measure: recording a score (the chart and the change are on the patient page)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from caseload.forms.pam import ActivationForm
from caseload.services.pam import activation_record
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.permissions import Perm, permission_required


@permission_required(Perm.MANAGE_CASELOAD)
def pam_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = ActivationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        measure = activation_record(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"PAM score {measure.score} recorded: level {measure.level}.")
        return redirect(patient)
    audit(request, "pam.form", [patient])
    return render(request, "caseload/pam_form.html", {"form": form, "patient": patient})
