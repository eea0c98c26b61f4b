from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

from pcn.models import User
from pcn.nhs_number import normalise, validate_nhs_number


class DateInput(forms.DateInput):
    """The browser's date picker (`<input type="date">`), which sends and shows ISO dates."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


# The fields below say in their own words what is missing or wrong (the NHS.UK error message
# guidance: "Enter the date of the review", not "This field is required").


def date_field(label: str, *, if_blank: str = "", **kwargs: Any) -> forms.DateField:
    """A date chosen with the browser's date picker. `if_blank` is the error for a blank date; a field
    without one is optional."""
    error_messages = {"invalid": "Enter a real date"}
    if if_blank:
        error_messages["required"] = if_blank
    return forms.DateField(
        label=label, required=bool(if_blank), widget=DateInput(), error_messages=error_messages, **kwargs
    )


def radio_field(label: str, choices: Any, *, if_blank: str, **kwargs: Any) -> forms.ChoiceField:
    """One of `choices`, as radio buttons; `if_blank` is the error when none is chosen."""
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={"required": if_blank},
        **kwargs,
    )


def model_choice_field(
    label: str, queryset: Any, *, empty_label: str, if_blank: str, **kwargs: Any
) -> forms.ModelChoiceField:
    """One record from a list that starts with `empty_label`; `if_blank` is the error when none is chosen."""
    return forms.ModelChoiceField(
        label=label,
        queryset=queryset,
        empty_label=empty_label,
        error_messages={"required": if_blank},
        **kwargs,
    )


def notes_field(*, rows: int = 3, **kwargs: Any) -> forms.CharField:
    """Optional free-text notes, in a box `rows` lines high."""
    return forms.CharField(
        label="Notes", required=False, widget=forms.Textarea(attrs={"rows": rows}), **kwargs
    )


def minutes_field(what: str, *, most: int, most_said: str = "", **kwargs: Any) -> forms.IntegerField:
    """How long `what` ("the call") took, in whole minutes from 1 to `most`; `most_said` is how the limit
    is put in its error ("600 minutes (10 hours)"), `most` minutes unless given."""
    return forms.IntegerField(
        label="Duration in minutes",
        min_value=1,
        max_value=most,
        widget=forms.NumberInput(attrs={"class": "nhsuk-input--width-4", "inputmode": "numeric"}),
        error_messages={
            "required": f"Enter how long {what} took, in minutes",
            "invalid": "Duration must be a whole number of minutes",
            "min_value": "Duration must be at least 1 minute",
            "max_value": f"Duration must be {most_said or f'{most} minutes'} or less",
        },
        **kwargs,
    )


@contextmanager
def refusal_shown_on(form: forms.BaseForm, field: str | None = None) -> Iterator[None]:
    """A service's refusal (ValidationError) in the block becomes the form's own error, shown above its
    fields (or `field`'s error, beside it), and the block stops there: the view goes on to show the form
    again. The block is the service call and what follows its success (message, redirect)."""
    try:
        yield
    except ValidationError as error:
        form.add_error(field, error)


class SignInForm(AuthenticationForm):
    """Email and password. The field keeps Django's name `username` so that django-axes sees it."""

    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    error_messages = {
        "invalid_login": "Enter a correct email address and password. After 5 failed attempts the account is locked for 30 minutes.",
        "inactive": "This account has been deactivated. Ask your PCN administrator.",
    }


class TokenForm(forms.Form):
    """A six-digit code from the authenticator app, checked against one device."""

    token = forms.CharField(
        label="Security code",
        help_text="The 6-digit code shown in your authenticator app",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]*",
                "autofocus": True,
            }
        ),
    )

    def __init__(self, *args: Any, device: TOTPDevice, **kwargs: Any) -> None:
        self.device = device
        super().__init__(*args, **kwargs)

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError("Enter the 6 digits from your authenticator app.")
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes. Wait a minute, then try the newest code.")
        if not self.device.verify_token(token):
            raise forms.ValidationError(
                "That code is not right or has expired. Enter the newest code from your app."
            )
        return token


class AuditFilterForm(forms.Form):
    nhs_number = forms.CharField(
        label="Patient's NHS number",
        required=False,
        max_length=14,
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10", "inputmode": "numeric"}),
    )
    user = forms.ModelChoiceField(label="User", queryset=User.objects.all(), required=False)
    date_from = forms.DateField(
        label="From (date)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To (date, inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_nhs_number(self) -> str:
        value = normalise(self.cleaned_data["nhs_number"])
        if value:
            validate_nhs_number(value)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be the same as or after the start date.")
        return data
