"""Writes and reads in the careplans app."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from careplans.models import CarePlan, CarePlanReview, CarePlanVersion, Goal, SupportNeed, version_copy
from caseload.codes import Code
from caseload.models import CaseloadEpisode, Patient
from caseload.services.coding import coding_entry_record
from pcn.models import User

# --- Plans and versions -----------------------------------------------------------------------------
#
# One draft at a time per plan. An agreed version never changes: editing starts a new draft pre-filled
# from it (its goals and support needs copied). A save carries the lock_version it read; a stale one
# is refused so that nobody's changes are silently overwritten.

PCSP_AGREED = Code("pcsp_agreed", "Personalised care and support plan agreed", None)  # no id known

# The plan's own fields a save may change (the form's fields), in the order the plan shows them.
PLAN_FIELDS = (
    "about_me", "what_matters", "strengths", "who_supports_me", "health_conditions",
    "decision_aids_used", "decisions_reached", "contingency_plan", "advance_care_planning",
    "respect_status", "named_coordinator", "gp_name", "other_contacts", "consent_to_share", "share_with",
    "review_date",
)  # fmt: skip
GOAL_FIELDS = ("goal", "steps", "who_helps", "target_date", "progress", "signposting")
NEED_FIELDS = ("domain", "need", "support_agreed", "signposting")


@transaction.atomic
def care_plan_draft(*, patient: Patient, by: User) -> CarePlanVersion:
    """The plan's draft: the existing one, or a new one pre-filled from the current agreed version
    (goals and support needs copied), or for a first plan from the patient's long-term conditions
    and the coordinator of their open caseload episode."""
    plan, _ = CarePlan.objects.get_or_create(patient=patient)
    plan = CarePlan.objects.select_for_update().get(pk=plan.pk)
    draft = plan.versions.filter(status=CarePlanVersion.Status.DRAFT).first()
    if draft is not None:
        return draft
    number = (plan.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    current = plan.versions.filter(status=CarePlanVersion.Status.AGREED).first()
    if current is not None:
        draft = CarePlanVersion.objects.create(
            plan=plan, number=number, created_by=by, **version_copy(current)
        )
        Goal.objects.bulk_create(
            Goal(version=draft, position=g.position, **{f: getattr(g, f) for f in GOAL_FIELDS})
            for g in current.goals.all()
        )
        SupportNeed.objects.bulk_create(
            SupportNeed(version=draft, **{f: getattr(n, f) for f in NEED_FIELDS})
            for n in current.support_needs.all()
        )
        return draft
    episode = CaseloadEpisode.objects.filter(patient=patient, status=CaseloadEpisode.Status.OPEN).first()
    return CarePlanVersion.objects.create(
        plan=plan,
        number=number,
        created_by=by,
        health_conditions="\n".join(patient.conditions),
        named_coordinator=episode.coordinator if episode else None,
    )


def _locked_draft(version: CarePlanVersion, lock_version: int | None) -> CarePlanVersion:
    locked = CarePlanVersion.objects.select_for_update().get(pk=version.pk)
    if not locked.is_draft:
        raise ValidationError("Only a draft can be changed: this version has been agreed.", code="not_draft")
    if lock_version is not None and int(lock_version) != locked.lock_version:
        raise ValidationError(
            "Someone else saved this plan since you opened it: your changes are below, not saved",
            code="stale",
        )
    return locked


@transaction.atomic
def care_plan_save(
    *,
    version: CarePlanVersion,
    data: dict[str, Any],
    lock_version: int,
    by: User,
    goals: list[dict[str, Any]] | None = None,
    support_needs: list[dict[str, Any]] | None = None,
) -> CarePlanVersion:
    """Save a draft's sections (and, when given, replace its goals and support needs).

    Refused (ValidationError code "stale") when `lock_version` is not the version's current one, and
    (code "not_draft") unless the version is a draft. Increments lock_version.
    """
    locked = _locked_draft(version, lock_version)
    for name, value in data.items():
        if name in PLAN_FIELDS:
            setattr(locked, name, value)
    locked.lock_version += 1
    locked.updated_by = by
    locked.save()
    if goals is not None:
        locked.goals.all().delete()
        Goal.objects.bulk_create(
            Goal(version=locked, position=i, **{f: g.get(f) or _blank(Goal, f) for f in GOAL_FIELDS})
            for i, g in enumerate(goals)
        )
    if support_needs is not None:
        locked.support_needs.all().delete()
        SupportNeed.objects.bulk_create(
            SupportNeed(version=locked, **{f: n.get(f) or _blank(SupportNeed, f) for f in NEED_FIELDS})
            for n in support_needs
        )
    version.refresh_from_db()
    return locked


def _blank(model: Any, name: str) -> Any:
    field = model._meta.get_field(name)
    return None if field.null else ""


@transaction.atomic
def care_plan_agree(
    *, version: CarePlanVersion, agreed_on: date, agreed_how: str, agreed_with: str, by: User
) -> CarePlanVersion:
    """Agree a draft with the person: the previous agreed version is superseded, this one becomes
    the current plan, and the coding export gets "Personalised care and support plan agreed"."""
    if agreed_on > timezone.localdate():
        raise ValidationError("The date the plan was agreed must be today or in the past.", code="future")
    locked = _locked_draft(version, None)
    now = timezone.now()
    CarePlanVersion.objects.filter(plan_id=locked.plan_id, status=CarePlanVersion.Status.AGREED).update(
        status=CarePlanVersion.Status.SUPERSEDED, superseded_at=now
    )
    locked.status = CarePlanVersion.Status.AGREED
    locked.agreed_on, locked.agreed_how, locked.agreed_with, locked.agreed_by = (
        agreed_on, agreed_how, agreed_with, by,
    )  # fmt: skip
    locked.lock_version += 1
    locked.updated_by = by
    locked.save()
    coding_entry_record(
        patient=locked.plan.patient, coded_on=agreed_on, code=PCSP_AGREED, recorded_by=by,
        source=f"careplan:{locked.pk}",
    )  # fmt: skip
    version.refresh_from_db()
    return locked


def _shown(version: CarePlanVersion, name: str) -> str:
    field = version._meta.get_field(name)
    if getattr(field, "choices", None):
        return getattr(version, f"get_{name}_display")()
    value = getattr(version, name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return f"{value:%-d %B %Y}"
    return str(value)


def care_plan_compare(*, older: CarePlanVersion, newer: CarePlanVersion) -> list[tuple[str, str, str]]:
    """(label, old, new) for each section that changed, then goals and support needs added/removed."""
    changes: list[tuple[str, str, str]] = []
    for name in PLAN_FIELDS:
        old, new = _shown(older, name), _shown(newer, name)
        if old != new:
            label = str(CarePlanVersion._meta.get_field(name).verbose_name)
            changes.append((label[:1].upper() + label[1:], old, new))
    old_goals = [g.goal for g in older.goals.all()]
    new_goals = [g.goal for g in newer.goals.all()]
    changes += [("Goal removed", g, "") for g in old_goals if g not in new_goals]
    changes += [("Goal added", "", g) for g in new_goals if g not in old_goals]
    old_needs = [str(n) for n in older.support_needs.all()]
    new_needs = [str(n) for n in newer.support_needs.all()]
    changes += [("Support need removed", n, "") for n in old_needs if n not in new_needs]
    changes += [("Support need added", "", n) for n in new_needs if n not in old_needs]
    return changes


# --- Recording a review -------------------------------------------------------------------------------
#
# A review is of the current agreed version, with the person. "No changes" keeps the content as agreed
# and moves the plan's next review date (a queryset update of review_date and the sweep's marker only:
# what was agreed with the person is untouched); "changes needed" starts a new draft. Either way the
# open review tasks are done and the coding export gets "Personalised care and support plan reviewed".

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
    from caseload.models import Task
    from caseload.services.tasks import task_complete

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


# --- Reviews and timeliness --------------------------------------------------------------------------
#
# Review tasks: each agreed version whose review date has come gets one "Review the care plan" task
# (for the patient's coordinator, else whoever agreed the plan); review_task_created_at records it, so
# the daily sweep is safe to run twice. EHCH: a care home resident gets a PCSP within 7 working days
# of admission (DOMAIN.md); `ehch_pcsp_due` is one patient's state, `ehch_compliance` the report.

import logging  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date as _date  # noqa: E402
from typing import Any as _Any  # noqa: E402

from django.db import transaction as _transaction  # noqa: E402
from django.db.models import OuterRef as _OuterRef  # noqa: E402
from django.db.models import QuerySet as _QuerySet  # noqa: E402
from django.db.models import Subquery as _Subquery  # noqa: E402
from django.db.models.functions import Coalesce as _Coalesce  # noqa: E402
from django.utils import timezone as _timezone  # noqa: E402

from careplans.models import CarePlanVersion as _Version  # noqa: E402
from caseload.models import CareEvent as _CareEvent  # noqa: E402
from caseload.models import CaseloadEpisode as _Episode  # noqa: E402
from caseload.models import Patient as _Patient  # noqa: E402
from caseload.models import Task as _Task  # noqa: E402
from pcn.working_days import add_working_days, working_days_between  # noqa: E402

_log = logging.getLogger(__name__)

EHCH_PCSP_WORKING_DAYS = 7
REVIEWS_DUE_AHEAD_DAYS = 14


def reviews_with_owner(queryset: _QuerySet[_Version]) -> _QuerySet[_Version]:
    """Annotate `owner_id`: the coordinator of the patient's open episode, else who agreed the plan."""
    open_coordinator = _Episode.objects.open().filter(patient_id=_OuterRef("plan__patient_id"))
    return queryset.annotate(
        owner_id=_Coalesce(
            _Subquery(open_coordinator.values("coordinator_id")[:1]),
            "agreed_by_id",
            output_field=_Version._meta.get_field("id"),
        ),
    )


