"""The batch preview and confirm form: which worklist entries (ticked ones, or every one matching the
worklist's filters), the channel, and the one-time key that makes a double submit harmless."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.http import QueryDict

from pcn.models import User
from recall.filters import WorklistFilter
from recall.models import Channel, RecallEntry
from recall.services.invitations import BATCH_LIMIT, BatchPlan, invitation_batch_plan

MOST_IDS = BATCH_LIMIT * 4  # ticked entries read from a request (patients may have several reviews due)


class EntryIdsField(forms.Field):
    """Entry ids as repeated hidden inputs (`entry=1&entry=2`); anything not a number is ignored."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        return sorted({int(v) for v in values if str(v).isdigit()})[:MOST_IDS]


class BatchForm(forms.Form):
    channel = forms.ChoiceField(
        choices=Channel.choices,
        widget=forms.RadioSelect,
        label="How to send the invitations",
        error_messages={"required": "Choose how to send the invitations."},
    )
    entry = EntryIdsField(required=False)
    all = forms.BooleanField(required=False, widget=forms.HiddenInput)
    filters = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, data: QueryDict, *, user: User) -> None:
        if not data.get("key"):
            data = data.copy()
            data["key"] = str(uuid4())  # a new preview: a new key (a resubmitted confirm keeps its own)
        super().__init__(data)
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("all") and not data.get("entry"):
            raise ValidationError(
                "Select the patients to invite, or every one matching the filter.", code="none"
            )
        return data

    def can_plan(self) -> bool:
        """Patients and a channel chosen (a refusal from the service still shows who and why)."""
        self.is_valid()
        field_errors = [name for name in self.errors if name != NON_FIELD_ERRORS]
        data = self.cleaned_data
        return not field_errors and bool(data.get("all") or data.get("entry"))

    def worklist(self) -> WorklistFilter:
        filters = QueryDict(self.cleaned_data.get("filters") or "")
        return WorklistFilter(filters, queryset=RecallEntry.objects.visible_to(self.user), user=self.user)

    def entries(self) -> QuerySet[RecallEntry]:
        """The entries chosen, scoped to the user again (a request names ids, it does not grant them)."""
        if self.cleaned_data["all"]:
            return self.worklist().qs
        return RecallEntry.objects.visible_to(self.user).filter(pk__in=self.cleaned_data["entry"])

    def description(self) -> str:
        if self.cleaned_data["all"]:
            return f"Worklist: {self.worklist().describe()}"
        count = len(self.cleaned_data["entry"])
        return f"{count} review{'s' if count != 1 else ''} chosen from the worklist"

    def plan(self, on: date) -> BatchPlan:
        """Who would be invited, and everyone left out with the reason; refused over the batch limit."""
        entries = self.entries()
        patients = entries.order_by().values("patient_id").distinct().count()
        if patients > BATCH_LIMIT:
            raise ValidationError(
                f"These are {patients:,} patients; a batch can invite up to {BATCH_LIMIT:,}. "
                "Narrow the filters.",
                code="too_many",
            )
        rows = entries.select_related("patient__practice", "register").order_by(
            "patient__family_name", "patient__given_name", "patient_id", "register__display_order", "id"
        )
        return invitation_batch_plan(entries=rows, channel=self.cleaned_data["channel"], on=on)
