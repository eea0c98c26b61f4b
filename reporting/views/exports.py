"""Report downloads: asking for one from a report's page (made in the background), its page (progress,
then the link), the file, and the list of a user's downloads (the monthly pack's too).

A download is its maker's alone: anyone else, or its maker once they have left one of its practices,
gets 404. Asking for one and fetching its file are audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pcn.audit import audit
from pcn.exports import XLSX_CONTENT_TYPE
from pcn.models import Practice
from pcn.permissions import Perm, permission_required
from reporting.forms import ReportExportForm, ReportPeriodForm
from reporting.models import ReportExport
from reporting.reports import REPORTS
from reporting.services.exports import report_export_request
from reporting.tasks import report_export_enqueue

EXPORTS_PER_PAGE = 25
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_CONTENT_TYPE, "pdf": "application/pdf"}


def _export_for(request: HttpRequest, pk: int) -> ReportExport:
    export = get_object_or_404(ReportExport.objects.made_by(request.user), pk=pk)
    if not set(export.practice_ids) <= request.user.practice_ids():  # type: ignore[union-attr]
        raise Http404("No such download")
    return export


def _audit_detail(export: ReportExport) -> dict[str, object]:
    return {"export_id": export.pk, "report": export.report_key, "format": export.format,
            "version": export.version, "period": export.period.label, "practices": export.practice_ids}  # fmt: skip


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


@permission_required(Perm.VIEW_PATIENTS)
def export_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The download's progress (htmx polls the partial while it is being made), then its link."""
    export = _export_for(request, pk)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "reporting/export_detail.html#progress", {"export": export})
    practices = Practice.objects.filter(pk__in=export.practice_ids).order_by("name")
    titles = [REPORTS[key].title for key in export.report_keys if key in REPORTS]
    context = {"export": export, "practices": [p.name for p in practices], "report_titles": titles}
    return render(request, "reporting/export_detail.html", context)


@permission_required(Perm.VIEW_PATIENTS)
def export_download_view(request: HttpRequest, pk: int) -> HttpResponse:
    export = _export_for(request, pk)
    if export.state != ReportExport.State.READY or not export.file:
        messages.error(request, "This download is not ready yet.")
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
    return render(request, "reporting/export_list.html", {"page": page})
