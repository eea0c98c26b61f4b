"""The coding export's filter form."""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from pcn.forms import date_field
from pcn.models import Practice, User


def _a_year_after(day: date) -> date:
    """The coding export covers at most 12 months at a time (it is worked through week by week,
    and a bounded range keeps the page and the CSV small): 1 April to 31 March, not to 1 April."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, month=3, day=1)


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
    start = date_field("From", if_blank="Enter the first date")
    end = date_field("To (inclusive)", if_blank="Enter the last date")
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
