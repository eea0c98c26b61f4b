"""Contacts with (or about) a patient: recording one, and its page."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from caseload.codes import INTERVENTIONS_BY_KEY
from caseload.forms.contacts import ContactForm
from caseload.models import Contact, Patient
from caseload.services.contacts import contact_record
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.permissions import Perm, permission_required


@permission_required(Perm.MANAGE_CASELOAD)
def contact_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = ContactForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        contact_record(patient=patient, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
        messages.success(request, "Contact recorded.")
        return redirect(patient)
    audit(request, "contact.form", [patient])
    return render(request, "caseload/contact_form.html", {"form": form, "patient": patient})


@permission_required(Perm.VIEW_PATIENTS)
def contact_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(
        Contact.objects.filter(patient__in=Patient.objects.visible_to(request.user)).select_related(
            "patient__practice", "recorded_by", "care_event"
        ),
        pk=pk,
    )
    audit(request, "contact.view", [contact.patient_id], contact_id=contact.pk)
    interventions = [INTERVENTIONS_BY_KEY[k] for k in contact.interventions if k in INTERVENTIONS_BY_KEY]
    return render(
        request,
        "caseload/contact_detail.html",
        {"contact": contact, "patient": contact.patient, "interventions": interventions},
    )
