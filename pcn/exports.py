"""Escaping for every spreadsheet export (CSV now, XLSX later) against formula injection.

A cell that starts with = + - @ or a tab/carriage return is run as a formula by Excel and
LibreOffice (OWASP "CSV Injection"; CWE-1236). Such text cells are prefixed with a single quote,
which spreadsheets show as text. Numbers are left as numbers.
"""

from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell_safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_safe(row: Iterable[Any]) -> list[Any]:
    return [cell_safe(value) for value in row]
