"""Forms for taking the minutes and working the actions."""

from typing import Any

from django import forms

from mdt.models import Action, Discussion, Meeting
from pcn.forms import DateInput


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
    due_on = forms.DateField(
        label="Due",
        widget=DateInput(),
        error_messages={"required": "Enter the date the action is due", "invalid": "Enter a real date"},
    )

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

    decision = forms.ChoiceField(
        label="What happened",
        choices=[(DONE, "Done"), (CANCEL, "Cancelled: it is no longer needed")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose done or cancelled"},
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
