"""Forms for transfers of care (CareEvent): by hand, triage, matching, the feed."""

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q, QuerySet
from django.utils import timezone

from caseload.forms.episodes import coordinators_for
from caseload.models import CareEvent, Contact, Patient
from pcn.forms import date_field, model_choice_field, notes_field, radio_field
from pcn.models import User
from pcn.nhs_number import normalise

if TYPE_CHECKING:
    from mdt.models import MeetingSeries


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class CareEventForm(forms.Form):
    """A transfer of care entered by hand."""

    kind = radio_field("What happened", CareEvent.Kind.choices, if_blank="Select what happened")
    occurred_on = date_field("Date", if_blank="Enter the date of the event")
    occurred_time = forms.TimeField(
        label="Time",
        required=False,
        widget=TimeInput(),
        help_text="24-hour clock, for example 14:30. Leave blank if not known.",
        error_messages={"invalid": "Enter a real time, like 14:30"},
    )
    provider = forms.CharField(
        label="Provider",
        max_length=200,
        required=False,
        help_text="For example: Royal County Hospital, NHS 111",
    )
    summary = forms.CharField(
        label="Summary", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day: date | None = data.get("occurred_on")
        if day is not None:
            when = timezone.make_aware(datetime.combine(day, data.get("occurred_time") or time(0, 0)))
            if when > timezone.now():
                self.add_error(
                    "occurred_on" if day > timezone.localdate() else "occurred_time",
                    "The date and time must be now or in the past",
                )
            data["occurred_at"] = when
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """What care_event_record takes from the form."""
        return {name: self.cleaned_data[name] for name in ("kind", "occurred_at", "provider", "summary")}


class TriageAcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def service_kwargs(self) -> dict[str, Any]:
        """What care_event_triage takes from the form."""
        return {"note": self.cleaned_data.get("note", "")}


class TriageContactForm(forms.Form):
    method = forms.ChoiceField(
        label="How",
        choices=[("", "Choose how"), *Contact.Method.choices],
        error_messages={"required": "Choose how the contact was made"},
    )
    with_whom = forms.ChoiceField(
        label="With", choices=Contact.WithWhom.choices, initial=Contact.WithWhom.PATIENT
    )
    duration_minutes = forms.IntegerField(
        label="Duration in minutes",
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        widget=forms.NumberInput(attrs={"class": "nhsuk-input--width-4", "inputmode": "numeric"}),
        error_messages={
            "required": "Enter how long the contact took, in minutes",
            "invalid": "Enter the duration as a whole number of minutes",
        },
    )
    notes = notes_field(max_length=5000)

    def service_kwargs(self) -> dict[str, Any]:
        """What care_event_triage takes from the form."""
        return {"contact": self.cleaned_data, "note": self.cleaned_data.get("notes", "")}


class TriageTaskForm(forms.Form):
    title = forms.CharField(label="Task", max_length=200, error_messages={"required": "Enter the task"})
    owner = model_choice_field(
        "Who will do it",
        User.objects.none(),
        empty_label="Choose a person",
        if_blank="Choose who will do the task",
    )
    due_on = date_field("Due", if_blank="Enter when the task is due")
    notes = notes_field(rows=2, max_length=5000)

    def __init__(self, *args: Any, patient: Patient, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        coordinators = coordinators_for([patient.practice_id]).values("pk")
        self.fields["owner"].queryset = User.objects.filter(
            Q(pk__in=coordinators) | Q(pk=user.pk), is_active=True
        ).order_by("full_name")
        self.fields["owner"].initial = user.pk

    def clean_due_on(self) -> date:
        value = self.cleaned_data["due_on"]
        if value < timezone.localdate():
            raise forms.ValidationError("The due date must be today or in the future")
        return value

    def service_kwargs(self) -> dict[str, Any]:
        """What care_event_triage takes from the form."""
        return {"task": self.cleaned_data, "note": self.cleaned_data["title"]}


class TriageMdtForm(forms.Form):
    # The queryset is set in __init__: the series the patient's practice is in.
    series = model_choice_field("Which MDT", None, empty_label="Choose an MDT", if_blank="Choose the MDT")
    note = forms.CharField(
        label="Why", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, series: "QuerySet[MeetingSeries]", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = series

    def service_kwargs(self) -> dict[str, Any]:
        """What care_event_triage takes from the form."""
        return {"note": self.cleaned_data.get("note", ""), "mdt_series": self.cleaned_data["series"]}


class ResolveForm(forms.Form):
    """Match an unmatched event to a patient by NHS number, or dismiss it."""

    action = radio_field(
        "What do you want to do?",
        [("match", "Match it to a patient"), ("dismiss", "Dismiss it")],
        if_blank="Select whether to match or dismiss the event",
    )
    nhs_number = forms.CharField(
        label="The patient's NHS number",
        required=False,
        max_length=20,
        help_text="The correct NHS number of one of your practices' patients, for example 999 000 0018",
    )
    note = forms.CharField(
        label="Note", required=False, max_length=300, help_text="Required when dismissing: say why."
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["patient"] = None
        if data.get("action") == "match":
            digits = normalise(data.get("nhs_number") or "")
            if not digits:
                self.add_error("nhs_number", "Enter the patient's NHS number")
            else:
                patient = Patient.objects.visible_to(self.user).filter(nhs_number=digits).first()
                if patient is None:
                    self.add_error("nhs_number", "No patient at your practices has this NHS number")
                data["patient"] = patient
        elif data.get("action") == "dismiss" and not (data.get("note") or "").strip():
            self.add_error("note", "Say why the event is being dismissed")
        return data


class FeedUploadForm(forms.Form):
    file = forms.FileField(
        label="Care events feed (CSV or XLSX)",
        help_text="Columns: NHS Number, Event, Event Date (dd/mm/yyyy HH:MM), Provider, Summary.",
        error_messages={"required": "Choose the file to import"},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1_048_576:
            raise forms.ValidationError(f"The file must be smaller than {settings.IMPORT_MAX_UPLOAD_MB} MB")
        return upload


class FeedStartForm(forms.Form):
    skip_invalid = forms.BooleanField(label="Import the valid rows and skip the invalid ones", required=False)
