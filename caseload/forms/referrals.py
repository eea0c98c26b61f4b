"""Forms for referrals: recording one, and the three decisions."""

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from caseload.forms.episodes import coordinator_field, coordinators_for
from caseload.models import CareEvent, Patient, Referral, ReferralType
from pcn.forms import date_field, radio_field
from pcn.models import Role, User


class ReferralTypeForm(forms.Form):
    """Step 1: which kind of referral (its criteria checklist follows)."""

    referral_type = forms.ModelChoiceField(
        label="What is the referral for?",
        queryset=ReferralType.objects.filter(is_active=True),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": "Select what the referral is for"},
    )


class ReferralForm(forms.Form):
    source = radio_field("Who referred", Referral.Source.choices, if_blank="Select who referred")
    referrer_name = forms.CharField(
        label="Referrer's name",
        max_length=200,
        help_text="For example: Dr A Khan, or the care home's manager",
        error_messages={"required": "Enter the referrer's name"},
    )
    referrer_email = forms.EmailField(
        label="Referrer's email address",
        required=False,
        help_text="To tell them if the referral is declined",
        error_messages={"invalid": "Enter an email address in the correct format, like name@example.nhs.net"},
    )
    reason = forms.CharField(
        label="Reason for the referral",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        error_messages={"required": "Enter the reason for the referral"},
    )
    urgency = radio_field(
        "Urgency",
        Referral.Urgency.choices,
        initial=Referral.Urgency.ROUTINE,
        if_blank="Select how urgent the referral is",
    )
    received_on = date_field("Date received", if_blank="Enter the date the referral was received")
    criteria = forms.MultipleChoiceField(
        label="Criteria met",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick each criterion the patient meets. Only a referral that meets every required "
        "criterion can be directed to an MDT.",
    )

    def __init__(
        self, *args: Any, referral_type: ReferralType, care_event: CareEvent | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if care_event is not None:  # from the triage of a transfer of care: what the event says
            self.initial.update(
                {"source": Referral.Source.HOSPITAL, "referrer_name": care_event.provider[:200],
                 "reason": care_event.summary}
            )  # fmt: skip
        self.fields["received_on"].initial = timezone.localdate()
        self.fields["criteria"].choices = [
            (str(c.pk), c.text if c.is_required else f"{c.text} (not required)")
            for c in referral_type.criteria.all()
        ]
        if not self.fields["criteria"].choices:
            del self.fields["criteria"]

    def clean_received_on(self) -> date:
        value = self.cleaned_data["received_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date received must be today or in the past")
        return value

    def service_kwargs(self) -> dict[str, Any]:
        """What referral_create takes from the form."""
        data = self.cleaned_data
        names = ("source", "referrer_name", "referrer_email", "reason", "urgency", "received_on")
        return {**{name: data[name] for name in names}, "criteria_met_ids": data.get("criteria", [])}


class ReferralAcceptForm(forms.Form):
    coordinator = coordinator_field("Whose caseload", if_blank="Choose whose caseload to add the patient to")

    def __init__(self, *args: Any, patient: Patient, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = coordinators_for([patient.practice_id])
        if user.has_role(Role.COORDINATOR):
            self.fields["coordinator"].initial = user.pk


class ReferralDeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why is the referral declined?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="If the referrer is told, they get this reason with the patient's initials and the "
        "date of the referral. Do not include clinical details.",
        error_messages={"required": "Enter why the referral is declined"},
    )
    tell_referrer = forms.BooleanField(label="Email the referrer to tell them", required=False)

    def __init__(self, *args: Any, referral: Referral, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if referral.referrer_email:
            self.fields[
                "tell_referrer"
            ].label = f"Email the referrer ({referral.referrer_email}) to tell them"
        else:
            del self.fields["tell_referrer"]
