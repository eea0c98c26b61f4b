"""The call/recall report: per register and practice, a QOF year; by due month; CSV and XLSX."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from pcn.audit import audit
from pcn.exports import back_to_filters, csv_download, xlsx_download
from pcn.pagination import query_without
from pcn.permissions import Perm, permission_required
from recall.forms.report import RecallReportForm
from recall.models import RecallEntry, year_label
from recall.services.report import (
    FIGURES,
    MONTH_COLUMNS,
    MONTH_HEADER,
    PAGE_COLUMNS,
    REPORT_HEADER,
    RecallReport,
    recall_report,
)


def _report(request: HttpRequest, form: RecallReportForm) -> RecallReport | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    return recall_report(
        user=request.user,  # type: ignore[arg-type]
        year=data["year"], today=timezone.localdate(), practice=data["practice"], register=data["register"],
    )  # fmt: skip


def _detail(form: RecallReportForm) -> dict[str, str]:
    data = form.cleaned_data
    practice, register = data["practice"], data["register"]
    return {"year": year_label(data["year"]), "practice": practice.ods_code if practice else "all",
            "register": register.key if register else "all"}  # fmt: skip


def _download(
    request: HttpRequest, respond: Callable[[HttpRequest, RecallReportForm, RecallReport], HttpResponse]
) -> HttpResponse:
    """A download of the report, as `respond` makes it; with the filters in error, back to the report
    page saying so."""
    form = RecallReportForm(request.GET, user=request.user)  # type: ignore[arg-type]
    report = _report(request, form)
    if report is None:
        return back_to_filters(request, "recall:report")
    return respond(request, form, report)


@permission_required(Perm.VIEW_PATIENTS)
def report_view(request: HttpRequest) -> HttpResponse:
    """The figures a coordinator hands to a practice (aggregate: no patient is listed or audited)."""
    form = RecallReportForm(request.GET, user=request.user)  # type: ignore[arg-type]
    report = _report(request, form)
    if report is not None:
        audit(request, "recall.report.view", **_detail(form))
    return render(
        request,
        "recall/report.html",
        {"form": form, "report": report, "figures": FIGURES, "columns": PAGE_COLUMNS, "month_columns": MONTH_COLUMNS,
         "pca_reasons": RecallEntry.PcaReason.labels, "query_string": query_without(request, "table")},
    )  # fmt: skip


@permission_required(Perm.VIEW_PATIENTS)
def report_csv_view(request: HttpRequest) -> HttpResponse:
    """The register × practice table as CSV; `table=month` the by-month table."""
    return _download(request, _csv)


@permission_required(Perm.VIEW_PATIENTS)
def report_xlsx_view(request: HttpRequest) -> HttpResponse:
    """Both tables as a workbook, with a cover sheet saying what it is, who made it and when."""
    return _download(request, _xlsx)


def _csv(request: HttpRequest, form: RecallReportForm, report: RecallReport) -> HttpResponse:
    by_month = request.GET.get("table") == "month"
    audit(
        request,
        "recall.report.export",
        format="csv",
        table="month" if by_month else "register",
        **_detail(form),
    )
    name = f"recall-report-{year_label(report.year).replace('/', '-')}{'-by-month' if by_month else ''}.csv"
    if by_month:
        return csv_download(name, MONTH_HEADER, report.month_rows())
    return csv_download(name, REPORT_HEADER, report.csv_rows())


def _xlsx(request: HttpRequest, form: RecallReportForm, report: RecallReport) -> HttpResponse:
    detail = _detail(form)
    audit(request, "recall.report.export", format="xlsx", **detail)
    sheets = [("By register and practice", REPORT_HEADER, report.csv_rows()),
              ("By due month", MONTH_HEADER, report.month_rows())]  # fmt: skip
    register = form.cleaned_data["register"]
    details = [("QOF year", detail["year"]), ("Practices", ", ".join(p.name for p in report.practices)),
               ("By due month", register.name if register else "All registers"),
               ("Due so far", f"Due in or before {report.month:%B %Y}")]  # fmt: skip
    name = f"recall-report-{year_label(report.year).replace('/', '-')}.xlsx"
    return xlsx_download(name, sheets, title="Call/recall report", by=request.user, details=details)
