"""The period and practice a report is shown for, and the practice the dashboard is shown for."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from pcn.forms import date_field
from pcn.models import Practice, User
from reporting.periods import Period, PeriodKind, last_complete_month, month, qof_year, qof_year_of

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


class DashboardForm(forms.Form):
    """The dashboard's practice: one of the user's, or all of them (a practice not theirs is an error)."""

    practice = forms.ModelChoiceField(
        label="Practice", queryset=Practice.objects.none(), required=False, empty_label="All your practices"
    )

    def __init__(self, data: Any = None, *, user: User) -> None:
        super().__init__(data)
        self.user = user
        self.fields["practice"].queryset = Practice.objects.filter(pk__in=user.practice_ids())

    def practice_ids(self) -> list[int]:
        chosen = self.cleaned_data.get("practice") if self.is_bound and self.is_valid() else None
        return [chosen.pk] if chosen else sorted(self.user.practice_ids())
