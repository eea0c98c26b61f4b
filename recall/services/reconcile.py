"""Reconciling the recall year with the GP record: a "recall dates" file (an EMIS or SystmOne search
exported as CSV or XLSX) tells, per patient, the dates already coded there.

Columns: the NHS number ("NHS number", "NHS_Number", "NHS No"), and any of `last_review_<register key>`,
`last_invited_<register key>` and `pca_<register key>` (for example `last_review_diabetes`); other
columns are ignored and listed. Dates dd/mm/yyyy, yyyy-mm-dd or EMIS dd-Mon-yyyy (XLSX date cells too).
A blank cell means the GP record shows none.

For each patient (at one of the importer's practices) and each register the file has a column for,
the current QOF year's entry records what the GP record says (gp_last_review_on, gp_last_invited_on,
gp_pca_on) and when it was checked (gp_checked_on, today): the coding discrepancies page compares them
with what was done here. A last review inside the current QOF year closes an open entry as seen
(seen_source "gp_record"): the review is done, whoever did it.

Checks, each a row error naming the row (the row is not applied; the others are): a control character
in a cell (shown escaped), an NHS number that is not valid, a date that is not a date or is in the
future, a patient who is not at one of the importer's practices (the same words whether or not the
NHS number is known elsewhere). A file-level problem (no NHS number column, no recall column, a
register key that is not a register's, a control character in a heading) rejects the whole file.

Bulk: one query for the patients, one for the entries, one UPDATE for all of them (PostgreSQL), two
for the audit event. bench/recall.py times 5,000 rows.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from caseload.models import Patient
from caseload.services.import_files import (
    CONTROL_CHARACTER,
    FileRejected,
    RowError,
    control_cells,
    escape_control,
    file_rows,
    heading_key,
    headings_check,
)
from pcn.audit import audit
from pcn.models import User
from pcn.nhs_number import format_nhs_number, nhs_number_problem, normalise
from recall.models import RecallEntry, Register, qof_year, year_bounds, year_label

NHS_HEADINGS = {"nhs number", "nhs_number", "nhs no", "nhs no.", "nhs"}
KINDS = {"last_review": "gp_last_review_on", "last_invited": "gp_last_invited_on", "pca": "gp_pca_on"}
_RECALL_HEADING = re.compile(r"(last_review|last_invited|pca)_(.+)")
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%b-%Y")
DATE_WORDS = "dd/mm/yyyy, yyyy-mm-dd or dd-Mon-yyyy"
NOT_YOURS = "no patient with this NHS number at your practices"
ERRORS_KEPT = 1000  # row errors the result lists (the counts count them all)


@dataclass(frozen=True)
class RecallColumn:
    index: int
    heading: str
    field: str  # the entry's gp_… field
    register: Register


@dataclass
class RecallDatesResult:
    rows: int = 0
    matched: int = 0  # rows applied: a valid row for a patient at one of the importer's practices
    entries_updated: int = 0
    reviews_closed: int = 0
    not_on_register: int = 0  # dates for a register the patient has no entry on this year
    invalid_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    registers: list[str] = field(default_factory=list)
    year: int = 0

    @property
    def year_label(self) -> str:
        return year_label(self.year)


def _parse_date(value: Any, today: date) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            return None
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt).date()  # noqa: DTZ007 — a date, no time zone
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"not a date in the form {DATE_WORDS}")
    if parsed > today:
        raise ValueError("the date is in the future")
    if parsed.year < 1900:
        raise ValueError("the date is before 1900")
    return parsed


def _nhs_number(value: Any) -> str:
    text = normalise(str(value or ""))
    if problem := nhs_number_problem(text):
        raise ValueError(problem)
    return text


def _columns(header: list[Any], result: RecallDatesResult) -> tuple[int, list[RecallColumn]]:
    headings_check(header)
    keys = [heading_key(cell if isinstance(cell, str) else str(cell or "")) for cell in header]
    nhs = [index for index, key in enumerate(keys) if key in NHS_HEADINGS]
    if not nhs:
        raise FileRejected("The file has no NHS number column: name one “NHS number”.")
    registers = {register.key: register for register in Register.objects.all()}
    columns, unknown = [], []
    for index, key in enumerate(keys):
        match = _RECALL_HEADING.fullmatch(key.replace(" ", "_"))
        if index == nhs[0]:
            continue
        if match is None:
            if key:
                result.ignored_columns.append(str(header[index]).strip()[:100])
            continue
        register = registers.get(match[2])
        if register is None:
            unknown.append(str(header[index]).strip()[:100])
        else:
            columns.append(RecallColumn(index, str(header[index]).strip(), KINDS[match[1]], register))
    if unknown:
        raise FileRejected(
            "These columns name no register: " + ", ".join(f"“{heading}”" for heading in unknown)
            + ". Register keys: " + ", ".join(sorted(registers)) + "."
        )  # fmt: skip
    if not columns:
        raise FileRejected(
            "The file has no recall columns: name them last_review_<register>, last_invited_<register> "
            "or pca_<register>, for example last_review_diabetes."
        )
    result.registers = sorted({column.register.name for column in columns})
    return nhs[0], columns


def _cell(cells: list[Any], index: int) -> Any:
    return cells[index] if index < len(cells) else ""


def _read(
    rows: Iterator[list[Any]], result: RecallDatesResult, *, today: date, max_rows: int
) -> tuple[list[RecallColumn], dict[str, tuple[int, dict[tuple[int, str], date | None]]]]:
    """Every valid row as NHS number → (first row, {(register id, field): date or None})."""
    header = next(rows, None)
    if header is None or not any(str(cell or "").strip() for cell in header):
        raise FileRejected("The first row must hold the column headings.")
    nhs_index, columns = _columns(header, result)
    found: dict[str, tuple[int, dict[tuple[int, str], date | None]]] = {}
    for number, cells in enumerate(rows, start=2):
        if not any(str(cell or "").strip() for cell in cells):
            continue
        result.rows += 1
        if result.rows > max_rows:
            raise FileRejected(
                f"The file has more than {max_rows:,} rows. Split it, or ask an administrator to import it with "
                "manage.py import_recall_dates."
            )
        errors = [
            RowError(
                number,
                str(_cell(header, i)).strip(),
                escape_control(cells[i].strip())[:100],
                CONTROL_CHARACTER,
            )
            for i in control_cells(cells)
        ]
        values: dict[tuple[int, str], date | None] = {}
        nhs_number = ""
        if not errors:
            try:
                nhs_number = _nhs_number(_cell(cells, nhs_index))
            except ValueError as problem:
                raw = str(_cell(cells, nhs_index))[:100]
                errors.append(RowError(number, str(header[nhs_index]).strip(), raw, str(problem)))
            for column in columns:
                try:
                    values[column.register.pk, column.field] = _parse_date(_cell(cells, column.index), today)
                except ValueError as problem:
                    raw = str(_cell(cells, column.index))[:100]
                    errors.append(RowError(number, column.heading, raw, str(problem)))
        if errors:
            result.invalid_rows += 1
            result.errors.extend(errors)
            continue
        earlier = found.get(nhs_number)
        if earlier is not None:  # the same patient again: the later date of each column wins
            for key, value in values.items():
                before = earlier[1].get(key)
                earlier[1][key] = max(filter(None, (before, value)), default=None)
        else:
            found[nhs_number] = (number, values)
    return columns, found


def recall_dates_import(
    *, path: Path, by: User, max_rows: int | None = None, today: date | None = None
) -> RecallDatesResult:
    """Read a recall dates file and reconcile the current QOF year's entries of the importer's patients
    with it. Raises FileRejected for a problem with the whole file (nothing is changed). `max_rows`:
    the web page's limit (RECALL_DATES_MAX_ROWS); the command allows IMPORT_MAX_ROWS."""
    today = today or timezone.localdate()
    result = RecallDatesResult(year=qof_year(today))
    rows = file_rows(path, max_bytes=settings.IMPORT_MAX_UPLOAD_MB * 1_048_576)
    columns, found = _read(rows, result, today=today, max_rows=max_rows or settings.IMPORT_MAX_ROWS)
    patients = {
        nhs: pk
        for nhs, pk in Patient.objects.filter(
            nhs_number__in=list(found), practice_id__in=by.practice_ids()
        ).values_list("nhs_number", "pk")
    }
    for nhs_number, (number, _) in found.items():
        if nhs_number not in patients:
            result.errors.append(RowError(number, "NHS number", format_nhs_number(nhs_number), NOT_YOURS))
            result.invalid_rows += 1
    result.errors.sort(key=lambda error: error.row)
    del result.errors[ERRORS_KEPT:]
    values = {patients[nhs]: found[nhs][1] for nhs in patients}
    result.matched = len(values)
    _apply(values, columns, result, today=today, by=by)
    return result


