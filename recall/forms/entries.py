"""The Personalised Care Adjustment form of a recall entry."""

from typing import Any

from django import forms
from django.utils import timezone

from pcn.forms import DateInput
from recall.models import RecallEntry


class PcaForm(forms.Form):
    reason = forms.ChoiceField(
        label="Reason",
        widget=forms.RadioSelect,
        choices=RecallEntry.PcaReason.choices,
        error_messages={"required": "Choose the reason for the adjustment"},
    )
    on = forms.DateField(
        label="Date",
        widget=DateInput(),
        help_text="The day it was agreed or recorded.",
        error_messages={"required": "Enter the date", "invalid": "Enter a real date"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()

    def clean_on(self) -> Any:
        on = self.cleaned_data["on"]
        if on > timezone.localdate():
            raise forms.ValidationError("The date cannot be in the future")
        return on
