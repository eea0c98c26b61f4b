"""The form for a decision aid offered to the person."""

from datetime import date
from typing import Any

from django import forms
from django.db.models import Q

from careplans.models import DecisionAid, DecisionAidOffer
from caseload.forms.signposting import not_in_future
from pcn.forms import date_field, model_choice_field


class DecisionAidOfferForm(forms.Form):
    aid = model_choice_field(
        "Decision aid", DecisionAid.objects.none(), empty_label="Choose a decision aid",
        if_blank="Choose the decision aid offered",
    )  # fmt: skip
    decision = forms.CharField(
        label="The decision being made",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="In the person's words, for example: whether to have a knee replacement",
        error_messages={"required": "Enter the decision the person is making"},
    )
    offered_on = date_field("Date offered", if_blank="Enter the date the decision aid was offered")
    what_matters = forms.CharField(
        label="What matters most to them about this decision", required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Their preparation before talking with the clinician",
    )  # fmt: skip
    questions = forms.CharField(
        label="Questions they want to ask the clinician", required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    outcome = forms.CharField(
        label="Outcome of the conversation", required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Leave blank until the conversation has happened",
    )  # fmt: skip

    def __init__(self, *args: Any, offer: DecisionAidOffer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Aids offered now; an offer keeps its own aid even once withdrawn.
        offered = Q(is_active=True) | Q(pk=offer.aid_id) if offer else Q(is_active=True)
        self.fields["aid"].queryset = DecisionAid.objects.filter(offered)
        self.fields["aid"].label_from_instance = lambda aid: f"{aid.title}: {aid.decision}"

    def clean_offered_on(self) -> date:
        value = self.cleaned_data["offered_on"]
        not_in_future(value, "The date offered")
        return value

    @property
    def has_aids(self) -> bool:
        return self.fields["aid"].queryset.exists()  # type: ignore[attr-defined]


def offer_initial(offer: DecisionAidOffer) -> dict[str, Any]:
    return {name: getattr(offer, name) for name in DecisionAidOfferForm.base_fields}
