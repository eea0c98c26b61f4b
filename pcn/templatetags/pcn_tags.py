"""Template filters used across every app (loaded as a builtin)."""

from django import template

from pcn.nhs_number import format_nhs_number

register = template.Library()


@register.filter(name="nhs_number")
def nhs_number_filter(value: str | None) -> str:
    """'9990000018' → '999 000 0018'."""
    return format_nhs_number(value) if value else ""
