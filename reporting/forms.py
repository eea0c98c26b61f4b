"""The period and practice a report is shown for, the practice the dashboard is shown for; saving and
editing a saved search."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from pcn.forms import date_field
from pcn.models import Practice, User
from pcn.permissions import ROLE_PERMISSIONS, Perm, has_perm
from reporting.models import SavedSearch
from reporting.periods import Period, PeriodKind, last_complete_month, month, qof_year, qof_year_of
from reporting.services.saved_searches import search_query_clean

MAX_CUSTOM_DAYS = 3 * 366  # a custom period up to about three years


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m")


class ReportPeriodForm(forms.Form):
    period = forms.ChoiceField(
        label="Period",
        choices=[
            (PeriodKind.MONTH, "A month"),
            (PeriodKind.QOF_YEAR, "A QOF year"),
            (PeriodKind.CUSTOM, "Dates you choose"),
        ],
        initial=PeriodKind.MONTH,
    )
    month = forms.DateField(
        label="Month", required=False, widget=MonthInput(), input_formats=["%Y-%m"],
        error_messages={"invalid": "Enter a month, like 2026-11"},
    )  # fmt: skip
    year = forms.TypedChoiceField(label="QOF year", coerce=int, required=False)
    start = date_field("From")
    end = date_field("To")
    practice = forms.ModelChoiceField(
        label="Practice", queryset=Practice.objects.none(), required=False, empty_label="All your practices"
    )

    def __init__(self, data: Any = None, *, user: User, today: date) -> None:
        super().__init__(data)
        self.user, self.today = user, today
        current = qof_year_of(today).start.year
        self.fields["year"].choices = [
            (y, qof_year(y).label.removeprefix("QOF year ")) for y in range(current, current - 5, -1)
        ]
        self.fields["practice"].queryset = Practice.objects.filter(pk__in=user.practice_ids())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("period")
        if kind == PeriodKind.CUSTOM:
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                self.add_error("start" if not start else "end", "Enter the first and the last day")
            elif end < start:
                self.add_error("end", "The last day must be on or after the first day")
            elif (end - start).days > MAX_CUSTOM_DAYS:
                self.add_error("end", "Choose a period of up to three years")
            elif end > self.today:
                self.add_error("end", "The last day cannot be in the future")
        return data

    def chosen_period(self) -> Period:
        """The period asked for, or the last complete month when nothing valid was asked."""
        if not self.is_bound or not self.is_valid():
            return last_complete_month(self.today)
        data = self.cleaned_data
        if data["period"] == PeriodKind.QOF_YEAR and data.get("year"):
            return qof_year(data["year"])
        if data["period"] == PeriodKind.CUSTOM:
            return Period(PeriodKind.CUSTOM, data["start"], data["end"])
        if data.get("month"):
            return month(data["month"].year, data["month"].month)
        return last_complete_month(self.today)

    def practice_ids(self) -> list[int]:
        """The practices the report covers: the one chosen, else all of the user's."""
        chosen = self.cleaned_data.get("practice") if self.is_bound and self.is_valid() else None
        return [chosen.pk] if chosen else sorted(self.user.practice_ids())


class ReportExportForm(forms.Form):
    """The format of a report download (the period and practices come from ReportPeriodForm)."""

    format = forms.ChoiceField(
        label="Format",
        choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("pdf", "PDF")],
        error_messages={"required": "Choose CSV, Excel or PDF", "invalid_choice": "Choose CSV, Excel or PDF"},
    )


class ListDownloadForm(forms.Form):
    """The format of a list's download: a saved search's result or a data-quality check's patients."""

    format = forms.ChoiceField(
        label="Format", choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")],
        error_messages={"required": "Choose CSV or Excel", "invalid_choice": "Choose CSV or Excel"},
    )  # fmt: skip


SHARED_HELP = (
    "Everyone in the PCN can then run it: each of them sees the patients of their own practices only."
)


class SavedSearchCreateForm(forms.Form):
    """ "Save this search" on Find patients and the recall worklist: the page's filters under a name."""

    kind = forms.ChoiceField(choices=SavedSearch.Kind.choices, widget=forms.HiddenInput)
    query = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    name = forms.CharField(
        label="Name", max_length=100, help_text="Say what it finds, like “Frail over-75s not on a caseload”."
    )
    shared = forms.BooleanField(label="Share with the PCN", required=False, help_text=SHARED_HELP)

    def __init__(self, data: Any = None, *, user: User, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind"):
            try:
                data["query"] = search_query_clean(
                    kind=data["kind"], query=data.get("query", ""), user=self.user
                )
            except ValidationError as refused:
                raise ValidationError(
                    [
                        "These filters cannot be saved: change them on the list page and save again.",
                        *refused.messages,
                    ]
                ) from refused
        return data


class SavedSearchEditForm(forms.Form):
    """The owner's: name, sharing, and (managers only) the weekly schedule."""

    name = forms.CharField(label="Name", max_length=100)
    shared = forms.BooleanField(label="Share with the PCN", required=False, help_text=SHARED_HELP)
    schedule = forms.ChoiceField(
        label="Run it for me",
        choices=SavedSearch.Schedule.choices,
        widget=forms.RadioSelect,
        help_text="Every week it is counted for your practices and you are emailed the count and its change "
        "(the email names no patients).",
    )

    def __init__(self, data: Any = None, *, search: SavedSearch, user: User) -> None:
        initial = {"name": search.name, "shared": search.shared, "schedule": search.schedule}
        super().__init__(data, initial=initial)
        if not has_perm(user, Perm.VIEW_PCN_FIGURES):
            del self.fields["schedule"]  # a managers' option


class YourPracticeForm(forms.Form):
    """A page for one of the user's practices or all of them (a practice not theirs is an error)."""

    practice = forms.ModelChoiceField(
        label="Practice", queryset=Practice.objects.none(), required=False, empty_label="All your practices",
        error_messages={"invalid_choice": "Select one of your practices"},
    )  # fmt: skip

    def __init__(self, data: Any = None, *, user: User) -> None:
        super().__init__(data)
        self.user = user
        self.fields["practice"].queryset = Practice.objects.filter(pk__in=user.practice_ids()).order_by(
            "name"
        )

    def practice_ids(self) -> list[int]:
        chosen = self.cleaned_data.get("practice") if self.is_bound and self.is_valid() else None
        return [chosen.pk] if chosen else sorted(self.user.practice_ids())


class DataQualityForm(YourPracticeForm):
    """The practice the data quality report covers (all of the user's when none is chosen)."""

    hide_optional = True


class DashboardForm(YourPracticeForm):
    """The dashboard's practice."""


def token_holders() -> Any:
    """Who may hold a BI feed token: active users whose roles see PCN figures (managers, administrators)."""
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.VIEW_PCN_FIGURES in perms]
    return User.objects.filter(is_active=True, memberships__role__in=roles).distinct().order_by("full_name")


class ApiTokenForm(forms.Form):
    user = forms.ModelChoiceField(
        label="Who it is for", queryset=User.objects.none(),
        help_text="The feed shows the figures of the practices they are a member of. Managers and "
        "administrators only.",
        error_messages={"required": "Choose who the token is for", "invalid_choice": "Choose a manager or administrator"},
    )  # fmt: skip
    name = forms.CharField(
        label="What it is for", max_length=100, help_text="For example “Power BI PCN dashboard”.",
        error_messages={"required": "Say what the token is for"},
    )  # fmt: skip

    def __init__(self, data: Any = None) -> None:
        super().__init__(data)
        self.fields["user"].queryset = token_holders()