def care_plan_reviews_sweep(*, today: _date) -> int:
    """One review task per agreed version whose review date is today or past. Returns tasks made.

    Each version is claimed under a row lock, re-checking `review_task_created_at`, so two sweeps
    running together still make one task."""
    from caseload.services.tasks import task_create

    candidates = list(
        _Version.objects.agreed()
        .filter(review_date__lte=today, review_task_created_at__isnull=True)
        .values_list("pk", flat=True)
    )
    made = 0
    for pk in candidates:
        with _transaction.atomic():
            version = (
                reviews_with_owner(
                    _Version.objects.select_for_update(of=("self",)).filter(
                        pk=pk, status=_Version.Status.AGREED, review_task_created_at__isnull=True
                    )
                )
                .select_related("plan__patient")
                .first()
            )
            if version is None:
                continue
            owner_id = version.owner_id or version.created_by_id
            from pcn.models import User

            task_create(
                patient=version.plan.patient,
                title="Review the care plan",
                owner=User.objects.get(pk=owner_id),
                due_on=version.review_date,
                kind=_Task.Kind.CARE_PLAN_REVIEW,
                notes=f"Care plan version {version.number} is due for review.",
                by=None,
            )
            # A queryset update: the version's other fields (and its lock_version) are left alone.
            _Version.objects.filter(pk=pk).update(review_task_created_at=_timezone.now())
            made += 1
    if made:
        _log.info("care plan review sweep: %s review tasks created", made)
    return made


