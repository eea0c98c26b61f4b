"""The form of a Patient Activation Measure score."""

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from pcn.forms import date_field


class ActivationForm(forms.Form):
    score = forms.DecimalField(
        label="PAM score",
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        max_digits=4,
        decimal_places=1,
        help_text="From 0 to 100, to one decimal place, as the licensed PAM tool gives it. The level "
        "(1 to 4) is worked out from the score. Do not enter the questions or answers here.",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-4", "inputmode": "decimal"}),
        error_messages={
            "required": "Enter the PAM score",
            "invalid": "The PAM score must be a number, like 55.2",
            "min_value": "The PAM score must be 0 or more",
            "max_value": "The PAM score must be 100 or less",
            "max_decimal_places": "Give the PAM score to one decimal place at most",
            "max_digits": "The PAM score must be from 0 to 100",
            "max_whole_digits": "The PAM score must be 100 or less",
        },
    )
    measured_on = date_field("Date measured", if_blank="Enter the date measured")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("measured_on", timezone.localdate())
        months = settings.PAM_REMEASURE_MONTHS
        self.fields["measured_on"].help_text = (
            f"A task to measure again is set for {months} months later. That interval is a local setting: "
            "no NHS England interval for re-measuring has been found."
        )

    def clean_measured_on(self) -> Any:
        value = self.cleaned_data["measured_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date measured cannot be in the future")
        return value
