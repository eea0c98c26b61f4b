"""The patient page's timeline filter."""

from typing import Any

from django import forms

from caseload.filters import FilterForm
from overview.timeline import kind_choices


class TimelineForm(FilterForm):
    kind = forms.MultipleChoiceField(
        label="Show", required=False, choices=(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()
        self.fields["kind"].help_text = "Leave all unticked to see everything."
