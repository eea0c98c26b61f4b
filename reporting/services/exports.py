"""Downloads made in the background: asking for one (a row, or the identical one already asked for),
making its file, and deleting it once it is older than REPORTING_EXPORT_KEEP_DAYS.

A report's file is CSV (one table), XLSX (a cover sheet, the figures, a sheet per breakdown) or PDF (a
cover, then a chart and a table per figure); a monthly pack is the same for several reports in one file.
Making it runs each figure's queries in turn, saving progress after each, so the download page can show
how far it has gone. A list of patients (a saved search's result, a data-quality check's patients:
reporting.services.list_exports) is written row by row to a temporary file, progress saved after each
chunk of rows, and audited with every patient in it when made. Every text cell of the spreadsheets is
formula-escaped (pcn.exports).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from pcn.audit import audit
from pcn.exports import csv_safe, xlsx_write
from pcn.models import Practice, User
from reporting.charts import paired_bars_svg
from reporting.models import PACK_KEY, ReportExport, SavedSearch
from reporting.periods import Period
from reporting.reports import REPORTS
from reporting.reports.base import Breakdown, FigureRow, Measure, Report, Value, report_run
from reporting.services.list_exports import LIST_WRITERS, ListRefused, PatientList, export_list


@dataclass
class ReportTables:
    """One report's numbers, ready to write: each figure (with one value per practice, in `practices`'
    order) and each breakdown's (label, count) rows."""

    report: Report
    period: Period
    practices: list[Practice]
    figures: list[tuple[FigureRow, list[Value]]]
    breakdowns: list[tuple[Measure, Breakdown, list[tuple[str, int]]]]

    @property
    def previous(self) -> Period:
        return self.period.previous()


def versions(report_keys: list[str]) -> str:
    """The definition version of a report, or of each report in a pack."""
    if len(report_keys) == 1:
        return REPORTS[report_keys[0]].version
    return ", ".join(REPORTS[key].version for key in report_keys)


def report_export_request(
    *, by: User, report_key: str, period: Period, practice_ids: list[int], format: str,
    pack_reports: list[str] | None = None,
) -> tuple[ReportExport, bool]:  # fmt: skip
    """The download asked for, and whether it is new (its task is then to be queued). The same user asking
    for the same report, period, practices, version and format again while one is waiting, being made, or
    was made in the last REPORTING_EXPORT_REUSE_MINUTES gets that one: the figures would be the same."""
    keys = (pack_reports or []) if report_key == PACK_KEY else [report_key]
    fields = {
        "created_by": by, "report_key": report_key, "pack_reports": keys if report_key == PACK_KEY else [],
        "version": versions(keys), "period_kind": period.kind.value, "period_start": period.start,
        "period_end": period.end, "practice_ids": sorted(practice_ids), "format": format,
    }  # fmt: skip
    total = sum(len(REPORTS[key].measures) for key in keys) + 1  # each figure, then writing the file
    return _reused_or_new(fields, progress_total=total)


def _reused_or_new(fields: dict[str, Any], *, progress_total: int) -> tuple[ReportExport, bool]:
    """The same download (`fields`) still waiting, being made, or made in the last
    REPORTING_EXPORT_REUSE_MINUTES; else a new one (True: its task is to be queued)."""
    fresh = timezone.now() - timedelta(minutes=settings.REPORTING_EXPORT_REUSE_MINUTES)
    reusable = (
        ReportExport.objects.filter(**fields)
        .filter(
            Q(state__in=[ReportExport.State.PENDING, ReportExport.State.RUNNING])
            | Q(state=ReportExport.State.READY, finished_at__gte=fresh)
        )
        .first()
    )
    if reusable is not None:
        return reusable, False
    return ReportExport.objects.create(**fields, progress_total=progress_total), True


def list_export_request(
    *, by: User, patients: PatientList, saved_search: SavedSearch | None, practice_ids: list[int],
    format: str, rows: int,
) -> tuple[ReportExport, bool]:  # fmt: skip
    """A list's download to make in the background (`rows`, counted when asked, is its progress bar's
    end), or the identical one asked for within the reuse window, and whether it is new."""
    fields = {
        "created_by": by, "kind": patients.kind, "report_key": patients.key, "label": patients.label,
        "saved_search": saved_search, "query": saved_search.query if saved_search else "",
        "practice_ids": sorted(practice_ids), "format": format,
    }  # fmt: skip
    return _reused_or_new(fields, progress_total=rows)


