"""The filters of the call/recall report and the coding discrepancies page (read from the query
string, so both pages are bookmarkable), and the recall dates upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from pcn.models import Practice, User
from recall.models import Register, qof_year, year_label
from recall.services.discrepancies import KIND_LABELS

YEARS_SHOWN = 5  # this QOF year and the four before it


def _year_choices() -> list[tuple[int, str]]:
    current = qof_year(timezone.localdate())
    return [(year, year_label(year)) for year in range(current, current - YEARS_SHOWN, -1)]


class _RecallFilterForm(forms.Form):
    hide_optional = True  # filters: every one is optional

    year = forms.TypedChoiceField(label="QOF year", coerce=int, choices=())

    def __init__(self, data: Any, *, user: User, **kwargs: Any) -> None:
        choices = _year_choices()
        data = {key: value for key, value in data.items() if value}
        data.setdefault("year", str(choices[0][0]))
        super().__init__(data, **kwargs)
        self.fields["year"].choices = choices
        practices = Practice.objects.filter(pk__in=user.practice_ids()).order_by("name")
        self.fields["practice"].queryset = practices
        self.fields["practice"].choices = [  # one query, however the field is rendered
            *([("", self.fields["practice"].empty_label)] if self.fields["practice"].empty_label else []),
            *((practice.pk, str(practice)) for practice in practices),
        ]


class RecallReportForm(_RecallFilterForm):
    practice = forms.ModelChoiceField(
        label="Practice", queryset=Practice.objects.none(), required=False, empty_label="All your practices",
        error_messages={"invalid_choice": "Select one of your practices"},
    )  # fmt: skip
    register = forms.ModelChoiceField(
        label="Register (by month)", queryset=Register.objects.all(), required=False,
        empty_label="All registers", error_messages={"invalid_choice": "Select a register"},
    )  # fmt: skip


class DiscrepancyForm(_RecallFilterForm):
    """One practice at a time: each fix is made in that practice's clinical system."""

    practice = forms.ModelChoiceField(
        label="Practice", queryset=Practice.objects.none(), empty_label=None,
        error_messages={"required": "Select a practice", "invalid_choice": "Select one of your practices"},
    )  # fmt: skip
    kind = forms.ChoiceField(
        label="Problem", choices=[("", "Any problem"), *KIND_LABELS.items()], required=False
    )

    def __init__(self, data: Any, *, user: User, **kwargs: Any) -> None:
        data = dict(data.items())
        if not data.get("practice"):
            first = Practice.objects.filter(pk__in=user.practice_ids()).order_by("name").first()
            data["practice"] = str(first.pk) if first else ""
        super().__init__(data, user=user, **kwargs)


class RecallDatesUploadForm(forms.Form):
    file = forms.FileField(
        label="Recall dates file",
        help_text="CSV or XLSX: an NHS number column, and columns such as last_review_diabetes, "
        "last_invited_copd or pca_asthma.",
        error_messages={"required": "Choose a CSV or XLSX file"},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.RECALL_DATES_MAX_MB * 1_048_576
        if upload.size > limit:
            raise forms.ValidationError(f"The file must be smaller than {settings.RECALL_DATES_MAX_MB} MB")
        return upload
