"""Actions from an agenda item: created while the minutes are taken, then done or cancelled with a note.
Chasing the overdue ones is in `chasing`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mdt.models import Action
from mdt.services.minutes import meeting_row_locked, refuse_if_minutes_locked
from pcn.audit import audit_by


def action_create(
    *, item: Any, what: str, due_on: Any, by: Any, owner_user: Any = None, owner_external: Any = None
) -> Any:
    """An action from an agenda item, owned by one user or one external member of the series."""
    if (owner_user is None) == (owner_external is None):
        raise ValidationError("Choose one owner: a user or an external member.", code="owner")
    with transaction.atomic():
        meeting = meeting_row_locked(item.meeting_id)
        refuse_if_minutes_locked(meeting)
        if owner_external is not None and owner_external.series_id != meeting.series_id:
            raise ValidationError("That external member is not in this meeting's series.", code="owner")
        action = Action.objects.create(
            item=item, what=what, due_on=due_on, owner_user=owner_user, owner_external=owner_external,
            created_by=by,
        )  # fmt: skip
        audit_by(by, "mdt.action.create", [item.patient_id], action_id=action.pk)
    return action


def _action_close(*, action: Any, status: str, note: str, by: Any, verb: str) -> Any:
    if not note.strip():
        raise ValidationError("Say why (a note or a reason is required).", code="note")
    with transaction.atomic():
        action = Action.objects.select_for_update().select_related("item").get(pk=action.pk)
        if action.status != Action.Status.OPEN:
            raise ValidationError(
                f"This action is already {action.get_status_display().lower()}.", code="closed"
            )
        action.status, action.closed_note, action.closed_by, action.closed_at = (
            status,
            note.strip(),
            by,
            timezone.now(),
        )
        action.save(update_fields=["status", "closed_note", "closed_by", "closed_at"])
        audit_by(by, f"mdt.action.{verb}", [action.item.patient_id], action_id=action.pk)
    return action


def action_complete(*, action: Any, note: str, by: Any) -> Any:
    return _action_close(action=action, status=Action.Status.DONE, note=note, by=by, verb="complete")


def action_cancel(*, action: Any, reason: str, by: Any) -> Any:
    return _action_close(action=action, status=Action.Status.CANCELLED, note=reason, by=by, verb="cancel")
