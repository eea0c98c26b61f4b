"""Forms of appointments: booking one for a patient, its outcome, moving it, and the My appointments
filter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from caseload.filters import FilterForm
from caseload.models import Patient
from pcn.forms import DateInput
from recall.models import Appointment, RecallEntry, qof_year


def entry_label(entry: RecallEntry) -> str:
    return f"{entry.register.review_name}: {entry.state_text()}, due {entry.due_month:%B %Y}"


class EntryChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return entry_label(obj)


def open_entries_this_year(patient: Patient) -> QuerySet[RecallEntry]:
    year = qof_year(timezone.localdate())
    return (
        patient.recall_entries.for_year(year)
        .open()
        .select_related("register")
        .order_by(  # type: ignore[attr-defined]
            "register__display_order", "register__name"
        )
    )


class WhenFields(forms.Form):
    """A date and a time, together `starts_at` (aware, in the local time zone)."""

    starts_on = forms.DateField(
        label="Date",
        widget=DateInput(),
        error_messages={"required": "Enter the date of the appointment", "invalid": "Enter a real date"},
    )
    starts_time = forms.TimeField(
        label="Time",
        help_text="For example, 14:30",
        widget=forms.TimeInput(attrs={"type": "time", "class": "nhsuk-input--width-10"}, format="%H:%M"),
        error_messages={"required": "Enter the time of the appointment", "invalid": "Enter a real time"},
    )
    with_whom = forms.CharField(
        label="With", required=False, max_length=200, help_text="The clinician's name, if known."
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[("", "Choose a role"), *Appointment.Role.choices],
        error_messages={"required": "Choose who the appointment is with"},
    )
    location = forms.CharField(
        label="Where", required=False, max_length=200, help_text="For example, the practice or a home visit."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_on") and data.get("starts_time"):
            data["starts_at"] = timezone.make_aware(datetime.combine(data["starts_on"], data["starts_time"]))
        return data


class AppointmentForm(WhenFields):
    entries = EntryChoiceField(
        label="Reviews it is for",
        queryset=RecallEntry.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The reviews due this QOF year. Each one ticked becomes booked.",
    )
    reason = forms.CharField(
        label="Reason", required=False, max_length=300, help_text="Needed when no review is ticked."
    )

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entries"].queryset = open_entries_this_year(patient)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("entries") and not data.get("reason", "").strip():
            self.add_error("reason", "Tick a review it is for, or enter a reason")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        keys = ("starts_at", "with_whom", "role", "location", "reason", "entries")
        return {key: self.cleaned_data[key] for key in keys}


class RescheduleForm(WhenFields):
    def __init__(self, *args: Any, appointment: Appointment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in ("with_whom", "role", "location"):
            self.fields[key].initial = getattr(appointment, key)

    def service_kwargs(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in ("starts_at", "with_whom", "role", "location")}


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What happened",
        widget=forms.RadioSelect,
        choices=[
            (Appointment.Outcome.ATTENDED, "Attended"),
            (Appointment.Outcome.DNA, "Did not attend"),
            (Appointment.Outcome.CANCELLED, "Cancelled"),
        ],
        error_messages={"required": "Choose what happened"},
    )
    review_done = forms.BooleanField(
        label="Review done",
        required=False,
        help_text="Tick when the reviews it was for were done: they are recorded as seen, with a row on "
        "the coding export for the GP record.",
    )
    notes = forms.CharField(label="Notes", required=False, max_length=300)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("review_done") and data.get("outcome") != Appointment.Outcome.ATTENDED:
            self.add_error("review_done", "A review can be done only at an appointment the patient attended")
        return data


class MyAppointmentsForm(FilterForm):
    include_recorded = forms.BooleanField(label="Include those with an outcome recorded", required=False)
