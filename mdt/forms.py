"""Forms of the MDT app. Each engineer's part is a section below."""

from __future__ import annotations

from typing import Any

from django import forms

# --- Schedule and agenda ----------------------------------------------------------------------------


class MeetingMoveForm(forms.Form):
    """The new date and local start time (Europe/London) of one meeting."""

    starts_on = forms.DateField(label="New date", widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label="Start time", widget=forms.TimeInput(attrs={"type": "time"}))
    place = forms.CharField(max_length=200, required=False, help_text="Leave blank to keep it.")

    def starts_at(self) -> Any:
        from datetime import UTC, datetime
        from zoneinfo import ZoneInfo

        local = datetime.combine(
            self.cleaned_data["starts_on"], self.cleaned_data["start_time"], tzinfo=ZoneInfo("Europe/London")
        )
        return local.astimezone(UTC)


class AgendaItemAddForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)


class AgendaItemUpdateForm(forms.Form):
    minutes_allotted = forms.IntegerField(label="Minutes", min_value=1, max_value=120)
    presenter = forms.ModelChoiceField(queryset=None, required=False, label="Presenter")  # type: ignore[arg-type]
    reason = forms.CharField(
        label="Reason for discussion", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, presenters: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["presenter"].queryset = presenters  # type: ignore[attr-defined]


class AgendaOrderForm(forms.Form):
    """The whole new order (a plain form) — the htmx buttons move one item instead."""

    order = forms.CharField(help_text="Item ids, comma-separated, in the new order.")

    def clean_order(self) -> list[int]:
        try:
            return [int(part) for part in self.cleaned_data["order"].split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Give the item ids separated by commas.") from None


class AgendaApproveForm(forms.Form):
    comments = forms.CharField(
        label="Chair's comments", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