def recall_dates_upload(*, upload: UploadedFile, by: User) -> tuple[RecallDatesResult | None, str]:
    """An uploaded file (the web page): (the result, "") or (None, why the whole file was rejected).
    The copy on disk lasts only as long as the reconciliation (it holds patient data)."""
    with tempfile.NamedTemporaryFile(prefix="recall-dates-") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        handle.flush()
        try:
            return recall_dates_import(
                path=Path(handle.name), by=by, max_rows=settings.RECALL_DATES_MAX_ROWS
            ), ""
        except FileRejected as rejected:
            return None, rejected.message


SAVED = ("gp_last_review_on", "gp_last_invited_on", "gp_pca_on", "state", "seen_on", "seen_source")


def _entries_save(entries: list[RecallEntry], *, today: date) -> None:
    """One UPDATE … FROM unnest(…) on PostgreSQL (Django's bulk_update builds a CASE per row and field:
    9 s for 5,000 rows, against 0.1 s); bulk_update elsewhere (SQLite, the try-it-out default)."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        for entry in entries:
            entry.updated_at = now
        RecallEntry.objects.bulk_update(entries, [*SAVED, "gp_checked_on", "updated_at"], batch_size=500)
        return
    columns = [
        [entry.pk for entry in entries],
        *([getattr(entry, name) for entry in entries] for name in SAVED),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {RecallEntry._meta.db_table} e SET gp_last_review_on = v.review, gp_last_invited_on = v.invited,
                gp_pca_on = v.pca, state = v.state, seen_on = v.seen_on, seen_source = v.seen_source,
                gp_checked_on = %s, updated_at = %s
            FROM unnest(%s::bigint[], %s::date[], %s::date[], %s::date[], %s::text[], %s::date[], %s::text[])
                AS v(id, review, invited, pca, state, seen_on, seen_source)
            WHERE e.id = v.id
            """,  # noqa: S608 — the table name from _meta, every value a parameter
            [today, now, *columns],
        )