@dataclass(frozen=True)
class EhchDue:
    """A care home resident's PCSP deadline. `state`: "done" (agreed on time), "late" (agreed after
    the deadline), "overdue" (past the deadline, none agreed) or "due" (`days_left` working days)."""

    admitted_on: _date
    due_on: _date
    state: str
    days_left: int = 0
    agreed_on: _date | None = None

    def __iter__(self) -> _Any:  # (due_on, state), as `due, state = ehch_pcsp_due(...)`
        return iter((self.due_on, self.state))


def _ehch_state(admitted_on: _date, agreed: list[_date], today: _date) -> EhchDue:
    due_on = add_working_days(admitted_on, EHCH_PCSP_WORKING_DAYS)
    first = min((day for day in agreed if day >= admitted_on), default=None)
    if first is not None and first <= due_on:
        return EhchDue(admitted_on, due_on, "done", agreed_on=first)
    if first is not None:
        return EhchDue(admitted_on, due_on, "late", agreed_on=first)
    if today > due_on:
        return EhchDue(admitted_on, due_on, "overdue")
    return EhchDue(admitted_on, due_on, "due", days_left=working_days_between(today, due_on))


def ehch_pcsp_due(*, patient: _Patient, today: _date | None = None) -> EhchDue | None:
    """The PCSP deadline after the patient's latest care home admission (None without one). Two queries."""
    return ehch_pcsp_due_for(patient_ids=[patient.pk], today=today).get(patient.pk)


def ehch_badge(*, patient: _Patient, today: _date | None = None) -> dict[str, _Any]:
    """Context for the patient page's badge: "PCSP due in N working days" / "PCSP overdue"."""
    due = ehch_pcsp_due(patient=patient, today=today)
    return {"ehch_pcsp": due if due is not None and due.state in ("due", "overdue") else None}


@dataclass(frozen=True)
class EhchAdmission:
    """One care home admission and where its PCSP stands (`due`)."""

    event: _CareEvent
    due: EhchDue


