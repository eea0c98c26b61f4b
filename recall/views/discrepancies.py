"""Coding discrepancies: per practice, where this record and the GP record disagree, with the fix."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pcn.audit import audit
from pcn.exports import back_to_filters, csv_download
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required
from recall.forms.report import DiscrepancyForm
from recall.services.discrepancies import CSV_HEADER, discrepancies, discrepancy_csv_rows, entry_problems

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000


def _entries(request: HttpRequest, form: DiscrepancyForm):  # type: ignore[no-untyped-def]
    data = form.cleaned_data
    return discrepancies(
        user=request.user,  # type: ignore[arg-type]
        practice=data["practice"], year=data["year"], kind=data.get("kind") or "",
    )  # fmt: skip


@permission_required(Perm.VIEW_PATIENTS)
def discrepancies_view(request: HttpRequest) -> HttpResponse:
    """A page of entries whose data disagree with the GP record, each problem with its fix."""
    form = DiscrepancyForm(request.GET, user=request.user)  # type: ignore[arg-type]
    page, rows = None, []
    if form.is_valid():
        page = CappedPaginator(_entries(request, form), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [(entry, entry_problems(entry)) for entry in page.object_list]
        audit(
            request, "recall.discrepancies.list", [entry.patient_id for entry, _ in rows], page=page.number,
            filters=query_without(request, "page"),
        )  # fmt: skip
    return render(
        request,
        "recall/discrepancies.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query_string": query_without(request, "page"),
            "lag_days": settings.RECALL_CODING_LAG_DAYS,
        },
    )


@permission_required(Perm.VIEW_PATIENTS)
def discrepancies_csv_view(request: HttpRequest) -> HttpResponse:
    """Every page as CSV, one row per problem; audited with every patient."""
    form = DiscrepancyForm(request.GET, user=request.user)  # type: ignore[arg-type]
    if not form.is_valid():
        return back_to_filters(request, "recall:discrepancies")
    entries = list(_entries(request, form)[:EXPORT_LIMIT])
    practice = form.cleaned_data["practice"]
    audit(
        request, "recall.discrepancies.export", [entry.patient_id for entry in entries], rows=len(entries),
        practice=practice.ods_code, year=form.cleaned_data["year"], kind=form.cleaned_data.get("kind") or "all",
    )  # fmt: skip
    filename = f"coding-discrepancies-{practice.ods_code}.csv"
    return csv_download(filename, CSV_HEADER, discrepancy_csv_rows(entries))