@transaction.atomic
def _apply(
    values: dict[int, dict[tuple[int, str], date | None]], columns: list[RecallColumn], result: RecallDatesResult,
    *, today: date, by: User,
) -> None:  # fmt: skip
    start, end = year_bounds(result.year)
    register_ids = sorted({column.register.pk for column in columns})
    entries = list(
        RecallEntry.objects.filter(
            year=result.year, patient_id__in=list(values), register_id__in=register_ids
        )
        .only("patient_id", "register_id", "state", "seen_on", "seen_source", *SAVED[:3])
        .select_for_update()
        .order_by("pk")
    )
    have = {(entry.patient_id, entry.register_id) for entry in entries}
    result.not_on_register = sum(
        1 for patient_id, cells in values.items() for register_id in register_ids
        if (patient_id, register_id) not in have
        and any(key[0] == register_id and value is not None for key, value in cells.items())
    )  # fmt: skip
    for entry in entries:
        cells = values[entry.patient_id]
        for (register_id, name), value in cells.items():
            if register_id == entry.register_id:
                setattr(entry, name, value)
        entry.gp_checked_on = today
        review = entry.gp_last_review_on
        if review is not None and start <= review <= end and entry.is_open:
            entry.state, entry.seen_on, entry.seen_source = (
                RecallEntry.State.SEEN, review, RecallEntry.SeenSource.GP_RECORD,
            )  # fmt: skip
            result.reviews_closed += 1
    _entries_save(entries, today=today)
    result.entries_updated = len(entries)
    audit(
        None, "recall.reconcile.import", sorted(values), user=by, year=result.year, rows=result.rows,
        matched=result.matched, entries=result.entries_updated, reviews_closed=result.reviews_closed,
        errors=result.invalid_rows,
    )  # fmt: skip
