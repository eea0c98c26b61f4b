"""The coding export: what the GP record should learn, to be entered there by hand, ticked off as
entered, and downloaded as CSV."""

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from caseload.forms.coding import CodingExportForm
from caseload.models import CodingEntry
from caseload.services.coding import coding_entries_mark_entered
from pcn.audit import audit
from pcn.exports import back_to_filters, csv_download
from pcn.nhs_number import format_nhs_number
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
NO_SNOMED_ID = "No SNOMED CT id is known for this activity yet; enter the term."


def _coding_rows(request: HttpRequest, form: CodingExportForm) -> QuerySet[CodingEntry]:
    data = form.cleaned_data
    return CodingEntry.objects.visible_to(request.user).for_export(  # type: ignore[attr-defined]
        practice_id=data["practice"].pk, start=data["start"], end=data["end"], entered=form.entered_filter
    )


def _query_for(form: CodingExportForm) -> str:
    """The form's filters as a query string (with its defaults filled in), for pagination and CSV."""
    query = QueryDict(mutable=True)
    for name in ("practice", "start", "end", "entered"):
        value = form.data.get(name)
        if value not in (None, ""):
            query[name] = str(value)
    return query.urlencode()


def _mark_entered(request: HttpRequest) -> HttpResponse:
    """The rows ticked (POST) are marked as entered in the GP record; back to the same filters."""
    ids = [i for i in request.POST.getlist("entry") if i.isdigit()][: PAGE_SIZE * 4]
    back = reverse("caseload:coding_export") + "?" + request.POST.get("query", "")
    if not ids:
        messages.error(request, "Select the rows you have entered in the GP record.")
        return redirect(back)
    entries = list(CodingEntry.objects.visible_to(request.user).filter(pk__in=ids))
    marked = coding_entries_mark_entered(entries=entries, by=request.user)  # type: ignore[arg-type]
    already = len(entries) - marked
    text = f"{marked} row{'s' if marked != 1 else ''} marked as entered in the GP record."
    if already:
        text += f" {already} {'was' if already == 1 else 'were'} already marked."
    messages.success(request, text)
    return redirect(back)


@permission_required(Perm.MANAGE_CASELOAD)
def coding_export_view(request: HttpRequest) -> HttpResponse:
    """What the GP record should learn, per practice and date range, to be entered there by hand;
    rows are ticked off as entered (POST), and the same rows download as CSV."""
    if request.method == "POST":
        return _mark_entered(request)
    form = CodingExportForm(request.GET, user=request.user)  # type: ignore[arg-type]
    page, rows = None, []
    if form.is_valid():
        page = CappedPaginator(_coding_rows(request, form), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        audit(
            request, "coding.list", [row.patient_id for row in rows], page=page.number,
            filters=query_without(request, "page"),
        )  # fmt: skip
    return render(
        request,
        "caseload/coding_export.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "no_snomed_id": NO_SNOMED_ID,
            "any_without_id": any(not row.snomed_id for row in rows),
            "query_string": _query_for(form),
        },
    )


@permission_required(Perm.MANAGE_CASELOAD)
def coding_export_csv_view(request: HttpRequest) -> HttpResponse:
    """The rows the page shows (every page), as CSV; audited with every patient."""
    form = CodingExportForm(request.GET, user=request.user)  # type: ignore[arg-type]
    if not form.is_valid():
        return back_to_filters(request, "caseload:coding_export")
    rows = list(
        _coding_rows(request, form).values_list(
            "patient_id", "patient__nhs_number", "coded_on", "snomed_id", "term", "recorded_by__full_name",
            "recorded_by__email",
        )[:EXPORT_LIMIT]
    )  # fmt: skip
    data = form.cleaned_data
    audit(
        request, "coding.export", [row[0] for row in rows], rows=len(rows), practice=data["practice"].ods_code,
        start=data["start"].isoformat(), end=data["end"].isoformat(), entered=data.get("entered") or "no",
    )  # fmt: skip

    lines = (
        [format_nhs_number(nhs), coded_on.strftime("%d/%m/%Y"), snomed_id, term, name or email]
        for _, nhs, coded_on, snomed_id, term, name, email in rows
    )
    filename = f"coding-{data['practice'].ods_code}-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.csv"
    return csv_download(filename, ["NHS number", "Date", "SNOMED CT id", "Term", "Recorded by"], lines)
