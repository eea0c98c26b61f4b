"""Safeguarding concerns: raising one (in one transaction: the concern, a task for each person it goes
to, the audit row; the email after commit), acknowledging it and closing it with an outcome.

It goes to the practice's named safeguarding lead (`Practice.safeguarding_lead`); a practice without one
(or whose lead no longer signs in or holds a role there) sends it to its clinical leads instead.
"""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.models import Patient, SafeguardingConcern, Task
from caseload.services.tasks import task_complete, task_create
from caseload.tasks import safeguarding_concern_notify_task
from pcn.audit import audit
from pcn.models import Practice, Role, User
from pcn.outbox import enqueue_on_commit
from pcn.working_days import add_working_days

TASK_TITLE = "Acknowledge a safeguarding concern"  # tasks show to the team: nothing of the concern


def safeguarding_lead_of(practice: Practice) -> User | None:
    """The practice's safeguarding lead while they sign in and hold a role there; else None."""
    lead = practice.safeguarding_lead
    if lead is None or not lead.is_active or not lead.memberships.filter(practice=practice).exists():
        return None
    return lead


def safeguarding_recipients(practice: Practice) -> tuple[list[User], bool]:
    """Who a concern at `practice` goes to, and whether that is its clinical leads (no lead named)."""
    lead = safeguarding_lead_of(practice)
    if lead is not None:
        return [lead], False
    return list(User.objects.with_role_at([practice.pk], Role.CLINICAL_LEAD)), True


def _task_due(*, immediate_risk: bool, today: date) -> date:
    # Immediate risk: today. Otherwise by the next working day.
    return today if immediate_risk else add_working_days(today, 1)


@transaction.atomic
def safeguarding_concern_raise(
    *, patient: Patient, category: str, what_happened: str, immediate_risk: bool, by: User
) -> SafeguardingConcern:
    what_happened = (what_happened or "").strip()
    if not what_happened:
        raise ValidationError({"what_happened": "Enter what was seen or said"})
    recipients, to_clinical_leads = safeguarding_recipients(patient.practice)
    concern = SafeguardingConcern.objects.create(
        patient=patient, category=category, what_happened=what_happened, immediate_risk=immediate_risk,
        raised_by=by, sent_to_clinical_leads=to_clinical_leads,
    )  # fmt: skip
    due_on = _task_due(immediate_risk=immediate_risk, today=timezone.localdate())
    for owner in recipients:
        task_create(
            patient=patient, title=TASK_TITLE, owner=owner, due_on=due_on, kind=Task.Kind.SAFEGUARDING,
            safeguarding_concern=concern, by=by,
        )  # fmt: skip
    # The audit row names the concern, never its category or words.
    audit(
        None, "safeguarding.raise", [patient], user=by, concern_id=concern.pk, immediate_risk=immediate_risk,
        sent_to=[user.pk for user in recipients], sent_to_clinical_leads=to_clinical_leads,
    )  # fmt: skip
    enqueue_on_commit(safeguarding_concern_notify_task, concern.pk)
    return concern


def _lock_for(concern: SafeguardingConcern, by: User) -> SafeguardingConcern:
    if not SafeguardingConcern.objects.actionable_by(by).filter(pk=concern.pk).exists():
        raise PermissionDenied("Only the practice's safeguarding lead or a clinical lead can do this.")
    return SafeguardingConcern.objects.select_for_update().get(pk=concern.pk)


def _copy_state(concern: SafeguardingConcern, locked: SafeguardingConcern) -> None:
    for name in ("state", "acknowledged_by_id", "acknowledged_at", "closed_by_id", "closed_at", "outcome"):
        setattr(concern, name, getattr(locked, name))


@transaction.atomic
def safeguarding_concern_acknowledge(*, concern: SafeguardingConcern, by: User) -> bool:
    """Acknowledge the concern and finish its tasks. Safe to repeat: False when it was acknowledged
    already (it keeps who did and when)."""
    locked = _lock_for(concern, by)
    if locked.state != SafeguardingConcern.State.RAISED:
        _copy_state(concern, locked)
        return False
    locked.state, locked.acknowledged_by, locked.acknowledged_at = (
        SafeguardingConcern.State.ACKNOWLEDGED, by, timezone.now(),
    )  # fmt: skip
    locked.save(update_fields=["state", "acknowledged_by", "acknowledged_at", "updated_at"])
    for task in locked.tasks.open():
        task_complete(task=task, by=by)
    audit(None, "safeguarding.acknowledge", [locked.patient_id], user=by, concern_id=locked.pk)
    _copy_state(concern, locked)
    return True


@transaction.atomic
def safeguarding_concern_close(
    *, concern: SafeguardingConcern, outcome: str, by: User
) -> SafeguardingConcern:
    """Close an acknowledged concern with its outcome (what was done)."""
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError({"outcome": "Enter the outcome"})
    locked = _lock_for(concern, by)
    if locked.state == SafeguardingConcern.State.RAISED:
        raise ValidationError("Acknowledge the concern before closing it.", code="not_acknowledged")
    if locked.state == SafeguardingConcern.State.CLOSED:
        raise ValidationError("The concern is closed already.", code="closed")
    locked.state, locked.closed_by, locked.closed_at, locked.outcome = (
        SafeguardingConcern.State.CLOSED, by, timezone.now(), outcome,
    )  # fmt: skip
    locked.save(update_fields=["state", "closed_by", "closed_at", "outcome", "updated_at"])
    audit(None, "safeguarding.close", [locked.patient_id], user=by, concern_id=locked.pk)
    _copy_state(concern, locked)
    return concern
