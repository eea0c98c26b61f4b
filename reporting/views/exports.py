"""Downloads: asking for a report's from its page (made in the background), a list's (a saved search's
result, a data-quality check's patients: sent in the request when small, else made in the background),
a download's page (progress, then the link; or that it has expired), the file, and the list of a user's
downloads (the monthly pack's too).

A download is its maker's alone: anyone else, or its maker once they have left one of its practices,
gets 404. Asking for one and fetching its file are audited.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pcn.audit import audit
from pcn.exports import XLSX_CONTENT_TYPE, csv_download, xlsx_download
from pcn.models import Practice
from pcn.permissions import Perm, permission_required
from reporting.forms import ReportExportForm, ReportPeriodForm
from reporting.models import ReportExport, SavedSearch
from reporting.reports import REPORTS
from reporting.services.exports import list_export_request, report_export_request
from reporting.services.list_exports import PatientList
from reporting.tasks import report_export_enqueue

EXPORTS_PER_PAGE = 25
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_CONTENT_TYPE, "pdf": "application/pdf"}


def _export_for(request: HttpRequest, pk: int) -> ReportExport:
    export = get_object_or_404(ReportExport.objects.made_by(request.user), pk=pk)
    if not set(export.practice_ids) <= request.user.practice_ids():  # type: ignore[union-attr]
        raise Http404("No such download")
    return export


def _audit_detail(export: ReportExport) -> dict[str, object]:
    if export.is_list:
        return {"export_id": export.pk, "kind": export.kind, "list": export.report_key, "format": export.format,
                "saved_search": export.saved_search_id, "practices": export.practice_ids}  # fmt: skip
    return {"export_id": export.pk, "report": export.report_key, "format": export.format,
            "version": export.version, "period": export.period.label, "practices": export.practice_ids}  # fmt: skip


def list_download(
    request: HttpRequest, patients: PatientList, *, format: str, practice_ids: list[int],
    saved_search: SavedSearch | None = None,
) -> HttpResponse:  # fmt: skip
    """A list as CSV or XLSX: over REPORTING_EXPORT_BACKGROUND_ROWS rows, a download made in the background
    (its page, with a progress bar, is where this redirects); else the file itself, made now. Audited either
    way with the patients in it (the background's when the file is made)."""
    rows = patients.count()
    if rows > settings.REPORTING_EXPORT_BACKGROUND_ROWS:
        export, created = list_export_request(
            by=request.user, patients=patients, saved_search=saved_search, practice_ids=practice_ids,
            format=format, rows=rows,
        )  # fmt: skip
        if created:
            report_export_enqueue(export)
        audit(request, "report.export.create", **_audit_detail(export), reused=not created)
        return redirect(export)
    lines = list(patients.read())
    audit(request, patients.audit_action, [pid for pid, _ in lines], rows=len(lines), **patients.audit_detail)
    filename = patients.filename(format, on=timezone.localdate())
    if format == ReportExport.Format.XLSX:
        sheets = [(patients.label, patients.header, (line for _, line in lines))]
        return xlsx_download(
            filename, sheets, title=patients.title, by=request.user, details=patients.details
        )
    return csv_download(filename, patients.header, (line for _, line in lines))


@require_POST
@permission_required(Perm.VIEW_PATIENTS)
def export_create_view(request: HttpRequest, key: str) -> HttpResponse:
    if key not in REPORTS:
        raise Http404("No such report")
    period_form = ReportPeriodForm(request.POST, user=request.user, today=timezone.localdate())  # type: ignore[arg-type]
    format_form = ReportExportForm(request.POST)
    if not (period_form.is_valid() and format_form.is_valid()):
        messages.error(request, "Choose a valid period and practice, then CSV, Excel or PDF, to download.")
        return redirect("reporting:report_detail", key)
    export, created = report_export_request(
        by=request.user, report_key=key, period=period_form.chosen_period(),  # type: ignore[arg-type]
        practice_ids=period_form.practice_ids(), format=format_form.cleaned_data["format"],
    )  # fmt: skip
    if created:
        report_export_enqueue(export)
    audit(request, "report.export.create", **_audit_detail(export), reused=not created)
    return redirect(export)


def _made_from(request: HttpRequest, export: ReportExport) -> tuple[str | None, str]:
    """Where the download is asked for (to make it again), and its name; None if it is no more."""
    if export.kind == ReportExport.Kind.DATA_QUALITY:
        return reverse("reporting:data_quality_patients", args=[export.report_key]), "the data-quality list"
    if export.kind == ReportExport.Kind.SAVED_SEARCH:
        search = SavedSearch.objects.visible_to(request.user).filter(pk=export.saved_search_id).first()
        return (search.get_absolute_url() if search else None), "the saved search"
    if export.is_pack:
        return reverse("reporting:report_list"), "the reports"
    return reverse("reporting:report_detail", args=[export.report_key]), "the report"


@permission_required(Perm.VIEW_PATIENTS)
def export_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The download's progress (htmx polls the partial while it is being made), then its link."""
    export = _export_for(request, pk)
    again_url, again_label = _made_from(request, export)
    context = {"export": export, "again_url": again_url, "again_label": again_label,
               "keep_days": settings.REPORTING_EXPORT_KEEP_DAYS}  # fmt: skip
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "reporting/export_detail.html#progress", context)
    practices = Practice.objects.filter(pk__in=export.practice_ids).order_by("name")
    titles = [] if export.is_list else [REPORTS[key].title for key in export.report_keys if key in REPORTS]
    context |= {"practices": [p.name for p in practices], "report_titles": titles}
    return render(request, "reporting/export_detail.html", context)


@permission_required(Perm.VIEW_PATIENTS)
def export_download_view(request: HttpRequest, pk: int) -> HttpResponse:
    export = _export_for(request, pk)
    if export.state != ReportExport.State.READY or not export.file:
        messages.error(
            request,
            "This download has expired: make it again."
            if export.state == ReportExport.State.EXPIRED
            else "This download is not ready yet.",
        )
        return redirect(export)
    audit(request, "report.export.download", **_audit_detail(export))
    return FileResponse(
        export.file.open("rb"), as_attachment=True, filename=export.filename,
        content_type=CONTENT_TYPES[export.format],
    )  # fmt: skip


@permission_required(Perm.VIEW_PATIENTS)
def export_list_view(request: HttpRequest) -> HttpResponse:
    exports = ReportExport.objects.made_by(request.user)
    page = Paginator(exports, EXPORTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "keep_days": settings.REPORTING_EXPORT_KEEP_DAYS}
    return render(request, "reporting/export_list.html", context)
