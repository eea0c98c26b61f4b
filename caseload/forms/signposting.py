"""Forms for signposting a patient to a service, its outcome, and support given."""

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from caseload.models import Service, Signposting, SupportGiven
from pcn.forms import date_field, model_choice_field, notes_field, radio_field


def not_in_future(value: date | None, what: str) -> None:
    if value and value > timezone.localdate():
        raise forms.ValidationError(f"{what} must be today or in the past")


class SignpostingForm(forms.Form):
    service = model_choice_field(
        "Service",
        Service.objects.none(),
        empty_label="Choose a service",
        if_blank="Choose the service the patient was signposted to",
    )
    signposted_on = date_field("Date signposted", if_blank="Enter the date they were signposted")
    notes = notes_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only services offered now can be chosen; old records keep the ones since withdrawn.
        self.fields["service"].queryset = Service.objects.filter(is_active=True).order_by("name")
        self.fields["service"].label_from_instance = lambda s: f"{s.name} ({s.get_category_display()})"

    def clean_signposted_on(self) -> date:
        value = self.cleaned_data["signposted_on"]
        not_in_future(value, "The date signposted")
        return value


class SignpostingOutcomeForm(forms.Form):
    outcome = radio_field(
        "Outcome",
        [c for c in Signposting.Outcome.choices if c[0] != Signposting.Outcome.PENDING],
        if_blank="Select the outcome",
    )
    outcome_on = date_field("Date of the outcome", if_blank="Enter the date of the outcome")

    def __init__(self, *args: Any, signposting: Signposting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signposting = signposting

    def clean_outcome_on(self) -> date:
        value = self.cleaned_data["outcome_on"]
        not_in_future(value, "The date of the outcome")
        if value < self.signposting.signposted_on:
            raise forms.ValidationError(
                f"The date of the outcome must be on or after the date signposted "
                f"({self.signposting.signposted_on:%d/%m/%Y})"
            )
        return value


class SupportForm(forms.Form):
    kind = radio_field("Support given", SupportGiven.Kind.choices, if_blank="Select the support given")
    given_on = date_field("Date", if_blank="Enter the date the support was given")
    notes = notes_field()

    def clean_given_on(self) -> date:
        value = self.cleaned_data["given_on"]
        not_in_future(value, "The date")
        return value
