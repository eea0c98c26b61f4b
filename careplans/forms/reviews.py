"""The forms of care plan reviews: recording one, and choosing whose reviews the reviews-due list shows."""

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from careplans.models import CarePlanReview, CarePlanVersion
from pcn.forms import date_field, notes_field, radio_field
from pcn.models import Role, User


class ReviewForm(forms.Form):
    hide_optional = True  # the next review date is needed for "no changes": "(optional)" would mislead
    reviewed_on = date_field("Date of the review", if_blank="Enter the date of the review")
    reviewed_how = radio_field(
        "How was it reviewed?", CarePlanVersion.AgreedHow.choices, if_blank="Select how the plan was reviewed"
    )
    reviewed_with = radio_field(
        "Who was it reviewed with?",
        CarePlanVersion.AgreedWith.choices,
        if_blank="Select who the plan was reviewed with",
    )
    outcome = radio_field(
        "Outcome", CarePlanReview.Outcome.choices, if_blank="Select the outcome of the review"
    )
    next_review_date = date_field(
        "Next review date",
        help_text="Needed when the plan stays as agreed. A new version gets its review date when it is agreed.",
    )
    notes = notes_field(max_length=5000)

    def __init__(self, *args: Any, version: CarePlanVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version

    def clean_reviewed_on(self) -> date:
        value: date = self.cleaned_data["reviewed_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date of the review must be today or in the past")
        if self.version.agreed_on and value < self.version.agreed_on:
            raise forms.ValidationError(
                f"The review cannot be before the plan was agreed ({self.version.agreed_on:%-d %B %Y})"
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("outcome") == CarePlanReview.Outcome.NO_CHANGE and "next_review_date" not in self.errors:
            next_review, reviewed_on = data.get("next_review_date"), data.get("reviewed_on")
            if next_review is None:
                self.add_error("next_review_date", "Enter the date of the next review")
            elif reviewed_on is not None and next_review <= reviewed_on:
                self.add_error("next_review_date", "The next review must be after the date of this review")
        return data


class CoordinatorFilterForm(forms.Form):
    hide_optional = True
    coordinator = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Everyone", label="Care coordinator"
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(
                memberships__practice_id__in=user.practice_ids(), memberships__role=Role.COORDINATOR
            )
            .distinct()
            .order_by("full_name")
        )

    def filter_versions(self, versions: QuerySet[CarePlanVersion]) -> QuerySet[CarePlanVersion]:
        """The versions the chosen coordinator owns (`owner_id`); every one when nobody is chosen."""
        if self.is_valid() and self.cleaned_data["coordinator"]:
            return versions.filter(owner_id=self.cleaned_data["coordinator"].pk)
        return versions
