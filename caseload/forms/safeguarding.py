"""Forms for safeguarding concerns: raising one, closing one with its outcome, and the list's filter."""

from django import forms

from caseload.filters import FilterForm
from caseload.models import SafeguardingConcern
from pcn.forms import radio_field

YES_NO = [("yes", "Yes"), ("no", "No")]


def _words_field(label: str, *, if_blank: str, help_text: str, rows: int) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        error_messages={"required": if_blank},
    )


class SafeguardingConcernForm(forms.Form):
    category = radio_field(
        "What kind of concern is it?",
        SafeguardingConcern.Category.choices,
        if_blank="Select the kind of concern",
        help_text="The types of abuse and neglect of adults in the Care Act 2014 statutory guidance; "
        "choose Child safeguarding concern for anyone under 18.",
    )
    what_happened = _words_field(
        "What was seen or said",
        if_blank="Enter what was seen or said",
        help_text="What you saw or heard, when and where, and who was there. Use the person's own words "
        "where you can. Record facts, not opinions.",
        rows=8,
    )
    immediate_risk = radio_field(
        "Is anyone at immediate risk of harm?",
        YES_NO,
        if_blank="Select yes if anyone is at immediate risk of harm",
    )

    def clean_immediate_risk(self) -> bool:
        return self.cleaned_data["immediate_risk"] == "yes"


class SafeguardingCloseForm(forms.Form):
    outcome = _words_field(
        "Outcome",
        if_blank="Enter the outcome",
        help_text="What was done and decided: for example, referred to the local authority's safeguarding "
        "team on a date; or no further action, and why.",
        rows=6,
    )


class SafeguardingListForm(FilterForm):
    STATES = [
        (SafeguardingConcern.State.RAISED, "Awaiting acknowledgement"),
        (SafeguardingConcern.State.ACKNOWLEDGED, "Acknowledged, not closed"),
        (SafeguardingConcern.State.CLOSED, "Closed"),
    ]
    state = forms.ChoiceField(label="Show", choices=STATES, required=False)
