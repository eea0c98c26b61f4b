"""Care plan reviews: the reviews-due list (overdue plans and those due in the next 14 days) and
recording a review of the current plan."""

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from careplans.forms.reviews import CoordinatorFilterForm, ReviewForm
from careplans.models import CarePlanVersion
from careplans.services.reviews import REVIEWS_DUE_AHEAD_DAYS, care_plan_review
from caseload.models import Patient
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.models import Role, User
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50
# Leads and managers see everyone's reviews at their practices; a coordinator sees their own.
ALL_REVIEWS_ROLES = (Role.CLINICAL_LEAD, Role.MANAGER)


@permission_required(Perm.VIEW_PATIENTS)
def reviews_due_view(request: HttpRequest) -> HttpResponse:
    """Overdue plans and those due for review in the next 14 days: a coordinator's own, or (for leads
    and managers) everyone's at their practices, or one coordinator's."""
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    versions = CarePlanVersion.objects.visible_to(user).reviews_due(
        by=today + timedelta(days=REVIEWS_DUE_AHEAD_DAYS)
    )
    sees_all = user.has_role(*ALL_REVIEWS_ROLES)
    form = CoordinatorFilterForm(request.GET or None, user=user) if sees_all else None
    versions = form.filter_versions(versions) if form else versions.filter(owner_id=user.pk)
    page = CappedPaginator(versions, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _with_owners(list(page.object_list))
    audit(request, "careplan.reviews_due", [v.plan.patient_id for v in rows], page=page.number)
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
            "query_string": query_without(request, "page"),
        },
    )


def _with_owners(versions: list[CarePlanVersion]) -> list[CarePlanVersion]:
    """Each version's `owner` (from its `owner_id`): one query for the page."""
    owners = {u.pk: u for u in User.objects.filter(pk__in={v.owner_id for v in versions})} if versions else {}
    for version in versions:
        version.owner = owners.get(version.owner_id)  # type: ignore[attr-defined]
    return versions


@permission_required(Perm.MANAGE_CASELOAD)
def review_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a review of the current plan: "no changes" sets the next review date, "changes needed"
    goes on to the new draft. The open review task is done either way."""
    version = get_object_or_404(
        CarePlanVersion.objects.visible_to(request.user).select_related("plan__patient__practice"), pk=pk
    )
    patient = version.plan.patient
    if version.status != CarePlanVersion.Status.AGREED:
        messages.info(request, "Only the current agreed plan can be reviewed.")
        return redirect("careplans:plan", patient.pk)
    post = request.POST if request.method == "POST" else None
    form = ReviewForm(post, version=version, initial={"reviewed_on": timezone.localdate()})
    if post is not None and form.is_valid():
        with refusal_shown_on(form):
            _, draft = care_plan_review(version=version, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            return _review_recorded(request, version, patient, draft=draft, data=form.cleaned_data)
    audit(request, "careplan.review_form", [patient], version_id=version.pk)
    return render(request, "careplans/review.html", {"version": version, "patient": patient, "form": form})


def _review_recorded(
    request: HttpRequest,
    version: CarePlanVersion,
    patient: Patient,
    *,
    draft: CarePlanVersion | None,
    data: dict[str, Any],
) -> HttpResponse:
    """Audit the review; on to the new draft when changes are needed, back to the plan when it stays
    as agreed. (`patient` as read before the review: the service refreshes `version`.)"""
    audit(request, "careplan.review", [patient], version_id=version.pk, outcome=data["outcome"])
    if draft is not None:
        messages.success(
            request, f"Review recorded. Version {draft.number} is a draft: make the changes, then agree it."
        )
        return redirect("careplans:edit", draft.pk)
    messages.success(
        request,
        f"Review recorded. The plan stays as agreed; next review by {data['next_review_date']:%-d %B %Y}.",
    )
    return redirect("careplans:plan", patient.pk)