def report_tables(
    *, report: Report, period: Period, practice_ids: list[int], step: Callable[[], None] = lambda: None
) -> ReportTables:
    """A report's figures (this period and the one before, per practice) and breakdowns, one figure at a
    time, calling `step` after each."""
    practices = list(Practice.objects.filter(pk__in=practice_ids).order_by("name"))
    figures, breakdowns = [], []
    for measure in report.measures:
        row = report_run(
            report=dataclasses.replace(report, measures=(measure,)), period=period, practice_ids=practice_ids
        ).figures[0]
        missing = 0 if isinstance(measure, Measure) else None  # a count with no rows is 0; a median, none
        figures.append((row, [row.current.get(p.pk, missing) for p in practices]))
        if isinstance(measure, Measure):
            breakdowns += [
                (measure, b, measure.breakdown(b.key, period, practice_ids)) for b in measure.breakdowns
            ]
        step()
    return ReportTables(report, period, practices, figures, breakdowns)


def _label(measure: Any) -> str:
    return f"{measure.label} ({measure.unit.strip()})" if getattr(measure, "unit", "") else measure.label


def _breakdown_title(measure: Measure, breakdown: Breakdown) -> str:
    return f"{measure.label}, by {breakdown.label.lower()}"


def _figures_header(tables: ReportTables) -> list[str]:
    return [
        "Figure", f"All practices, {tables.period.label}", f"All practices, {tables.previous.label}",
        "Change", *(f"{p.name}, {tables.period.label}" for p in tables.practices),
    ]  # fmt: skip


def _figure_rows(tables: ReportTables) -> Iterator[list[Any]]:
    for row, by_practice in tables.figures:
        yield [_label(row.measure), row.total, row.previous_total, row.change, *by_practice]


def _csv(export: ReportExport, every: list[ReportTables]) -> bytes:
    """One table: a section, then the figure columns; each breakdown's rows follow, its title as section."""
    out = io.StringIO()
    writer = csv.writer(out)
    for tables in every:
        section = tables.report.title
        writer.writerow(csv_safe(["Section", *_figures_header(tables)]))
        for row in _figure_rows(tables):
            writer.writerow(csv_safe([section, *row]))
        for measure, breakdown, rows in tables.breakdowns:
            for label, count in rows:
                writer.writerow(csv_safe([_breakdown_title(measure, breakdown), label, count]))
    return out.getvalue().encode("utf-8-sig")  # the byte-order mark makes Excel read it as UTF-8


def _details(export: ReportExport, every: list[ReportTables]) -> list[tuple[str, Any]]:
    first = every[0]
    details: list[tuple[str, Any]] = []
    if len(every) == 1:
        details.append(("Question", first.report.question))
    else:
        details.append(("Reports", ", ".join(t.report.title for t in every)))
    return [
        *details,
        ("Definition version", export.version),
        ("Period", first.period.label),
        ("Compared with", first.previous.label),
        ("Practices", ", ".join(p.name for p in first.practices)),
    ]


def _xlsx(export: ReportExport, every: list[ReportTables]) -> bytes:
    def sheets() -> Iterator[tuple[str, list[str], Any]]:
        for tables in every:
            prefix = f"{tables.report.title} " if len(every) > 1 else ""
            yield f"{prefix}Figures", _figures_header(tables), _figure_rows(tables)
            for measure, breakdown, rows in tables.breakdowns:
                title = _breakdown_title(measure, breakdown)
                yield f"{prefix}{title}", [title, "Number"], rows

    buffer = io.BytesIO()
    title = export.title if len(every) > 1 else every[0].report.title
    xlsx_write(buffer, sheets(), title=title, by=export.created_by, details=_details(export, every))
    return buffer.getvalue()


def _pdf_report(tables: ReportTables) -> dict[str, Any]:
    figures = []
    for row, by_practice in tables.figures:
        unit = getattr(row.measure, "unit", "")
        missing = 0 if isinstance(row.measure, Measure) else None
        before = [row.previous.get(p.pk, missing) for p in tables.practices]
        names = [p.name for p in tables.practices]
        bars = [
            ("All practices", row.total, row.previous_total),
            *zip(names, by_practice, before, strict=True),
        ]
        chart = paired_bars_svg(
            bars, current=tables.period.label, previous=tables.previous.label, unit=unit,
            title=f"{row.measure.label}: {tables.period.label} against {tables.previous.label}",
        )  # fmt: skip
        figures.append({"row": row, "unit": unit, "chart": chart, "bars": bars})
    return {"tables": tables, "figures": figures}


