"""The NHS number: validation, normalisation, display, synthetic generation, and Django fields.

Rule (NHS Data Dictionary, DOMAIN.md): 10 digits; multiply digits 1-9 by weights 10..2 and sum;
check = 11 - (sum mod 11); a check of 11 becomes 0; a check of 10 means the number is invalid;
the check must equal digit 10. Stored as 10 digits, shown 3-3-4 ("999 000 0018").
999 000 0000-999 999 9999 is the test range: valid numbers that are never issued. All synthetic
data in this project comes from that range.

One more rule, as the reference package `nhs-number` 2.2 applies it (its issue #25): numbers in the
Scottish CHI range 010 000 0000-311 299 9999 encode the date of birth as DDMMYY in their first six
digits, so a number there whose first six digits are not a real date is not a valid number.
"""

import random
import re
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

_SEPARATORS = re.compile(r"[\s-]")
_WEIGHTS = range(10, 1, -1)
TEST_RANGE_PREFIX = "999"
CHI_RANGE = (100_000_000, 3_112_999_999)


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when the number cannot be valid (check value 10)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_impossible_chi_date(digits: str) -> bool:
    """True for a number in the CHI range whose first six digits are not a DDMMYY date.

    Two-digit years pivot as Python's %y does (00-68 → 2000s, 69-99 → 1900s), as the package does.
    """
    if not CHI_RANGE[0] <= int(digits) <= CHI_RANGE[1]:
        return False
    day, month, year = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    try:
        date(2000 + year if year <= 68 else 1900 + year, month, day)
    except ValueError:
        return True
    return False


def normalise(value: str) -> str:
    """Strip the spaces and hyphens people type ("999 000 0018", "999-000-0018")."""
    return _SEPARATORS.sub("", value or "")


def is_valid(value: str) -> bool:
    """True when `value` (digits, or digits with spaces/hyphens) is a valid NHS number."""
    digits = normalise(value)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    return check_digit(digits[:9]) == int(digits[9]) and not is_impossible_chi_date(digits)


def format_nhs_number(value: str) -> str:
    """Show a stored number the NHS way: 3-3-4 with spaces. Anything else is returned as it is."""
    digits = normalise(value)
    if len(digits) != 10 or not digits.isdigit():
        return value
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def synthetic(rng: random.Random) -> str:
    """A valid NHS number from the 999 test range, drawn from `rng` (deterministic for a seeded rng)."""
    while True:
        first_nine = TEST_RANGE_PREFIX + f"{rng.randrange(1_000_000):06d}"
        check = check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


def synthetic_sequence(start: int = 0):
    """Every valid test-range number in order from 999 + `start`: unique numbers for bulk seeding."""
    for serial in range(start, 1_000_000):
        first_nine = TEST_RANGE_PREFIX + f"{serial:06d}"
        check = check_digit(first_nine)
        if check is not None:
            yield first_nine + str(check)


def validate_nhs_number(value: str) -> None:
    """Django validator: a clear message for each way a number can be wrong."""
    digits = normalise(value)
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError("Enter an NHS number using digits only, like 999 000 0018.", code="not_digits")
    if len(digits) != 10:
        raise ValidationError("An NHS number has 10 digits.", code="length")
    if check_digit(digits[:9]) != int(digits[9]):
        raise ValidationError(
            "This is not a valid NHS number: the check digit does not match. Check it for typing errors.",
            code="check_digit",
        )
    if is_impossible_chi_date(digits):
        raise ValidationError(
            "This is not a valid NHS number: numbers starting like this are Scottish CHI numbers, "
            "which begin with a date of birth. Check it for typing errors.",
            code="chi_date",
        )


def nhs_number_problem(value: str) -> str:
    """What is wrong with `value` as an NHS number, as a file's error report says it ("the NHS number is
    missing", or validate_nhs_number's message); "" when it is a valid one."""
    if not value:
        return "the NHS number is missing"
    try:
        validate_nhs_number(value)
    except ValidationError as error:
        return error.messages[0]
    return ""


class NHSNumberFormField(forms.CharField):
    """Accepts '999 000 0018', '999-000-0018' or '9990000018'; cleans to ten digits."""

    default_validators = [validate_nhs_number]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 14)
        kwargs.setdefault("help_text", "10 digits, for example 999 000 0018")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "numeric")
        self.widget.attrs.setdefault("autocomplete", "off")
        self.widget.attrs.setdefault("spellcheck", "false")

    def to_python(self, value: Any) -> str:
        return normalise(super().to_python(value))

    def prepare_value(self, value: Any) -> Any:
        return format_nhs_number(value) if isinstance(value, str) else value


class NHSNumberField(models.CharField):
    """Stored as exactly ten digits; validated with the modulus-11 check."""

    default_validators = [validate_nhs_number]
    description = "NHS number"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_length"] = 10
        kwargs.setdefault("verbose_name", "NHS number")
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return normalise(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return normalise(value) if isinstance(value, str) else value

    def formfield(self, **kwargs: Any) -> forms.Field:
        kwargs.setdefault("form_class", NHSNumberFormField)
        return super().formfield(**kwargs)
