"""Screening non-responders: the list's filters, and the form of a call's outcome."""

from typing import Any

import django_filters
from django import forms

from caseload.filters import FilterForm, PatientPracticeChoices, patient_practice_filter
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
    duration_minutes = forms.IntegerField(
        label="Duration in minutes",
        min_value=1,
        max_value=120,
        initial=5,
        widget=forms.NumberInput(attrs={"class": "nhsuk-input--width-4", "inputmode": "numeric"}),
        error_messages={
            "required": "Enter how long the call took, in minutes",
            "invalid": "Duration must be a whole number of minutes",
            "min_value": "Duration must be at least 1 minute",
            "max_value": "Duration must be 120 minutes or less",
        },
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def service_kwargs(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in ("outcome", "duration_minutes", "notes")}
