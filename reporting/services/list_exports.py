"""Lists of patients as downloads: a saved search's result (Find patients or the recall worklist) and a
data-quality check's patients, as CSV or XLSX.

A `PatientList` is what is written, whether in the request (a small result) or in the background (over
REPORTING_EXPORT_BACKGROUND_ROWS rows, a `ReportExport`): its cover (title and details), its header and its
rows, read from the database in chunks (`.iterator(chunk_size=…)`) so that 100,000 rows are never held
at once. The XLSX is written in openpyxl's write-only mode (pcn.exports.xlsx_write) and every cell of
either format is formula-escaped (pcn.exports). A list is always read in its maker's scope: a search
holds filters, never patients, and the patients are those of the practices the user has now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from caseload.services.patients import PATIENT_EXPORT_FIELDS, PATIENT_EXPORT_HEADER, patient_export_line
from pcn.exports import csv_safe, xlsx_write
from pcn.models import Practice, User
from pcn.nhs_number import format_nhs_number
from recall.models import RecallEntry
from reporting.models import ReportExport, SavedSearch, list_filename
from reporting.services.data_quality import (
    CHECKS,
    CSV_HEADER,
    Check,
    data_quality_csv_row,
    data_quality_patients,
)
from reporting.services.saved_searches import filters_described, saved_search_filter

CHUNK_ROWS = 2000  # rows read from the database at a time (and how often the progress is saved)
SEARCH_LIMIT = 100_000  # as Find patients' own CSV
DATA_QUALITY_LIMIT = 50_000  # one check's list to fix, as the coding discrepancies CSV
WORKLIST_FIELDS = (
    "patient_id", "patient__nhs_number", "patient__family_name", "patient__given_name", "register__name",
    "due_month", "state",
)  # fmt: skip
WORKLIST_HEADER = ["NHS number", "Name", "Register", "Due month", "State"]
_STATES = dict(RecallEntry.State.choices)


class ListRefused(Exception):
    """The list cannot be made for its maker now (the search deleted, unshared, or naming a practice
    they have left): the download fails with this message."""


def _worklist_line(row: tuple[Any, ...]) -> list[Any]:
    _, nhs, family, given, register, due, state = row
    name = ", ".join(part for part in (family.upper(), given) if part) or "Name not known"
    return [format_nhs_number(nhs), name, register, f"{due:%B %Y}", _STATES.get(state, state)]


@dataclass
class PatientList:
    """A list to write. `read()` yields (patient id, line) for each row, in chunks from the database;
    `audit_action` and `audit_detail` are what its download is audited as, with the patients read."""

    kind: str  # ReportExport.Kind
    key: str  # the saved search's kind, or the check's key
    title: str  # the cover's first line
    label: str  # the download's name: the search's name, the check's label
    details: list[tuple[str, Any]]  # the cover's lines
    header: list[str]
    queryset: QuerySet[Any]
    line: Callable[[Any], list[Any]]
    patient_id: Callable[[Any], int]
    limit: int
    audit_action: str
    audit_detail: dict[str, Any]

    def count(self) -> int:
        return min(self.queryset.count(), self.limit)

    def read(self, *, step: Callable[[int], None] = lambda done: None) -> Iterator[tuple[int, list[Any]]]:
        """Each row's patient id and line, calling `step(rows read so far)` after each chunk."""
        done = 0
        for done, row in enumerate(self.queryset[: self.limit].iterator(chunk_size=CHUNK_ROWS), start=1):
            yield self.patient_id(row), self.line(row)
            if done % CHUNK_ROWS == 0:
                step(done)
        step(done)

    def filename(self, format: str, *, on: date) -> str:
        return list_filename(kind=self.kind, key=self.key, label=self.label, on=on, format=format)


def _practice_names(user: User, practice_ids: Any = None) -> str:
    ids = user.practice_ids() if practice_ids is None else set(practice_ids) & user.practice_ids()
    return ", ".join(Practice.objects.filter(pk__in=ids).order_by("name").values_list("name", flat=True))


