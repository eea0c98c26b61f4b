"""Template filters used across every app (loaded as a builtin)."""

from datetime import date
from typing import Any

from django import template

from pcn.nhs_number import format_nhs_number

register = template.Library()


@register.filter(name="nhs_number")
def nhs_number_filter(value: str | None) -> str:
    """'9990000018' → '999 000 0018'."""
    return format_nhs_number(value) if value else ""


@register.filter(name="age_on")
def age_on(patient: Any, on: date) -> int | str:
    """A patient's age in whole years on a date: {{ patient|age_on:today }}."""
    return patient.age(on) if patient and on else ""
