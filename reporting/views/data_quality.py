"""Data quality: per practice, how many patients fail each check; the patients behind a check; and a CSV
of them to fix in the GP system (reporting.services.data_quality says what each check is)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pcn.audit import audit
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required
from reporting.forms import DataQualityForm, ListDownloadForm
from reporting.services.data_quality import CHECKS, Check, data_quality_counts, data_quality_patients
from reporting.services.list_exports import data_quality_list
from reporting.views.exports import list_download

PATIENTS_PER_PAGE = 50


def _check_or_404(key: str) -> Check:
    if key not in CHECKS:
        raise Http404("No such check")
    return CHECKS[key]


def _form(request: HttpRequest) -> DataQualityForm:
    return DataQualityForm(request.GET or None, user=request.user)  # type: ignore[arg-type]


@permission_required(Perm.VIEW_PATIENTS)
def data_quality_view(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    practices = data_quality_counts(practice_ids=form.practice_ids(), today=timezone.localdate())
    totals = {key: sum(p.counts[key] for p in practices) for key in CHECKS}
    rows = [(check, totals[check.key], [p.counts[check.key] for p in practices]) for check in CHECKS.values()]
    audit(request, "report.data_quality", practices=[p.practice.pk for p in practices])
    context = {"form": form, "practices": practices, "rows": rows, "query_string": query_without(request)}
    return render(
        request, "reporting/data_quality.html", {**context, "checked": sum(p.patients for p in practices)}
    )


@permission_required(Perm.VIEW_PATIENTS)
def data_quality_patients_view(request: HttpRequest, check: str) -> HttpResponse:
    chosen, form = _check_or_404(check), _form(request)
    patients = data_quality_patients(
        check=chosen,
        user=request.user,
        practice_ids=form.practice_ids(),
        today=timezone.localdate(),  # type: ignore[arg-type]
    )
    page = CappedPaginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    audit(request, "report.data_quality.patients", page.object_list, check=check, page=page.number)
    context = {
        "check": chosen, "form": form, "page": page, "query_string": query_without(request, "page"),
        "background_rows": settings.REPORTING_EXPORT_BACKGROUND_ROWS,
    }  # fmt: skip
    return render(request, "reporting/data_quality_patients.html", context)


@require_POST
@permission_required(Perm.VIEW_PATIENTS)
def data_quality_csv_view(request: HttpRequest, check: str) -> HttpResponse:
    """Every patient failing the check (up to 50,000), as CSV (or Excel) to fix them by; over
    REPORTING_EXPORT_BACKGROUND_ROWS rows, made in the background. Audited with each of them."""
    chosen = _check_or_404(check)
    form, format_form = DataQualityForm(request.POST, user=request.user), ListDownloadForm(request.POST)  # type: ignore[arg-type]
    if not (form.is_valid() and format_form.is_valid()):
        return redirect("reporting:data_quality")
    ids = form.practice_ids()
    patients = data_quality_list(
        check=chosen, user=request.user, practice_ids=ids, today=timezone.localdate()
    )  # type: ignore[arg-type]
    return list_download(request, patients, format=format_form.cleaned_data["format"], practice_ids=ids)
