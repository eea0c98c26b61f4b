"""Forms for contacts, tasks and the Patient Activation Measure, and the My tasks filter."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from caseload.codes import CONTACT_INTERVENTIONS
from caseload.models import Contact, Patient
from pcn.forms import DateInput
from pcn.models import Role, User

PATIENT_ROLES = (Role.COORDINATOR, Role.CLINICAL_LEAD, Role.MANAGER)


def team_for(practice_ids: Any) -> QuerySet[User]:
    """Active users who work with patients at these practices (possible task owners)."""
    return (
        User.objects.filter(
            is_active=True, memberships__practice_id__in=practice_ids, memberships__role__in=PATIENT_ROLES
        )
        .distinct()
        .order_by("full_name")
    )


def intervention_choices() -> list[tuple[str, str]]:
    # The label says which interventions reach the coding export (those with a SNOMED CT id).
    return [
        (code.key, f"{code.term} (coded: SNOMED CT {code.snomed_id})" if code.snomed_id else code.term)
        for code in CONTACT_INTERVENTIONS
    ]


class ContactForm(forms.Form):
    contact_on = forms.DateField(
        label="Date of the contact",
        widget=DateInput(),
        error_messages={"required": "Enter the date of the contact", "invalid": "Enter a real date"},
    )
    contact_time = forms.TimeField(
        label="Time",
        help_text="For example, 14:30",
        widget=forms.TimeInput(attrs={"type": "time", "class": "nhsuk-input--width-10"}, format="%H:%M"),
        error_messages={"required": "Enter the time of the contact", "invalid": "Enter a real time"},
    )
    method = forms.ChoiceField(
        label="How",
        choices=Contact.Method.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select how the contact was made"},
    )
    with_whom = forms.ChoiceField(
        label="With whom",
        choices=Contact.WithWhom.choices,
        widget=forms.RadioSelect,
        initial=Contact.WithWhom.PATIENT,
        error_messages={"required": "Select who the contact was with"},
    )
    duration_minutes = forms.IntegerField(
        label="Duration in minutes",
        min_value=1,
        max_value=600,
        widget=forms.NumberInput(attrs={"class": "nhsuk-input--width-4", "inputmode": "numeric"}),
        error_messages={
            "required": "Enter how long the contact took, in minutes",
            "invalid": "Duration must be a whole number of minutes",
            "min_value": "Duration must be at least 1 minute",
            "max_value": "Duration must be 600 minutes (10 hours) or less",
        },
    )
    interventions = forms.MultipleChoiceField(
        label="Interventions",
        required=False,
        choices=intervention_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Those marked “coded” go to the coding export for the GP record. The others have no "
        "SNOMED CT id in the product yet, so they are kept on the contact only.",
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 4}))
    outcome = forms.CharField(label="Outcome", required=False, max_length=300)
    next_contact_due = forms.DateField(
        label="Next contact due",
        required=False,
        widget=DateInput(),
        help_text="Shown on the caseload; leave blank if no further contact is planned.",
        error_messages={"invalid": "Enter a real date"},
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


class TaskForm(forms.Form):
    title = forms.CharField(
        label="Task", max_length=200, error_messages={"required": "Enter what needs doing"}
    )
    owner = forms.ModelChoiceField(
        label="Owner",
        queryset=User.objects.none(),
        empty_label="Choose who will do it",
        error_messages={"required": "Choose who will do it"},
    )
    due_on = forms.DateField(
        label="Due",
        widget=DateInput(),
        error_messages={"required": "Enter the date the task is due", "invalid": "Enter a real date"},
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, patient: Patient, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = team_for([patient.practice_id])
        self.fields["owner"].initial = user.pk


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
    measured_on = forms.DateField(
        label="Date measured",
        widget=DateInput(),
        error_messages={"required": "Enter the date measured", "invalid": "Enter a real date"},
    )

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


class FilterForm(forms.Form):
    hide_optional = True


class MyTasksForm(FilterForm):
    owner = forms.ModelChoiceField(
        label="Whose tasks", queryset=User.objects.none(), required=False, empty_label="Mine"
    )
    include_done = forms.BooleanField(label="Include done tasks", required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.can_choose_owner = user.has_role(Role.CLINICAL_LEAD, Role.MANAGER)
        if self.can_choose_owner:
            self.fields["owner"].queryset = team_for(user.practice_ids())
        else:
            del self.fields["owner"]
