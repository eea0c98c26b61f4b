"""Forms of the MDT app: the schedule and agenda, then the minutes and actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet

from mdt.models import Action, Discussion, Meeting, MeetingSeries
from pcn.forms import DateInput, date_field, model_choice_field, radio_field

# --- Schedule and agenda ----------------------------------------------------------------------------


class MeetingMoveForm(forms.Form):
    """The new date and local start time (Europe/London) of one meeting."""

    starts_on = forms.DateField(label="New date", widget=DateInput())
    start_time = forms.TimeField(label="Start time", widget=forms.TimeInput(attrs={"type": "time"}))
    place = forms.CharField(max_length=200, required=False, help_text="Leave blank to keep it.")

    def starts_at(self) -> datetime:
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


# --- Minutes and actions ----------------------------------------------------------------------------


class AttendanceForm(forms.Form):
    users = forms.MultipleChoiceField(
        label="PCN members", required=False, widget=forms.CheckboxSelectMultiple
    )
    external_members = forms.MultipleChoiceField(
        label="External members", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, meeting: Meeting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        series = meeting.series
        people = {series.chair.pk: series.chair, **{user.pk: user for user in series.members.all()}}
        self.fields["users"].choices = [(str(pk), str(user)) for pk, user in people.items()]
        self.fields["external_members"].choices = [
            (str(member.pk), str(member)) for member in series.external_members.all()
        ]
        if not self.is_bound:
            present = list(meeting.attendance.all())
            self.initial = {
                "users": [str(row.user_id) for row in present if row.user_id],
                "external_members": [
                    str(row.external_member_id) for row in present if row.external_member_id
                ],
            }

    def service_kwargs(self) -> dict[str, Any]:
        return {
            "user_ids": [int(pk) for pk in self.cleaned_data["users"]],
            "external_member_ids": [int(pk) for pk in self.cleaned_data["external_members"]],
        }


class DiscussionForm(forms.Form):
    notes = forms.CharField(label="Discussion", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Not decided yet")])
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [("", "Not decided yet"), *Discussion.Outcome.choices]


class ActionForm(forms.Form):
    what = forms.CharField(
        label="Action", max_length=300, error_messages={"required": "Enter what needs doing"}
    )
    owner = forms.ChoiceField(label="Owner", error_messages={"required": "Choose who will do it"})
    due_on = date_field("Due", if_blank="Enter the date the action is due")

    def __init__(self, *args: Any, meeting: Meeting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        series = meeting.series
        self.users = {series.chair.pk: series.chair, **{user.pk: user for user in series.members.all()}}
        self.externals = {member.pk: member for member in series.external_members.all()}
        self.fields["owner"].choices = [
            ("", "Choose who will do it"),
            ("PCN members", [(f"user:{pk}", str(user)) for pk, user in self.users.items()]),
            ("External members", [(f"external:{pk}", str(member)) for pk, member in self.externals.items()]),
        ]

    def service_kwargs(self) -> dict[str, Any]:
        kind, _, pk = self.cleaned_data["owner"].partition(":")
        owner = (
            {"owner_user": self.users[int(pk)]}
            if kind == "user"
            else {"owner_external": self.externals[int(pk)]}
        )
        return {"what": self.cleaned_data["what"], "due_on": self.cleaned_data["due_on"], **owner}


class ActionCloseForm(forms.Form):
    DONE, CANCEL = "done", "cancel"

    decision = radio_field(
        "What happened",
        [(DONE, "Done"), (CANCEL, "Cancelled: it is no longer needed")],
        if_blank="Choose done or cancelled",
    )
    note = forms.CharField(
        label="Note (what was done) or reason (why it was cancelled)",
        max_length=Action._meta.get_field("closed_note").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what was done, or why it is cancelled"},
    )


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Correction",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Write the correction"},
    )


class MyActionsForm(forms.Form):
    meeting = forms.TypedChoiceField(label="Meeting", required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, meetings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["meeting"].choices = [("", "All meetings")] + [(m.pk, str(m)) for m in meetings]


class ReferralMdtForm(forms.Form):
    # The queryset is set in __init__: the series the patient's practice is in.
    series = model_choice_field("Which MDT", None, empty_label="Choose an MDT", if_blank="Choose the MDT")

    def __init__(self, *args: Any, series: QuerySet[MeetingSeries], preferred_kind: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = series
        if preferred_kind:
            preferred = next((s for s in series if s.kind == preferred_kind), None)
            if preferred is not None:
                self.fields["series"].initial = preferred.pk
