"""Forms for the services directory, signposting, support given and the coding export."""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from caseload.models import Service, Signposting, SupportGiven
from pcn.forms import DateInput
from pcn.models import Practice, User


def _a_year_after(day: date) -> date:
    """The coding export covers at most 12 months at a time (it is worked through week by week,
    and a bounded range keeps the page and the CSV small): 1 April to 31 March, not to 1 April."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, month=3, day=1)


def not_in_future(value: date | None, what: str) -> None:
    if value and value > timezone.localdate():
        raise forms.ValidationError(f"{what} must be today or in the past")


# --- The services directory ----------------------------------------------------------------------


class ServiceSearchForm(forms.Form):
    hide_optional = True  # every filter is optional: the NHS.UK pack need not say so on each one

    q = forms.CharField(
        label="Name or description",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "All categories"), *Service.Category.choices]
    )
    include_inactive = forms.BooleanField(label="Include services no longer offered", required=False)

    def __init__(self, *args: Any, can_administer: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_administer:
            del self.fields["include_inactive"]

    def filter(self, services: QuerySet[Service]) -> QuerySet[Service]:
        data = self.cleaned_data if self.is_valid() else {}
        if not data.get("include_inactive"):
            services = services.filter(is_active=True)
        if text := (data.get("q") or "").strip():
            services = services.filter(Q(name__icontains=text) | Q(description__icontains=text))
        if data.get("category"):
            services = services.filter(category=data["category"])
        return services


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "category", "description", "eligibility", "phone", "email", "website", "address",
                  "is_active"]  # fmt: skip
        labels = {
            "name": "Name of the service",
            "description": "What it offers",
            "eligibility": "Who can use it",
            "is_active": "Offered now (shown in the directory and can be chosen when signposting)",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "eligibility": forms.Textarea(attrs={"rows": 2}),
            "phone": forms.TextInput(attrs={"class": "nhsuk-input--width-20", "autocomplete": "off"}),
        }
        error_messages = {
            "name": {"required": "Enter the name of the service"},
            "category": {"required": "Select a category"},
            "email": {"invalid": "Enter an email address in the correct format, like name@example.org"},
            "website": {"invalid": "Enter a web address in the correct format, like https://example.org"},
        }


# --- Signposting and support given ---------------------------------------------------------------


class SignpostingForm(forms.Form):
    service = forms.ModelChoiceField(
        label="Service",
        queryset=Service.objects.none(),
        empty_label="Choose a service",
        error_messages={"required": "Choose the service the patient was signposted to"},
    )
    signposted_on = forms.DateField(
        label="Date signposted",
        widget=DateInput(),
        error_messages={"required": "Enter the date they were signposted", "invalid": "Enter a real date"},
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

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
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=[c for c in Signposting.Outcome.choices if c[0] != Signposting.Outcome.PENDING],
        widget=forms.RadioSelect,
        error_messages={"required": "Select the outcome"},
    )
    outcome_on = forms.DateField(
        label="Date of the outcome",
        widget=DateInput(),
        error_messages={"required": "Enter the date of the outcome", "invalid": "Enter a real date"},
    )

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
    kind = forms.ChoiceField(
        label="Support given",
        choices=SupportGiven.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the support given"},
    )
    given_on = forms.DateField(
        label="Date",
        widget=DateInput(),
        error_messages={"required": "Enter the date the support was given", "invalid": "Enter a real date"},
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_given_on(self) -> date:
        value = self.cleaned_data["given_on"]
        not_in_future(value, "The date")
        return value


# --- The coding export ---------------------------------------------------------------------------


class CodingExportForm(forms.Form):
    """Which rows: one practice (codes are entered in that practice's clinical system), a date range
    and whether they have been entered yet. Read from the query string, so the page is bookmarkable."""

    NOT_ENTERED, ENTERED, ALL = "no", "yes", "all"
    hide_optional = True  # a filter form: "Show" falls back to "Not yet entered"

    practice = forms.ModelChoiceField(
        label="Practice",
        queryset=Practice.objects.none(),
        empty_label=None,
        error_messages={"required": "Select a practice", "invalid_choice": "Select one of your practices"},
    )
    start = forms.DateField(
        label="From",
        widget=DateInput(),
        error_messages={"required": "Enter the first date", "invalid": "Enter a real date"},
    )
    end = forms.DateField(
        label="To (inclusive)",
        widget=DateInput(),
        error_messages={"required": "Enter the last date", "invalid": "Enter a real date"},
    )
    entered = forms.ChoiceField(
        label="Show",
        choices=[(NOT_ENTERED, "Not yet entered"), (ENTERED, "Entered"), (ALL, "All")],
        required=False,
    )

    def __init__(self, data: Any, *, user: User, **kwargs: Any) -> None:
        practices = Practice.objects.filter(pk__in=user.practice_ids()).order_by("name")
        choices = [(practice.pk, str(practice)) for practice in practices]  # one query, however rendered
        today = timezone.localdate()
        defaults = {"start": (today - timedelta(days=30)).isoformat(), "end": today.isoformat(),
                    "entered": self.NOT_ENTERED}  # fmt: skip
        data = {**defaults, **{key: value for key, value in data.items() if value}}
        if not data.get("practice"):
            data["practice"] = choices[0][0] if choices else None
        super().__init__(data, **kwargs)
        self.fields["practice"].queryset = practices
        self.fields["practice"].choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The last date must be the same as or after the first date")
            elif end >= _a_year_after(start):
                self.add_error("end", "Choose a range of no more than 12 months")
        return data

    @property
    def entered_filter(self) -> bool | None:
        value = self.cleaned_data.get("entered") or self.NOT_ENTERED
        return {self.NOT_ENTERED: False, self.ENTERED: True}.get(value)
