"""The people around the person, from the patient page: add, change, remove (after asking)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from caseload.forms.people_around import PersonAroundForm
from caseload.models import Patient, PersonAround
from caseload.services.people_around import person_around_add, person_around_remove, person_around_update
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.permissions import Perm, permission_required


def _person_for(request: HttpRequest, pk: int) -> PersonAround:
    return get_object_or_404(
        PersonAround.objects.visible_to(request.user).select_related("patient__practice"), pk=pk
    )


def _section(patient: Patient) -> str:
    return patient.get_absolute_url() + "#people-around"


@permission_required(Perm.MANAGE_CASELOAD)
def person_around_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    form = PersonAroundForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            person = person_around_add(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, f"{person.name} added to the people around {patient.display_name}.")
            return redirect(_section(patient))
    audit(request, "person_around.form", [patient])
    return render(request, "caseload/person_around_form.html", {"form": form, "patient": patient})


@permission_required(Perm.MANAGE_CASELOAD)
def person_around_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person_for(request, pk)
    data = request.POST if request.method == "POST" else None
    form = PersonAroundForm(data, initial=PersonAroundForm.initial_from(person))
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            person_around_update(person=person, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, f"{person.name}'s details saved.")
            return redirect(_section(person.patient))
    audit(request, "person_around.view", [person.patient_id], person_id=person.pk)
    context = {"form": form, "patient": person.patient, "person": person}
    return render(request, "caseload/person_around_form.html", context)


@permission_required(Perm.MANAGE_CASELOAD)
def person_around_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first; POST removes."""
    person = _person_for(request, pk)
    patient = person.patient
    if request.method == "POST":
        person_around_remove(person=person, by=request.user)  # type: ignore[arg-type]
        messages.success(request, f"{person.name} removed from the people around {patient.display_name}.")
        return redirect(_section(patient))
    audit(request, "person_around.remove_form", [patient], person_id=person.pk)
    return render(request, "caseload/person_around_remove.html", {"person": person, "patient": patient})
