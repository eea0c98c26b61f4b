"""Care home residents' PCSPs (EHCH): admissions at the user's practices and whether each resident's
plan was agreed within 7 working days, as a page and as CSV."""

from datetime import timedelta
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from careplans.forms.ehch import EhchFilterForm
from careplans.services.ehch import ehch_admissions, ehch_counts
from pcn.audit import audit
from pcn.exports import csv_download
from pcn.models import User
from pcn.nhs_number import format_nhs_number
from pcn.pagination import query_without
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50


def _ehch(request: HttpRequest) -> tuple[EhchFilterForm, list[Any], dict[str, int]]:
    """The filter, the admissions it selects (state included) and the counts (every state)."""
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    default_start = (today.replace(day=1) - timedelta(days=62)).replace(day=1)  # this month and two before
    form = EhchFilterForm(request.GET or None, user=user, initial={"start": default_start, "end": today})
    start, end, practice_ids, state = default_start, today, user.practice_ids(), ""
    if form.is_bound and form.is_valid():
        start, end, state = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["state"]
        if form.cleaned_data["practice"] is not None:
            practice_ids = [form.cleaned_data["practice"].pk]
    elif form.is_bound:
        return form, [], ehch_counts([])
    admissions = ehch_admissions(practice_ids=practice_ids, start=start, end=end, today=today)
    counts = ehch_counts(admissions)
    if state:
        admissions = [a for a in admissions if a.due.state == state]
    return form, admissions, counts


@permission_required(Perm.VIEW_PATIENTS)
def ehch_view(request: HttpRequest) -> HttpResponse:
    """Care home admissions at the user's practices and whether each resident's PCSP was agreed within
    7 working days, with the compliance figure; CSV of the same."""
    form, admissions, counts = _ehch(request)
    page = Paginator(admissions, PAGE_SIZE).get_page(request.GET.get("page"))  # a list: its length is known
    rows = list(page.object_list)
    audit(request, "careplan.ehch", [a.event.patient_id for a in rows], page=page.number)
    return render(
        request,
        "careplans/ehch.html",
        {
            "form": form,
            "page": page,
            "admissions": rows,
            "counts": counts,
            "query_string": query_without(request, "page"),
        },
    )


@permission_required(Perm.VIEW_PATIENTS)
def ehch_export_view(request: HttpRequest) -> HttpResponse:
    _form, admissions, _counts = _ehch(request)
    audit(request, "careplan.ehch_export", [a.event.patient_id for a in admissions], rows=len(admissions))
    labels = {"done": "Agreed on time", "late": "Agreed late", "overdue": "Overdue", "due": "Still due"}
    header = ["NHS number", "Family name", "Given name", "Practice", "Care home", "Admitted", "PCSP due by",
              "PCSP agreed", "State"]  # fmt: skip
    lines = (
        [format_nhs_number(a.event.patient.nhs_number), a.event.patient.family_name, a.event.patient.given_name,
         a.event.patient.practice.ods_code, a.event.provider, a.due.admitted_on.strftime("%d/%m/%Y"),
         a.due.due_on.strftime("%d/%m/%Y"), a.due.agreed_on.strftime("%d/%m/%Y") if a.due.agreed_on else "",
         labels[a.due.state]]
        for a in admissions
    )  # fmt: skip
    return csv_download(f"care-home-pcsp-{timezone.localdate():%Y%m%d}.csv", header, lines)
