"""Care plan reviews and timeliness: the reviews-due list (overdue plans and those due in the next 14
days), recording a review of the current plan, and care home residents' PCSPs (EHCH)."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from careplans.forms import DateInput
from careplans.models import CarePlanVersion
from careplans.review_forms import ReviewForm
from careplans.services import (
    REVIEWS_DUE_AHEAD_DAYS,
    care_plan_review,
    ehch_admissions,
    ehch_counts,
    reviews_with_owner,
)
from pcn.audit import audit
from pcn.exports import csv_download
from pcn.models import Practice, Role, User
from pcn.nhs_number import format_nhs_number
from pcn.pagination import CappedPaginator
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50
# Leads and managers see everyone's reviews at their practices; a coordinator sees their own.
ALL_REVIEWS_ROLES = (Role.CLINICAL_LEAD, Role.MANAGER)


class CoordinatorFilterForm(forms.Form):
    hide_optional = True
    coordinator = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Everyone", label="Care coordinator"
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(
                memberships__practice_id__in=user.practice_ids(), memberships__role=Role.COORDINATOR
            )
            .distinct()
            .order_by("full_name")
        )


@permission_required(Perm.VIEW_PATIENTS)
def reviews_due(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    versions = reviews_with_owner(
        CarePlanVersion.objects.visible_to(user)
        .agreed()
        .filter(review_date__lte=today + timedelta(days=REVIEWS_DUE_AHEAD_DAYS))
        .select_related("plan__patient__practice", "agreed_by")
    ).order_by("review_date", "id")
    sees_all = user.has_role(*ALL_REVIEWS_ROLES)
    form = None
    if sees_all:
        form = CoordinatorFilterForm(request.GET or None, user=user)
        if form.is_valid() and form.cleaned_data["coordinator"]:
            versions = versions.filter(owner_id=form.cleaned_data["coordinator"].pk)
    else:
        versions = versions.filter(owner_id=user.pk)
    page = CappedPaginator(versions, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    owners = {u.pk: u for u in User.objects.filter(pk__in={v.owner_id for v in rows})} if rows else {}
    for version in rows:
        version.owner = owners.get(version.owner_id)  # type: ignore[attr-defined]
    audit(request, "careplan.reviews_due", [v.plan.patient_id for v in rows], page=page.number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "careplans/reviews_due.html",
        {
            "versions": rows,
            "page": page,
            "form": form,
            "sees_all": sees_all,
            "today": today,
            "ahead_days": REVIEWS_DUE_AHEAD_DAYS,
            "query_string": query.urlencode(),
        },
    )


@permission_required(Perm.MANAGE_CASELOAD)
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a review of the current plan: "no changes" sets the next review date, "changes needed"
    goes on to the new draft. The open review task is done either way."""
    version = get_object_or_404(
        CarePlanVersion.objects.visible_to(request.user).select_related("plan__patient__practice"), pk=pk
    )
    patient = version.plan.patient
    if version.status != CarePlanVersion.Status.AGREED:
        messages.info(request, "Only the current agreed plan can be reviewed.")
        return redirect("careplans:plan", patient.pk)
    form = ReviewForm(
        request.POST if request.method == "POST" else None,
        version=version,
        initial={"reviewed_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            _, draft = care_plan_review(version=version, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            audit(
                request,
                "careplan.review",
                [patient],
                version_id=version.pk,
                outcome=form.cleaned_data["outcome"],
            )
            if draft is not None:
                messages.success(
                    request,
                    f"Review recorded. Version {draft.number} is a draft: make the changes, then agree it.",
                )
                return redirect("careplans:edit", draft.pk)
            messages.success(
                request,
                f"Review recorded. The plan stays as agreed; next review by "
                f"{form.cleaned_data['next_review_date']:%-d %B %Y}.",
            )
            return redirect("careplans:plan", patient.pk)
    audit(request, "careplan.review_form", [patient], version_id=version.pk)
    return render(request, "careplans/review.html", {"version": version, "patient": patient, "form": form})


# --- EHCH: care home residents' PCSPs within 7 working days ---------------------------------------------


class EhchFilterForm(forms.Form):
    hide_optional = True
    start = forms.DateField(label="Admitted from", widget=DateInput)
    end = forms.DateField(label="to", widget=DateInput)
    practice = forms.ModelChoiceField(queryset=Practice.objects.none(), required=False, empty_label="All")
    state = forms.ChoiceField(
        label="Care plan",
        required=False,
        choices=[("", "Any"), ("overdue", "Overdue"), ("due", "Still due"), ("late", "Agreed late"),
                 ("done", "Agreed on time")],
    )  # fmt: skip

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.filter(  # type: ignore[attr-defined]
            pk__in=user.practice_ids()
        ).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date must be on or after the start date")
        if start and end and (end - start).days > EHCH_MAX_DAYS:
            self.add_error("start", "Choose at most two years")
        return data


EHCH_MAX_DAYS = 731


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
def ehch(request: HttpRequest) -> HttpResponse:
    """Care home admissions at the user's practices and whether each resident's PCSP was agreed within
    7 working days, with the compliance figure; CSV of the same."""
    form, admissions, counts = _ehch(request)
    page = Paginator(admissions, PAGE_SIZE).get_page(request.GET.get("page"))  # a list: its length is known
    rows = list(page.object_list)
    audit(request, "careplan.ehch", [a.event.patient_id for a in rows], page=page.number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "careplans/ehch.html",
        {"form": form, "page": page, "admissions": rows, "counts": counts, "query_string": query.urlencode()},
    )


@permission_required(Perm.VIEW_PATIENTS)
def ehch_export(request: HttpRequest) -> HttpResponse:
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
