"""Reviewing a care plan: recording a review of the current version, and the daily sweep that gives
each plan due for review one review task.

A review is of the current agreed version, with the person. "No changes" keeps the content as agreed
and moves the plan's next review date (a queryset update of review_date and the sweep's marker only:
what was agreed with the person is untouched); "changes needed" starts a new draft. Either way the
open review tasks are done and the coding export gets "Personalised care and support plan reviewed".

Review tasks: each agreed version whose review date has come gets one "Review the care plan" task
(for the patient's coordinator, else whoever agreed the plan); review_task_created_at records it, so
the daily sweep is safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from careplans.models import CarePlanReview, CarePlanVersion
from careplans.services.plans import care_plan_draft
from caseload.codes import Code
from caseload.models import Task
from caseload.services.coding import coding_entry_record
from caseload.services.tasks import task_complete, task_create
from pcn.models import User

log = logging.getLogger(__name__)

REVIEWS_DUE_AHEAD_DAYS = 14
PCSP_REVIEWED = Code("pcsp_reviewed", "Personalised care and support plan reviewed", None)  # no id known


@transaction.atomic
def care_plan_review(
    *,
    version: CarePlanVersion,
    reviewed_on: date,
    reviewed_how: str,
    reviewed_with: str,
    outcome: str,
    by: User,
    notes: str = "",
    next_review_date: date | None = None,
) -> tuple[CarePlanReview, CarePlanVersion | None]:
    """Record a review of the current plan. Returns (review, the new draft when changes are needed)."""
    locked = CarePlanVersion.objects.select_for_update().select_related("plan__patient").get(pk=version.pk)
    if locked.status != CarePlanVersion.Status.AGREED:
        raise ValidationError("Only the current agreed plan can be reviewed.", code="not_current")
    if reviewed_on > timezone.localdate():
        raise ValidationError("The review date must be today or in the past.", code="future")
    if locked.agreed_on and reviewed_on < locked.agreed_on:
        raise ValidationError("The review cannot be before the plan was agreed.", code="before_agreed")
    if outcome not in CarePlanReview.Outcome.values:
        raise ValidationError("Choose the outcome of the review.", code="outcome")
    if outcome == CarePlanReview.Outcome.NO_CHANGE:
        if next_review_date is None:
            raise ValidationError("Enter the date of the next review.", code="next_review_required")
        if next_review_date <= reviewed_on:
            raise ValidationError("The next review must be after this one.", code="next_review_past")
    patient = locked.plan.patient
    review = CarePlanReview.objects.create(
        version=locked, reviewed_on=reviewed_on, reviewed_how=reviewed_how, reviewed_with=reviewed_with,
        outcome=outcome, notes=notes, next_review_date=next_review_date, recorded_by=by,
    )  # fmt: skip
    if outcome == CarePlanReview.Outcome.NO_CHANGE:
        CarePlanVersion.objects.filter(pk=locked.pk).update(
            review_date=next_review_date, review_task_created_at=None
        )
    for task in Task.objects.filter(patient=patient, kind=Task.Kind.CARE_PLAN_REVIEW, done_at__isnull=True):
        task_complete(task=task, by=by)
    coding_entry_record(
        patient=patient, coded_on=reviewed_on, code=PCSP_REVIEWED, recorded_by=by,
        source=f"careplanreview:{review.pk}",
    )  # fmt: skip
    draft = care_plan_draft(patient=patient, by=by) if outcome == CarePlanReview.Outcome.CHANGES else None
    version.refresh_from_db()
    return review, draft


def care_plan_reviews_sweep(*, today: date) -> int:
    """One review task per agreed version whose review date is today or past. Returns tasks made.

    Each version is claimed under a row lock, re-checking `review_task_created_at`, so two sweeps
    running together still make one task."""
    candidates = list(
        CarePlanVersion.objects.agreed()
        .filter(review_date__lte=today, review_task_created_at__isnull=True)
        .values_list("pk", flat=True)
    )
    made = 0
    for pk in candidates:
        with transaction.atomic():
            version = (
                CarePlanVersion.objects.select_for_update(of=("self",))
                .filter(pk=pk, status=CarePlanVersion.Status.AGREED, review_task_created_at__isnull=True)
                .with_owner()
                .select_related("plan__patient")
                .first()
            )
            if version is None:
                continue
            # with_owner() annotates owner_id; the stubs lose annotations made in a QuerySet method.
            owner_id = version.owner_id or version.created_by_id  # type: ignore[attr-defined]
            task_create(
                patient=version.plan.patient,
                title="Review the care plan",
                owner=User.objects.get(pk=owner_id),
                due_on=version.review_date,  # type: ignore[arg-type]  # picked by review_date__lte: not None
                kind=Task.Kind.CARE_PLAN_REVIEW,
                notes=f"Care plan version {version.number} is due for review.",
                by=None,
            )
            # A queryset update: the version's other fields (and its lock_version) are left alone.
            CarePlanVersion.objects.filter(pk=pk).update(review_task_created_at=timezone.now())
            made += 1
    if made:
        log.info("care plan review sweep: %s review tasks created", made)
    return made
