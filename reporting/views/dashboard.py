"""The manager's dashboard: the headline figures over the last 12 complete months, as charts with their
numbers in tables, for all the user's practices or one of them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from pcn.audit import audit
from pcn.permissions import Perm, has_perm, permission_required
from reporting.forms import DashboardForm
from reporting.periods import last_twelve_months
from reporting.services.dashboard import dashboard_figures


# Aggregate figures only, no patient named: for those who see patients (coordinators for their own
# practices, leads and managers for theirs) and for administrators, who see PCN figures (the home page's
# figures by practice). The report pages behind the figures need VIEW_PATIENTS, so only those who have
# it get the links.
@permission_required(Perm.VIEW_PATIENTS, Perm.VIEW_PCN_FIGURES)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.GET or None, user=request.user)  # type: ignore[arg-type]
    periods, practice_ids = last_twelve_months(timezone.localdate()), form.practice_ids()
    figures = dashboard_figures(periods=periods, practice_ids=practice_ids)
    audit(
        request,
        "report.dashboard.view",
        period=f"{periods[0].label} to {periods[-1].label}",
        practices=practice_ids,
    )
    chosen = form.cleaned_data.get("practice") if form.is_bound and form.is_valid() else None
    context = {
        "form": form,
        "figures": figures,
        "periods": periods,
        "latest": periods[-1],
        "practice": chosen,
        "may_open_reports": has_perm(request.user, Perm.VIEW_PATIENTS),
    }
    return render(request, "reporting/dashboard.html", context)
