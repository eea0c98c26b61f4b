"""The reports: the list, one report for a period (this period and the one before, per practice and for
the PCN, with its breakdowns), and the patients behind a figure."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from caseload.models import Patient
from pcn.audit import audit
from pcn.models import Practice
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required
from reporting.forms import ReportPeriodForm
from reporting.reports import REPORTS
from reporting.reports.base import Measure, Report, ReportResult, report_run

PATIENTS_PER_PAGE = 50


def _report_or_404(key: str) -> Report:
    if key not in REPORTS:
        raise Http404("No such report")
    return REPORTS[key]


def _period_form(request: HttpRequest) -> ReportPeriodForm:
    return ReportPeriodForm(request.GET or None, user=request.user, today=timezone.localdate())  # type: ignore[arg-type]


@permission_required(Perm.VIEW_PATIENTS)
def report_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "reporting/report_list.html", {"reports": list(REPORTS.values())})


def _table(result: ReportResult) -> dict[str, Any]:
    """The figures as rows: label, PCN now, before, change, then one value per practice."""
    practices = list(Practice.objects.filter(pk__in=result.practice_ids).order_by("name"))
    rows = [
        {
            "figure": f,
            "by_practice": [
                f.current.get(p.pk, 0 if isinstance(f.measure, Measure) else None) for p in practices
            ],
        }
        for f in result.figures
    ]
    return {"practices": practices, "rows": rows}


def _breakdowns(result: ReportResult) -> list[dict[str, Any]]:
    return [
        {
            "measure": f.measure,
            "breakdown": b,
            "rows": result.breakdown(f.measure, b.key),
        }
        for f in result.figures
        if isinstance(f.measure, Measure)
        for b in f.measure.breakdowns
    ]


@permission_required(Perm.VIEW_PATIENTS)
def report_detail_view(request: HttpRequest, key: str) -> HttpResponse:
    report, form = _report_or_404(key), _period_form(request)
    result = report_run(report=report, period=form.chosen_period(), practice_ids=form.practice_ids())
    audit(
        request,
        "report.view",
        report=key,
        version=report.version,
        period=result.period.label,
        practices=result.practice_ids,
    )
    context = {"report": report, "form": form, "result": result, "query_string": query_without(request)}
    return render(
        request,
        "reporting/report_detail.html",
        {**context, **_table(result), "breakdowns": _breakdowns(result)},
    )


@permission_required(Perm.VIEW_PATIENTS)
def report_patients_view(request: HttpRequest, key: str, measure: str) -> HttpResponse:
    report, form = _report_or_404(key), _period_form(request)
    try:
        chosen = report.measure(measure)
    except KeyError as missing:
        raise Http404("No such figure") from missing
    period = form.chosen_period()
    patients = chosen.patients(period, form.practice_ids()).visible_to(request.user)  # type: ignore[attr-defined]
    page = CappedPaginator(
        patients.select_related("practice").order_by(*Patient._meta.ordering), PATIENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    audit(request, "report.patients", page.object_list, report=key, figure=measure, period=period.label)
    context = {
        "report": report,
        "measure": chosen,
        "period": period,
        "page": page,
        "query_string": query_without(request, "page"),
    }
    return render(request, "reporting/report_patients.html", context)