def saved_search_list(*, search: SavedSearch, user: User) -> PatientList:
    """The search's result in `user`'s scope, as its list page shows it (ValidationError if refused)."""
    filters = saved_search_filter(search=search, user=user)
    described = "; ".join(f"{label}: {words}" for label, words in filters_described(filters))
    details = [
        ("What", f"{search.get_kind_display()}, saved search “{search.name}”"),
        ("Filters", described or "None: everyone on the list"),
        ("Practices", _practice_names(user)),
    ]
    detail = {"saved_search": search.pk}
    if search.kind == SavedSearch.Kind.PATIENTS:
        return PatientList(
            ReportExport.Kind.SAVED_SEARCH, search.kind, f"Saved search: {search.name}", search.name, details,
            PATIENT_EXPORT_HEADER, filters.qs.values_list(*PATIENT_EXPORT_FIELDS), patient_export_line,
            lambda row: row[0], SEARCH_LIMIT, "patient.export", {"filters": search.query, **detail},
        )  # fmt: skip
    return PatientList(
        ReportExport.Kind.SAVED_SEARCH, search.kind, f"Saved search: {search.name}", search.name, details,
        WORKLIST_HEADER, filters.qs.values_list(*WORKLIST_FIELDS), _worklist_line, lambda row: row[0],
        SEARCH_LIMIT, "report.saved_search.download", detail,
    )  # fmt: skip


def data_quality_list(*, check: Check, user: User, practice_ids: list[int], today: date) -> PatientList:
    """The patients failing `check` at those of `practice_ids` that `user` has now, with the fix."""
    patients = data_quality_patients(check=check, user=user, practice_ids=practice_ids, today=today)
    details = [
        ("What", f"Data quality: {check.label}"),
        ("The fix", check.fix),
        ("Practices", _practice_names(user, practice_ids)),
        ("As of", f"{today:%d/%m/%Y}"),
    ]
    return PatientList(
        ReportExport.Kind.DATA_QUALITY, check.key, f"Data quality: {check.label}", check.label, details,
        CSV_HEADER, patients, lambda patient: data_quality_csv_row(check, patient),
        lambda patient: patient.pk, DATA_QUALITY_LIMIT, "report.data_quality.export",
        {"check": check.key, "practices": sorted(practice_ids)},
    )  # fmt: skip


def export_list(export: ReportExport) -> PatientList:
    """The list a background download is of, read in its maker's scope now (ListRefused if it cannot)."""
    user = export.created_by
    if export.kind == ReportExport.Kind.DATA_QUALITY:
        if export.report_key not in CHECKS:
            raise ListRefused("This data-quality check no longer exists.")
        return data_quality_list(
            check=CHECKS[export.report_key], user=user, practice_ids=export.practice_ids,
            today=timezone.localdate(),
        )  # fmt: skip
    search = (
        SavedSearch.objects.visible_to(user).filter(pk=export.saved_search_id).first()
        if export.saved_search_id is not None
        else None
    )
    if search is None:
        raise ListRefused("The saved search has been deleted, or is no longer shared with you.")
    # The filters as they were asked for: the download shows what was asked, whatever was edited since.
    search.query = export.query
    try:
        return saved_search_list(search=search, user=user)
    except ValidationError as refused:
        raise ListRefused(
            "This search cannot be run for your practices: " + " ".join(refused.messages)
        ) from None


def list_csv_write(target: IO[bytes], patients: PatientList, *, step: Callable[[int], None]) -> list[int]:
    """The list as CSV (UTF-8 with a byte-order mark, which makes Excel read it as UTF-8); the patients
    written, for the audit."""
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
    writer, written = csv.writer(text), []
    writer.writerow(patients.header)
    for patient_id, line in patients.read(step=step):
        written.append(patient_id)
        writer.writerow(csv_safe(line))
    text.flush()
    text.detach()  # leave `target` open for whoever saves it
    return written


def list_xlsx_write(
    target: IO[bytes], patients: PatientList, *, by: User, step: Callable[[int], None]
) -> list[int]:
    """The list as XLSX: a cover sheet (what, the filters, the practices, who and when), then the rows,
    streamed in write-only mode; the patients written, for the audit."""
    written: list[int] = []

    def rows() -> Iterator[list[Any]]:
        for patient_id, line in patients.read(step=step):
            written.append(patient_id)
            yield line

    xlsx_write(target, [(patients.label, patients.header, rows())], title=patients.title, by=by,
               details=patients.details)  # fmt: skip
    return written


LIST_WRITERS: dict[str, Callable[..., list[int]]] = {
    ReportExport.Format.CSV: lambda target, patients, *, by, step: list_csv_write(
        target, patients, step=step
    ),
    ReportExport.Format.XLSX: list_xlsx_write,
}
