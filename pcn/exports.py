"""Escaping for every spreadsheet export (CSV now, XLSX later) against formula injection.

A cell that starts with = + - @ or a tab/carriage return is run as a formula by Excel and
LibreOffice (OWASP "CSV Injection"; CWE-1236). Such text cells are prefixed with a single quote,
which spreadsheets show as text. Numbers are left as numbers.
"""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

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


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_download(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    """A streamed CSV attachment; every row is escaped against formula injection (header as given)."""

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(csv_safe(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