def ehch_admissions(
    *, practice_ids: _Any, start: _date, end: _date, today: _date | None = None
) -> list[EhchAdmission]:
    """Care home admissions from `start` to `end` (inclusive, by local day) at the practices, newest
    first, each with its PCSP state: a re-admission counts again, and a plan counts for the first
    admission it follows. Two queries."""
    today = today or _timezone.localdate()
    events = list(
        _CareEvent.objects.filter(
            kind=_CareEvent.Kind.CARE_HOME_ADMISSION,
            patient__practice_id__in=list(practice_ids),
            occurred_at__date__gte=start,
            occurred_at__date__lte=end,
        )
        .select_related("patient__practice")
        .order_by("-occurred_at", "-id")
    )
    agreed: dict[int, list[_date]] = {}
    for patient_id, agreed_on in (
        _Version.objects.filter(plan__patient_id__in={e.patient_id for e in events}, agreed_on__isnull=False)
        .exclude(status=_Version.Status.DRAFT)
        .values_list("plan__patient_id", "agreed_on")
    ):
        agreed.setdefault(patient_id, []).append(agreed_on)
    return [
        EhchAdmission(
            event,
            _ehch_state(_timezone.localdate(event.occurred_at), agreed.get(event.patient_id, []), today),
        )
        for event in events
    ]


def ehch_counts(admissions: list[EhchAdmission]) -> dict[str, int]:
    """On time, late (agreed after the deadline, or the deadline passed with none: `overdue` counts
    those) and still due, and `percent_on_time` of those whose deadline has been reached."""
    counts = {"admissions": len(admissions), "on_time": 0, "late": 0, "overdue": 0, "still_due": 0}
    for admission in admissions:
        state = admission.due.state
        if state == "done":
            counts["on_time"] += 1
        elif state == "due":
            counts["still_due"] += 1
        else:
            counts["late"] += 1
            counts["overdue"] += state == "overdue"
    decided = counts["on_time"] + counts["late"]
    counts["percent_on_time"] = round(100 * counts["on_time"] / decided) if decided else 0
    return counts


def ehch_compliance(
    *, practice_ids: _Any, start: _date, end: _date, today: _date | None = None
) -> dict[str, int]:
    """EHCH 7-working-day compliance for care home admissions from `start` to `end` (inclusive) at
    the practices (the figure reporting reads): `ehch_counts` of `ehch_admissions`. Two queries."""
    return ehch_counts(ehch_admissions(practice_ids=practice_ids, start=start, end=end, today=today))


# --- EHCH badges on lists (My caseload, MDT suggestions) ------------------------------------------------
#
# The lists show the patient page's badge on every row, so the state is worked out for a page of
# patients at once: a fixed number of queries however many rows, by the same `_ehch_state`.

from collections.abc import Iterable as _Iterable  # noqa: E402

from django.db.models import Max as _Max  # noqa: E402

EHCH_BADGE_STATES = ("due", "overdue")


def ehch_pcsp_due_for(*, patient_ids: _Iterable[int], today: _date | None = None) -> dict[int, EhchDue]:
    """`ehch_pcsp_due` for many patients, by patient id; patients without a care home admission are
    left out. Two queries at most, whatever the number of patients (none without patients, one when
    none of them has an admission). Portable SQL (a GROUP BY, not DISTINCT ON): `make run` uses SQLite."""
    ids = list(patient_ids)
    if not ids:
        return {}
    latest = (
        _CareEvent.objects.filter(patient_id__in=ids, kind=_CareEvent.Kind.CARE_HOME_ADMISSION)
        .order_by()
        .values("patient_id")
        .annotate(latest_at=_Max("occurred_at"))
        .values_list("patient_id", "latest_at")
    )
    admitted = {patient_id: _timezone.localdate(latest_at) for patient_id, latest_at in latest}
    if not admitted:
        return {}
    agreed: dict[int, list[_date]] = {}
    for patient_id, agreed_on in (
        _Version.objects.filter(plan__patient_id__in=list(admitted), agreed_on__gte=min(admitted.values()))
        .exclude(status=_Version.Status.DRAFT)
        .values_list("plan__patient_id", "agreed_on")
    ):
        agreed.setdefault(patient_id, []).append(agreed_on)
    today = today or _timezone.localdate()
    return {
        patient_id: _ehch_state(admitted_on, agreed.get(patient_id, []), today)
        for patient_id, admitted_on in admitted.items()
    }


def ehch_badges_for(*, patient_ids: _Iterable[int], today: _date | None = None) -> dict[int, EhchDue]:
    """The patients of `ehch_pcsp_due_for` that get a badge: a PCSP still due, or overdue."""
    return {
        patient_id: due
        for patient_id, due in ehch_pcsp_due_for(patient_ids=patient_ids, today=today).items()
        if due.state in EHCH_BADGE_STATES
    }
