"""Care plans and their versions: starting a draft, saving it, agreeing it, comparing two versions.

One draft at a time per plan. An agreed version never changes: editing starts a new draft pre-filled
from it (its goals and support needs copied). A save carries the lock_version it read; a stale one
is refused so that nobody's changes are silently overwritten.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from careplans.models import CarePlan, CarePlanVersion, Goal, SupportNeed, version_copy
from caseload.codes import Code
from caseload.models import CaseloadEpisode, Patient
from caseload.services.coding import coding_entry_record
from pcn.models import User

PCSP_AGREED = Code("pcsp_agreed", "Personalised care and support plan agreed", None)  # no id known

# The plan's own fields a save may change (the form's fields), in the order the plan shows them.
PLAN_FIELDS = (
    "about_me", "what_matters", "strengths", "who_supports_me", "health_conditions",
    "decision_aids_used", "decisions_reached", "contingency_plan", "advance_care_planning",
    "respect_status", "named_coordinator", "gp_name", "other_contacts", "consent_to_share", "share_with",
    "review_date",
)  # fmt: skip
STALE_MESSAGE = "Someone else saved this plan since you opened it: your changes are below, not saved"
GOAL_FIELDS = ("goal", "steps", "who_helps", "target_date", "progress", "met_on", "signposting")
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
        raise ValidationError(STALE_MESSAGE, code="stale")
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
            field = CarePlanVersion._meta.get_field(name)
            label = str(field.verbose_name)  # type: ignore[union-attr]  # PLAN_FIELDS are columns, not relations
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