def _pdf(export: ReportExport, every: list[ReportTables]) -> bytes:
    html = render_to_string(
        "pdf/report_export.html",
        {
            "export": export,
            "title": export.title if len(every) > 1 else every[0].report.title,
            "period": every[0].period,
            "details": _details(export, every),
            "made_by": export.created_by.full_name or export.created_by.email,
            "made_at": timezone.localtime(),
            "reports": [_pdf_report(tables) for tables in every],
        },
    )
    return HTML(string=html).write_pdf()


WRITERS: dict[str, Callable[[ReportExport, list[ReportTables]], bytes]] = {
    ReportExport.Format.CSV: _csv,
    ReportExport.Format.XLSX: _xlsx,
    ReportExport.Format.PDF: _pdf,
}


def _claim(export: ReportExport) -> ReportExport | None:
    """Mark the export as being made; None when there is nothing to do (made already, or failed: a new
    request makes a new one). A running export is started again: its worker died and the task came back."""
    with transaction.atomic():
        export = ReportExport.objects.select_for_update().select_related("created_by").get(pk=export.pk)
        if export.state not in (ReportExport.State.PENDING, ReportExport.State.RUNNING):
            return None
        export.state, export.progress_done, export.error = ReportExport.State.RUNNING, 0, ""
        export.save(update_fields=["state", "progress_done", "error"])
    return export


def _failed(export: ReportExport, error: Exception) -> None:
    ReportExport.objects.filter(pk=export.pk).update(
        state=ReportExport.State.FAILED, error=str(error)[:300] or type(error).__name__,
        finished_at=timezone.now(),
    )  # fmt: skip


def _ready(export: ReportExport, content: File) -> ReportExport:
    export.file.save(export.filename, content, save=False)
    export.state, export.progress_done = (
        ReportExport.State.READY,
        max(export.progress_done, export.progress_total),
    )
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "state", "progress_done", "progress_total", "finished_at"])
    return export


def report_export_render(*, export: ReportExport) -> ReportExport:
    """Make the export's file (safe to run twice: a ready, failed or expired export is left as it is)."""
    claimed = _claim(export)
    if claimed is None:
        export.refresh_from_db()
        return export
    if claimed.is_list:
        return _list_render(claimed)
    export = claimed
    # Practices the user has left since asking are left out: the file shows only what they may see now.
    practice_ids = sorted(set(export.practice_ids) & export.created_by.practice_ids())
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        ReportExport.objects.filter(pk=export.pk).update(progress_done=done)

    try:
        period = export.period
        if period is None:
            raise ValueError("A report download has a period.")
        every = [
            report_tables(report=REPORTS[key], period=period, practice_ids=practice_ids, step=step)
            for key in export.report_keys
        ]
        content = WRITERS[export.format](export, every)
    except Exception as error:
        _failed(export, error)
        raise
    return _ready(export, ContentFile(content))


def _list_render(export: ReportExport) -> ReportExport:
    """Write the list row by row to a temporary file (never all of it in memory), then keep it; audited,
    as the same download made in a request is, with every patient in it."""

    def step(done: int) -> None:
        export.progress_done = done
        ReportExport.objects.filter(pk=export.pk).update(progress_done=done)

    with tempfile.TemporaryFile() as target:
        try:
            patients = export_list(export)
            written = LIST_WRITERS[export.format](target, patients, by=export.created_by, step=step)
        except ListRefused as refused:
            _failed(export, refused)
            export.refresh_from_db()
            return export  # nothing to retry: the maker may ask again once it can be run
        except Exception as error:
            _failed(export, error)
            raise
        export.progress_total = len(written)
        target.seek(0)
        export = _ready(export, File(target))
    audit(None, patients.audit_action, written, user=export.created_by, export_id=export.pk,
          format=export.format, rows=len(written), **patients.audit_detail)  # fmt: skip
    return export


def report_exports_expire(*, now: datetime) -> int:
    """Delete the files of downloads made more than REPORTING_EXPORT_KEEP_DAYS ago, keeping each row marked
    expired (its page says so, and how to make it again); how many. Safe to run twice: each row is
    locked and moved on from ready before its file is deleted, after the commit."""
    before = now - timedelta(days=settings.REPORTING_EXPORT_KEEP_DAYS)
    old = ReportExport.objects.filter(state=ReportExport.State.READY, finished_at__lt=before)
    expired = 0
    for pk in old.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            export = old.select_for_update().filter(pk=pk).first()
            if export is None:
                continue  # expired meanwhile
            name, storage = export.file.name, export.file.storage
            ReportExport.objects.filter(pk=pk).update(
                state=ReportExport.State.EXPIRED, file="", expired_at=now
            )
            if name:
                transaction.on_commit(partial(storage.delete, name))
            expired += 1
    return expired
