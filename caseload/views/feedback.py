"""Feedback and stories, from the patient page: record one, change one (mark it good news, say it may
be shared). The patient's outcomes page (overview) lists them over time."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from caseload.forms.feedback import FeedbackForm
from caseload.models import Feedback, Patient
from caseload.services.feedback import feedback_record, feedback_update
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.permissions import Perm, permission_required


def _outcomes(patient: Patient) -> str:
    return reverse("overview:patient_outcomes", args=[patient.pk]) + "#feedback"


def _saved_message(feedback: Feedback) -> str:
    if feedback.mdt_series_id:
        return f"Feedback saved. The good news is offered to the next {feedback.mdt_series} agenda."
    return "Feedback saved."


@permission_required(Perm.MANAGE_CASELOAD)
def feedback_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = FeedbackForm(request.POST if request.method == "POST" else None, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            feedback = feedback_record(patient=patient, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _saved_message(feedback))
            return redirect(_outcomes(patient))
    audit(request, "feedback.form", [patient])
    return render(request, "caseload/feedback_form.html", {"form": form, "patient": patient})


@permission_required(Perm.MANAGE_CASELOAD)
def feedback_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = get_object_or_404(
        Feedback.objects.visible_to(request.user).select_related("patient__practice", "mdt_series"), pk=pk
    )
    patient = feedback.patient
    data = request.POST if request.method == "POST" else None
    form = FeedbackForm(data, patient=patient, initial=FeedbackForm.initial_from(feedback))
    if request.method == "POST" and form.is_valid():
        try:
            feedback_update(feedback=feedback, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _saved_message(feedback))
            return redirect(_outcomes(patient))
    audit(request, "feedback.view", [patient], feedback_id=feedback.pk)
    context = {"form": form, "patient": patient, "feedback": feedback}
    return render(request, "caseload/feedback_form.html", context)
