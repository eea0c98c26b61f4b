"""Escaping for every spreadsheet export (CSV and XLSX) against formula injection.

A cell that starts with = + - @ or a tab/carriage return is run as a formula by Excel and
LibreOffice (OWASP "CSV Injection"; CWE-1236). Such text cells are prefixed with a single quote,
which spreadsheets show as text. Numbers are left as numbers.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

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


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Characters an XLSX cell cannot hold (openpyxl refuses them): C0 controls other than tab, LF, CR.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_TITLE_ILLEGAL = re.compile(r"[\[\]:*?/\\]")


def xlsx_cell(value: Any) -> Any:
    """An XLSX cell: escaped like a CSV cell (cell_safe), dates kept as dates, control characters
    shown as \\xNN (an XLSX cell cannot hold them), decimals kept as numbers, and nothing (None or "") left an empty cell, which
    write-only mode does not write at all (a Find-patients list has many: no eFI under 65, no care home,
    no coordinator), rather than an empty string, which costs as much time as any other cell."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value  # a number (a risk score), not text
    if isinstance(value, date | datetime):
        return timezone.localtime(value).replace(tzinfo=None) if isinstance(value, datetime) else value
    value = cell_safe(value)
    if isinstance(value, str):
        return _XLSX_ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}", value)
    return value


def _sheet_title(title: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = _SHEET_TITLE_ILLEGAL.sub(" ", title).strip()[:31] or "Sheet"
    name, number = base, 2
    while name.casefold() in used:
        suffix = f" ({number})"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(name.casefold())
    return name


def xlsx_write(
    target: Any,
    sheets: Iterable[tuple[str, list[str], Iterable[Iterable[Any]]]],
    *,
    title: str,
    by: Any,
    details: Sequence[tuple[str, Any]] = (),
) -> None:
    """Write an XLSX workbook to `target` (a path or a binary file): a cover sheet (the title, `details`
    such as the QOF year, who made it and when) and one sheet per (title, header, rows). Write-only mode,
    so rows are streamed rather than held; every cell is escaped as a CSV cell is."""
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    cover = workbook.create_sheet(_sheet_title("About", used))
    cover.append([xlsx_cell(title)])
    for label, value in [
        *details,
        ("Made by", getattr(by, "full_name", "") or getattr(by, "email", "") or str(by)),
        ("Made at", timezone.localtime().strftime("%d/%m/%Y %H:%M")),
    ]:
        cover.append([xlsx_cell(label), xlsx_cell(value)])
    for sheet_title, header, rows in sheets:
        sheet = workbook.create_sheet(_sheet_title(sheet_title, used))
        sheet.append([xlsx_cell(heading) for heading in header])
        for row in rows:
            sheet.append([xlsx_cell(value) for value in row])
    workbook.save(target)


def xlsx_download(
    filename: str,
    sheets: Sequence[tuple[str, list[str], Iterable[Iterable[Any]]]],
    *,
    title: str,
    by: Any,
    details: Sequence[tuple[str, Any]] = (),
) -> HttpResponse:
    """An XLSX attachment (see `xlsx_write`)."""
    buffer = io.BytesIO()
    xlsx_write(buffer, sheets, title=title, by=by, details=details)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def back_to_filters(request: HttpRequest, page: str) -> HttpResponse:
    """A download asked for with filters in error: back to its page (`page`, a URL name) with the same
    filters, where the form says what to correct."""
    messages.error(request, "Correct the filters before downloading.")
    return redirect(reverse(page) + "?" + request.GET.urlencode())
