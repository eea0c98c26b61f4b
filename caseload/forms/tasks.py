"""Forms for tasks: adding one to a patient, and the My tasks filter."""

from typing import Any

from django import forms
from django.db.models import QuerySet

from caseload.filters import FilterForm
from caseload.models import Patient
from pcn.forms import date_field, model_choice_field, notes_field
from pcn.models import Role, User

PATIENT_ROLES = (Role.COORDINATOR, Role.CLINICAL_LEAD, Role.MANAGER)


def team_for(practice_ids: Any) -> QuerySet[User]:
    """Active users who work with patients at these practices (possible task owners)."""
    return (
        User.objects.filter(
            is_active=True, memberships__practice_id__in=practice_ids, memberships__role__in=PATIENT_ROLES
        )
        .distinct()
        .order_by("full_name")
    )


class TaskForm(forms.Form):
    title = forms.CharField(
        label="Task", max_length=200, error_messages={"required": "Enter what needs doing"}
    )
    owner = model_choice_field(
        "Owner", User.objects.none(), empty_label="Choose who will do it", if_blank="Choose who will do it"
    )
    due_on = date_field("Due", if_blank="Enter the date the task is due")
    notes = notes_field()

    def __init__(self, *args: Any, patient: Patient, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = team_for([patient.practice_id])
        self.fields["owner"].initial = user.pk


class MyTasksForm(FilterForm):
    owner = forms.ModelChoiceField(
        label="Whose tasks", queryset=User.objects.none(), required=False, empty_label="Mine"
    )
    include_done = forms.BooleanField(label="Include done tasks", required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.can_choose_owner = user.has_role(Role.CLINICAL_LEAD, Role.MANAGER)
        if self.can_choose_owner:
            self.fields["owner"].queryset = team_for(user.practice_ids())
        else:
            del self.fields["owner"]
