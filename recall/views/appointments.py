"""Appointments and attendance: booking one for a patient (the reviews it serves become booked), its
outcome (attended with the review done closes them; a DNA leaves them due), moving it, and My
appointments."""

from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html

from caseload.models import Patient
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required
from recall.forms.appointments import AppointmentForm, MyAppointmentsForm, OutcomeForm, RescheduleForm
from recall.models import Appointment, RecallEntry
from recall.services.appointments import appointment_book, appointment_outcome_record, appointment_reschedule

PAGE_SIZE = 50


def recall_section_url(patient: Patient) -> str:
    """The "Call and recall" section of the patient's page (links; redirects go to the page's top,
    where the message shows)."""
    return f"{patient.get_absolute_url()}#recall"


def _when(appointment: Appointment) -> str:
    return f"{timezone.localtime(appointment.starts_at):%-d %B %Y at %H:%M}"


def _outcome_message(request: HttpRequest, appointment: Appointment) -> None:
    entries = list(appointment.entries.select_related("register"))
    reviews = "; ".join(f"{e.register.review_name}, {e.state_text().lower()}" for e in entries)
    if appointment.outcome == Appointment.Outcome.DNA:
        still = f" Still due: {reviews}. Send the next invitation:" if entries else ""
        messages.warning(
            request,
            format_html(
                'Did not attend recorded for {}.{} see <a href="{}">Call and recall</a>.',
                _when(appointment), still, recall_section_url(appointment.patient),
            ),
        )  # fmt: skip
    elif appointment.review_done and entries:
        names = ", ".join(e.register.review_name for e in entries)
        messages.success(request, f"Attended, review done: {names} recorded as seen, for the coding export.")
    else:
        due = f" Still due: {reviews}." if entries else ""
        messages.success(request, f"{appointment.get_outcome_display()} recorded.{due}")


def _appointment(request: HttpRequest, pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.visible_to(request.user).select_related("patient__practice"), pk=pk
    )


def _still_booked(request: HttpRequest, appointment: Appointment) -> bool:
    """Whether the appointment still waits for its outcome; if not, the user is told the one recorded."""
    if not appointment.is_open:
        messages.info(
            request, f"This appointment's outcome is recorded: {appointment.get_outcome_display()}."
        )
    return appointment.is_open


@permission_required(Perm.MANAGE_CASELOAD)
def appointment_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.visible_to(request.user).select_related("practice"), pk=pk)
    initial = {"entries": request.GET.getlist("entry")}
    form = AppointmentForm(
        request.POST if request.method == "POST" else None, patient=patient, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            appointment = appointment_book(patient=patient, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
            messages.success(request, f"Appointment booked for {_when(appointment)}.")
            return redirect(patient)
    audit(request, "recall.appointment.form", [patient])
    return render(request, "recall/appointment_form.html", {"form": form, "patient": patient})


@permission_required(Perm.MANAGE_CASELOAD)
def appointment_outcome_view(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    if not _still_booked(request, appointment):
        return redirect(appointment.patient)
    form = OutcomeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            appointment = appointment_outcome_record(
                appointment=appointment, by=request.user, **form.cleaned_data
            )  # type: ignore[arg-type]
            _outcome_message(request, appointment)
            return redirect(appointment.patient)
    audit(request, "recall.appointment.view", [appointment.patient_id], appointment_id=appointment.pk)
    context = {"form": form, "appointment": appointment, "patient": appointment.patient}
    return render(request, "recall/appointment_outcome.html", context)


@permission_required(Perm.MANAGE_CASELOAD)
def appointment_reschedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    if not _still_booked(request, appointment):
        return redirect(appointment.patient)
    form = RescheduleForm(request.POST if request.method == "POST" else None, appointment=appointment)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            new = appointment_reschedule(appointment=appointment, by=request.user, **form.service_kwargs())  # type: ignore[arg-type]
            messages.success(request, f"Appointment moved to {_when(new)}.")
            return redirect(appointment.patient)
    audit(request, "recall.appointment.view", [appointment.patient_id], appointment_id=appointment.pk)
    context = {"form": form, "appointment": appointment, "patient": appointment.patient}
    return render(request, "recall/appointment_reschedule.html", context)


@permission_required(Perm.VIEW_PATIENTS)
def my_appointments_view(request: HttpRequest) -> HttpResponse:
    """The appointments I booked: past ones still without an outcome first, then the upcoming ones."""
    user: Any = request.user
    form = MyAppointmentsForm(request.GET or None)
    now = timezone.now()
    appointments = (
        Appointment.objects.visible_to(user)
        .filter(booked_by=user)
        .select_related("patient")
        .prefetch_related(Prefetch("entries", queryset=RecallEntry.objects.select_related("register")))
    )
    if not (form.is_valid() and form.cleaned_data["include_recorded"]):
        appointments = appointments.open()
    page = CappedPaginator(appointments.in_my_order(now=now), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "recall.appointment.list", [a.patient_id for a in rows], page=page.number)
    context = {"form": form, "page": page, "appointments": rows, "now": now}
    return render(
        request, "recall/my_appointments.html", {**context, "query_string": query_without(request, "page")}
    )
