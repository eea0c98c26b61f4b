"""Screening non-responders: the list's filters, and the form of a call's outcome."""

from typing import Any

import django_filters
from django import forms

from caseload.filters import FilterForm, PatientPracticeChoices, patient_practice_filter
from pcn.forms import minutes_field, notes_field
from recall.models import RecallEntry, Register, ScreeningCallOutcome


class ScreeningFilter(PatientPracticeChoices, django_filters.FilterSet):
    practice = patient_practice_filter()
    register = django_filters.ModelChoiceFilter(
        queryset=Register.objects.filter(kind=Register.Kind.SCREENING), label="Programme", empty_label="All"
    )

    class Meta:
        model = RecallEntry
        fields: list[str] = []
        form = FilterForm


class ScreeningCallForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What happened",
        widget=forms.RadioSelect,
        choices=ScreeningCallOutcome.choices,
        error_messages={"required": "Choose what happened on the call"},
    )
    duration_minutes = minutes_field("the call", most=120, initial=5)
    notes = notes_field()

    def service_kwargs(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in ("outcome", "duration_minutes", "notes")}
