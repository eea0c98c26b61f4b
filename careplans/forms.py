"""Forms for the care plan: the plan's sections, its goals and support needs, and agreeing it."""

from typing import Any

from django import forms
from django.utils import timezone

from careplans.models import CarePlanVersion, Goal, SupportNeed
from careplans.services import PLAN_FIELDS
from caseload.contact_forms import team_for


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: Any = None, format: str | None = "%Y-%m-%d") -> None:
        super().__init__(attrs, format)


class PlanForm(forms.ModelForm):
    lock_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = CarePlanVersion
        fields = PLAN_FIELDS
        labels = {
            "about_me": "About me",
            "what_matters": "What matters to me",
            "strengths": "My strengths",
            "who_supports_me": "Who supports me",
            "health_conditions": "My health conditions",
            "decision_aids_used": "Decision aids used",
            "decisions_reached": "Decisions we reached together",
            "contingency_plan": "If things get worse: what to do and who to call",
            "advance_care_planning": "Advance care planning",
            "respect_status": "ReSPECT",
            "named_coordinator": "My care coordinator",
            "gp_name": "My GP",
            "other_contacts": "Other contacts",
            "consent_to_share": "I agree to share this plan with the people who support me",
            "share_with": "Shared with",
            "review_date": "Review date",
        }
        help_texts = {
            "about_me": "In the person's own words.",
            "health_conditions": "Filled in from the imported long-term conditions; change it if needed.",
        }
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in PLAN_FIELDS} | {
            "respect_status": forms.RadioSelect,
            "named_coordinator": forms.Select,
            "gp_name": forms.TextInput,
            "consent_to_share": forms.CheckboxInput,
            "review_date": DateInput,
        }

    def __init__(self, *args: Any, patient: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["named_coordinator"].queryset = team_for([patient.practice_id])


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = ("goal", "steps", "who_helps", "target_date", "progress")
        labels = {
            "goal": "Goal, in the person's words",
            "steps": "Steps (what, by when)",
            "who_helps": "Who helps",
            "target_date": "Target date",
        }
        widgets = {
            "goal": forms.Textarea(attrs={"rows": 2}),
            "steps": forms.Textarea(attrs={"rows": 2}),
            "progress": forms.Textarea(attrs={"rows": 2}),
            "target_date": DateInput,
        }


class SupportNeedForm(forms.ModelForm):
    class Meta:
        model = SupportNeed
        fields = ("domain", "need", "support_agreed")
        labels = {"domain": "Area", "need": "Support need", "support_agreed": "Support agreed"}
        widgets = {
            "need": forms.Textarea(attrs={"rows": 2}),
            "support_agreed": forms.Textarea(attrs={"rows": 2}),
        }


GoalFormSet = forms.modelformset_factory(Goal, form=GoalForm, extra=1, can_delete=True)
SupportNeedFormSet = forms.modelformset_factory(SupportNeed, form=SupportNeedForm, extra=1, can_delete=True)


def formset_rows(formset: Any) -> list[dict[str, Any]]:
    """The rows the user kept (filled in and not marked for removal), as plain values."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not data or data.get("DELETE"):
            continue
        rows.append({k: v for k, v in data.items() if k not in ("id", "DELETE")})
    return rows


class AgreeForm(forms.Form):
    agreed_on = forms.DateField(label="Date agreed", widget=DateInput)
    agreed_how = forms.ChoiceField(
        label="How was it agreed?", choices=CarePlanVersion.AgreedHow.choices, widget=forms.RadioSelect
    )
    agreed_with = forms.ChoiceField(
        label="Who agreed it?", choices=CarePlanVersion.AgreedWith.choices, widget=forms.RadioSelect
    )

    def clean_agreed_on(self) -> Any:
        value = self.cleaned_data["agreed_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date the plan was agreed must be today or in the past")
        return value
