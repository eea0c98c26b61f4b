"""Forms for caseload episodes: taking patients on, transferring them, closing the episode."""

from typing import Any

from django import forms
from django.db.models import QuerySet

from caseload.models import CaseloadEpisode, Patient
from pcn.forms import model_choice_field, radio_field
from pcn.models import Role, User


def coordinators_for(practice_ids: Any) -> QuerySet[User]:
    return User.objects.with_role_at(practice_ids, Role.COORDINATOR)


def coordinator_field(label: str, *, if_blank: str) -> forms.ModelChoiceField:
    """One care coordinator; the form sets the queryset (`coordinators_for` the patients' practices)."""
    return model_choice_field(
        label, User.objects.none(), empty_label="Choose a care coordinator", if_blank=if_blank
    )


class EpisodeOpenForm(forms.Form):
    coordinator = coordinator_field("Whose caseload", if_blank="Choose whose caseload to add them to")
    reason = radio_field("Why", CaseloadEpisode.Reason.choices, if_blank="Select why they are being added")
    reason_detail = forms.CharField(
        label="Details",
        required=False,
        max_length=300,
        help_text="For example: high risk score, recent falls",
    )

    def __init__(self, *args: Any, patients: list[Patient], user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practice_ids = {p.practice_id for p in patients} & user.practice_ids()
        self.fields["coordinator"].queryset = coordinators_for(practice_ids)
        if user.has_role(Role.COORDINATOR):
            self.fields["coordinator"].initial = user.pk


class EpisodeTransferForm(forms.Form):
    coordinator = coordinator_field("Transfer to", if_blank="Choose the care coordinator to transfer to")

    def __init__(self, *args: Any, episode: CaseloadEpisode, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = coordinators_for([episode.patient.practice_id]).exclude(
            pk=episode.coordinator_id
        )


class EpisodeCloseForm(forms.Form):
    reason = radio_field(
        "Why is the episode ending?",
        CaseloadEpisode.CloseReason.choices,
        if_blank="Select why the episode is ending",
    )
    note = forms.CharField(
        label="Note", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
