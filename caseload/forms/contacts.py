"""The form of a contact with (or about) a patient."""

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from caseload.codes import CONTACT_INTERVENTIONS
from caseload.models import Contact
from pcn.forms import date_field, minutes_field, notes_field, radio_field


def intervention_choices() -> list[tuple[str, str]]:
    # The label says which interventions reach the coding export (those with a SNOMED CT id).
    return [
        (code.key, f"{code.term} (coded: SNOMED CT {code.snomed_id})" if code.snomed_id else code.term)
        for code in CONTACT_INTERVENTIONS
    ]


class ContactForm(forms.Form):
    contact_on = date_field("Date of the contact", if_blank="Enter the date of the contact")
    contact_time = forms.TimeField(
        label="Time",
        help_text="For example, 14:30",
        widget=forms.TimeInput(attrs={"type": "time", "class": "nhsuk-input--width-10"}, format="%H:%M"),
        error_messages={"required": "Enter the time of the contact", "invalid": "Enter a real time"},
    )
    method = radio_field("How", Contact.Method.choices, if_blank="Select how the contact was made")
    with_whom = radio_field(
        "With whom",
        Contact.WithWhom.choices,
        initial=Contact.WithWhom.PATIENT,
        if_blank="Select who the contact was with",
    )
    duration_minutes = minutes_field("the contact", most=600, most_said="600 minutes (10 hours)")
    interventions = forms.MultipleChoiceField(
        label="Interventions",
        required=False,
        choices=intervention_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Those marked “coded” go to the coding export for the GP record. The others have no "
        "SNOMED CT id in the product yet, so they are kept on the contact only.",
    )
    notes = notes_field(rows=4)
    outcome = forms.CharField(label="Outcome", required=False, max_length=300)
    next_contact_due = date_field(
        "Next contact due", help_text="Shown on the caseload; leave blank if no further contact is planned."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            now = timezone.localtime()
            self.initial.setdefault("contact_on", now.date())
            self.initial.setdefault("contact_time", now.strftime("%H:%M"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day, time = data.get("contact_on"), data.get("contact_time")
        if day and time:
            contact_at = timezone.make_aware(datetime.combine(day, time))
            if contact_at > timezone.now():
                self.add_error("contact_on", "The date and time of the contact cannot be in the future")
            else:
                data["contact_at"] = contact_at
        due = data.get("next_contact_due")
        if due and day and due < day:
            self.add_error("next_contact_due", "Next contact due must be on or after the date of the contact")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            key: data[key]
            for key in (
                "contact_at", "method", "with_whom", "duration_minutes", "interventions", "notes",
                "outcome", "next_contact_due",
            )
        }  # fmt: skip
