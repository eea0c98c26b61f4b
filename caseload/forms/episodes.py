"""Forms for caseload episodes: taking patients on, transferring them, closing the episode."""

from typing import Any

from django import forms
from django.db.models import QuerySet

from caseload.models import CaseloadEpisode, Patient
from pcn.models import Role, User


def coordinators_for(practice_ids: Any) -> QuerySet[User]:
    return (
        User.objects.filter(
            is_active=True, memberships__practice_id__in=practice_ids, memberships__role=Role.COORDINATOR
        )
        .distinct()
        .order_by("full_name")
    )


class EpisodeOpenForm(forms.Form):
    coordinator = forms.ModelChoiceField(
        label="Whose caseload",
        queryset=User.objects.none(),
        empty_label="Choose a care coordinator",
        error_messages={"required": "Choose whose caseload to add them to"},
    )
    reason = forms.ChoiceField(
        label="Why",
        choices=CaseloadEpisode.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select why they are being added"},
    )
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
    coordinator = forms.ModelChoiceField(
        label="Transfer to",
        queryset=User.objects.none(),
        empty_label="Choose a care coordinator",
        error_messages={"required": "Choose the care coordinator to transfer to"},
    )

    def __init__(self, *args: Any, episode: CaseloadEpisode, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = coordinators_for([episode.patient.practice_id]).exclude(
            pk=episode.coordinator_id
        )


class EpisodeCloseForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why is the episode ending?",
        choices=CaseloadEpisode.CloseReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select why the episode is ending"},
    )
    note = forms.CharField(
        label="Note", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
