"""The filter of the care home residents' PCSP page (EHCH)."""

from typing import Any

from django import forms

from pcn.forms import DateInput
from pcn.models import Practice, User

EHCH_MAX_DAYS = 731


class EhchFilterForm(forms.Form):
    hide_optional = True
    start = forms.DateField(label="Admitted from", widget=DateInput)
    end = forms.DateField(label="to", widget=DateInput)
    practice = forms.ModelChoiceField(queryset=Practice.objects.none(), required=False, empty_label="All")
    state = forms.ChoiceField(
        label="Care plan",
        required=False,
        choices=[("", "Any"), ("overdue", "Overdue"), ("due", "Still due"), ("late", "Agreed late"),
                 ("done", "Agreed on time")],
    )  # fmt: skip

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.filter(  # type: ignore[attr-defined]
            pk__in=user.practice_ids()
        ).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date must be on or after the start date")
        if start and end and (end - start).days > EHCH_MAX_DAYS:
            self.add_error("start", "Choose at most two years")
        return data
