"""Forms about a patient's own record: where they live (the care home move-in)."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from caseload.models import CareHome, Patient
from pcn.forms import date_field

if TYPE_CHECKING:
    pass


class CareHomeForm(forms.Form):
    """The resident flag with a move-in date (a care home aligned to the patient's practice)."""

    hide_optional = True  # the date is needed with a home: "(optional)" would mislead

    care_home = forms.ModelChoiceField(
        label="Care home",
        queryset=CareHome.objects.none(),
        required=False,
        empty_label="Not a care home resident",
    )
    moved_in_on = date_field(
        "Date they moved in",
        help_text="A new resident gets a personalised care and support plan within 7 working days of this date.",
    )

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["care_home"].queryset = CareHome.objects.filter(  # type: ignore[attr-defined]
            practice_id=patient.practice_id
        ).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        moved_in_on = data.get("moved_in_on")
        if data.get("care_home") is not None and moved_in_on is None and "moved_in_on" not in self.errors:
            self.add_error("moved_in_on", "Enter the date they moved in")
        if moved_in_on is not None and moved_in_on > timezone.localdate():
            self.add_error("moved_in_on", "The date they moved in must be today or in the past")
        return data
