"""The form of feedback or a story from the person, someone around them or another named person."""

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from caseload.forms.signposting import not_in_future
from caseload.models import Feedback, Patient
from pcn.forms import date_field, radio_field

RATING_HELP = (
    "Our own five-point question, not a validated or licensed questionnaire: its answers compare with "
    "each other here, not with published scores. Leave it blank if it was not asked."
)


class FeedbackForm(forms.Form):
    given_on = date_field("Date given", if_blank="Enter the date the feedback was given")
    given_by = radio_field(
        "Who gave it", Feedback.GivenBy.choices, initial=Feedback.GivenBy.PERSON,
        if_blank="Select who gave the feedback",
    )  # fmt: skip
    person_around = forms.ModelChoiceField(
        label="Who, of the people around the person",
        queryset=Feedback.objects.none(),
        required=False,
        empty_label="Choose someone",
        help_text="When someone around the person gave it.",
        error_messages={"invalid_choice": "Choose someone from the people around the person"},
    )
    given_by_name = forms.CharField(
        label="Their name", max_length=200, required=False, help_text="When someone else gave it."
    )
    given_by_relationship = forms.CharField(
        label="Their relationship to the person",
        max_length=200,
        required=False,
        help_text="For example: befriending volunteer, care home manager",
    )
    story = forms.CharField(
        label="Their feedback or story, in their words",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Enter the feedback or story"},
    )
    rating = forms.TypedChoiceField(
        label=Feedback.RATING_QUESTION,
        choices=[("", "Not asked"), *Feedback.Rating.choices],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        help_text=RATING_HELP,
    )
    consent_to_share = forms.BooleanField(
        label="They agree that it may be shared anonymised",
        required=False,
        help_text="For example in the PCN's reports or with commissioners, with nothing that identifies them.",
    )
    is_good_news = forms.BooleanField(
        label="Good news",
        required=False,
        help_text="Good news is offered to the MDT below as a suggestion for its next agenda, and counted in "
        "the feedback report.",
    )
    mdt_series = forms.ModelChoiceField(
        label="MDT to tell",
        queryset=Feedback.objects.none(),
        required=False,
        empty_label="None",
        error_messages={"invalid_choice": "Choose an MDT of the person's practice"},
    )

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("given_on", timezone.localdate())
        people = patient.people_around.all()
        self.fields["person_around"].queryset = people
        self.fields["person_around"].label_from_instance = lambda p: str(p)
        if not people.exists():
            del self.fields["person_around"]
        # The active MDTs of the person's practice (mdt.MeetingSeries through its practices).
        self.fields["mdt_series"].queryset = patient.practice.meeting_series.filter(is_active=True).order_by(
            "name"
        )

    def clean_given_on(self) -> date:
        value = self.cleaned_data["given_on"]
        not_in_future(value, "The date given")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        given_by = data.get("given_by")
        if given_by == Feedback.GivenBy.PERSON_AROUND and not data.get("person_around"):
            if "person_around" in self.fields:
                self.add_error("person_around", "Choose who gave it from the people around the person")
            else:
                self.add_error("given_by", "No one is recorded around the person: choose someone else")
        if given_by == Feedback.GivenBy.OTHER and not (data.get("given_by_name") or "").strip():
            self.add_error("given_by_name", "Enter the name of who gave the feedback")
        if data.get("mdt_series") and not data.get("is_good_news"):
            self.add_error(
                "mdt_series", "Only good news is offered to an MDT: tick good news, or choose None"
            )
        return data

    def service_kwargs(self) -> dict[str, Any]:
        return {"person_around": None, **self.cleaned_data}

    @classmethod
    def initial_from(cls, feedback: Feedback) -> dict[str, Any]:
        return {name: getattr(feedback, name) for name in cls.base_fields}
