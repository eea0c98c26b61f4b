"""The form for someone around the person: a carer, relative, friend or professional."""

from datetime import date
from typing import Any

from django import forms

from caseload.forms.signposting import not_in_future
from caseload.models import PersonAround
from pcn.forms import date_field, notes_field, radio_field


class PersonAroundForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200, error_messages={"required": "Enter their name"})
    relationship = radio_field(
        "Relationship to the person",
        PersonAround.Relationship.choices,
        if_blank="Select their relationship to the person",
    )
    relationship_detail = forms.CharField(
        label="About the relationship",
        max_length=200,
        required=False,
        help_text="For example: daughter-in-law, next-door neighbour, district nurse",
    )
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    email = forms.EmailField(
        label="Email",
        required=False,
        error_messages={"invalid": "Enter an email address like name@example.com"},
    )
    is_main_carer = forms.BooleanField(
        label="They are the main carer",
        required=False,
        help_text="One person can be the main carer: the one the team contacts first.",
    )
    may_receive_information = forms.BooleanField(
        label="The person agrees that they may receive information about their care", required=False
    )
    consent_recorded_on = date_field(
        "Date the person agreed", help_text="Needed when they may receive information."
    )
    notes = notes_field(max_length=5000)

    def clean_consent_recorded_on(self) -> date | None:
        value = self.cleaned_data["consent_recorded_on"]
        not_in_future(value, "The date the person agreed")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("may_receive_information"):
            data["consent_recorded_on"] = None  # no consent, no consent date
        elif not data.get("consent_recorded_on") and "consent_recorded_on" not in self.errors:
            self.add_error(
                "consent_recorded_on", "Enter the date the person agreed they may receive information"
            )
        return data

    @classmethod
    def initial_from(cls, person: PersonAround) -> dict[str, Any]:
        return {name: getattr(person, name) for name in cls.base_fields}
