"""Forms for the care plan: the plan's sections with its goals and support needs, and agreeing it."""

from functools import cached_property
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.formats import date_format

from careplans.models import CarePlanVersion, Goal, SupportNeed
from careplans.services.plans import PLAN_FIELDS, STALE_MESSAGE
from caseload.forms.tasks import team_for
from caseload.models import Signposting
from pcn.forms import DateInput


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

    def __init__(self, data: Any = None, *, instance: CarePlanVersion, patient: Any) -> None:
        super().__init__(data, instance=instance, initial={"lock_version": instance.lock_version})
        self.fields["named_coordinator"].queryset = team_for([patient.practice_id])
        self.stale = False
        # The patient's signposting records are the rows' choices: read once per formset.
        rows = {"form_kwargs": {"patient": patient}}
        self.goals = GoalFormSet(data, queryset=instance.goals.all(), prefix="goals", **rows)
        self.needs = SupportNeedFormSet(data, queryset=instance.support_needs.all(), prefix="needs", **rows)

    def is_valid(self) -> bool:
        """The sections, then the goals, then the support needs."""
        return super().is_valid() and self.goals.is_valid() and self.needs.is_valid()

    def changes(self) -> dict[str, Any]:
        """What `care_plan_save` takes from the form: the sections, the lock_version read, the rows kept."""
        return {
            "data": {name: self.cleaned_data[name] for name in self.Meta.fields},
            "lock_version": self.cleaned_data["lock_version"],
            "goals": formset_rows(self.goals),
            "support_needs": formset_rows(self.needs),
        }

    def refuse_stale(self) -> None:
        """Someone else saved the plan first: say nothing was saved, keep the user's text, and move the
        hidden lock_version on to the version's current one, so that a deliberate re-save works."""
        self.stale = True
        self.add_error(None, STALE_MESSAGE)
        data = self.data.copy()
        data["lock_version"] = str(CarePlanVersion.objects.get(pk=self.instance.pk).lock_version)
        self.data = data


def patient_signpostings(patient: Any) -> list[Signposting]:
    """The patient's signposting records with their services, newest first: one query."""
    return list(
        Signposting.objects.filter(patient=patient)
        .select_related("service")
        .order_by("-signposted_on", "-id")
    )


class SignpostingChoiceField(forms.ModelChoiceField):
    """One of the patient's signposting records, chosen from `records` already read: showing the
    choices and checking the chosen one need no query, so every row of a formset shares one read.
    A value that is not one of `records` (another patient's, posted by hand) is an invalid choice."""

    def __init__(self, queryset: Any, *, records: list[Signposting], **kwargs: Any) -> None:
        super().__init__(queryset, **kwargs)
        self.records = {str(record.pk): record for record in records}
        self.choices = [("", self.empty_label)] + [
            (pk, self.label_from_instance(record)) for pk, record in self.records.items()
        ]

    def label_from_instance(self, obj: Signposting) -> str:
        return f"{obj.service.name}, {date_format(obj.signposted_on, 'j M Y')} ({obj.get_outcome_display()})"

    def to_python(self, value: Any) -> Signposting | None:
        if value in self.empty_values:
            return None
        record = self.records.get(str(value.pk if isinstance(value, Signposting) else value))
        if record is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        return record


class SignpostingLinkForm(forms.ModelForm):
    """A goal or support need, which may link to one of the patient's signposting records.
    `signpostings`: the patient's records when already read (the formset reads them once)."""

    def __init__(
        self, *args: Any, patient: Any, signpostings: list[Signposting] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        records = patient_signpostings(patient) if signpostings is None else signpostings
        # Not in Meta.fields: the model form neither copies it to the instance nor re-checks that the
        # record exists (a query per row); the field checks it against `records` and the service saves it.
        self.initial.setdefault("signposting", self.instance.signposting_id)
        # With no records there is nothing to choose: the page says how to record one instead.
        self.fields["signposting"] = SignpostingChoiceField(
            Signposting.objects.filter(patient=patient),
            records=records,
            required=False,
            label="Linked signposting",
            empty_label="None",
            error_messages={"invalid_choice": "Choose one of this person's signposting records, or None"},
            widget=forms.Select if records else forms.HiddenInput,
        )


class GoalForm(SignpostingLinkForm):
    class Meta:
        model = Goal
        fields = ("goal", "steps", "who_helps", "target_date", "progress", "met_on")
        labels = {
            "goal": "Goal, in the person's words",
            "steps": "Steps (what, by when)",
            "who_helps": "Who helps",
            "target_date": "Target date",
            "met_on": "Date met",
        }
        help_texts = {"met_on": "Leave blank while the person is still working towards it."}
        widgets = {
            "goal": forms.Textarea(attrs={"rows": 2}),
            "steps": forms.Textarea(attrs={"rows": 2}),
            "progress": forms.Textarea(attrs={"rows": 2}),
            "target_date": DateInput,
            "met_on": DateInput,
        }


class SupportNeedForm(SignpostingLinkForm):
    class Meta:
        model = SupportNeed
        fields = ("domain", "need", "support_agreed")
        labels = {"domain": "Area", "need": "Support need", "support_agreed": "Support agreed"}
        widgets = {
            "need": forms.Textarea(attrs={"rows": 2}),
            "support_agreed": forms.Textarea(attrs={"rows": 2}),
        }


class PatientRowsFormSet(forms.BaseModelFormSet):
    """Goal or support need rows of one patient's plan (form_kwargs={"patient": patient}). The
    patient's signposting records are read once here and shared by every row."""

    @cached_property
    def signpostings(self) -> list[Signposting]:
        return patient_signpostings(self.form_kwargs["patient"])

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "signpostings": self.signpostings}


GoalFormSet = forms.modelformset_factory(
    Goal, form=GoalForm, formset=PatientRowsFormSet, extra=1, can_delete=True
)
SupportNeedFormSet = forms.modelformset_factory(
    SupportNeed, form=SupportNeedForm, formset=PatientRowsFormSet, extra=1, can_delete=True
)


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
