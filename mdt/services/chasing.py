"""Chasing overdue actions: a daily email to each owner, copying the chair after repeated chases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from mdt.models import Action, ActionChase


def _initials(patient: Any) -> str:
    return (
        "".join(f"{name[:1].upper()}." for name in (patient.given_name, patient.family_name) if name) or "-"
    )


def actions_chase(*, today: Any) -> int:
    """Email the owner of every overdue open action not chased in the last MDT_CHASE_INTERVAL_DAYS;
    from the (MDT_CHASE_ESCALATE_AFTER + 1)th chase on, copy the series' chair. Returns the number sent.

    Safe to run twice: the ActionChase row (one per action per day, a unique constraint) is written
    in the same transaction as the email is sent, so a second run, or a concurrent one, sends nothing.
    The email names the patient by initials only, with the meeting date and the action text.
    """
    interval = settings.MDT_CHASE_INTERVAL_DAYS
    escalate_after = settings.MDT_CHASE_ESCALATE_AFTER
    due = (
        Action.objects.overdue(on=today)
        .annotate(chase_count=Count("chases"), last_chased_on=Max("chases__sent_on"))
        .filter(Q(last_chased_on__isnull=True) | Q(last_chased_on__lte=today - timedelta(days=interval)))
        .select_related("item__patient", "item__meeting__series__chair", "owner_user", "owner_external")
        .order_by("due_on", "id")
    )
    sent = 0
    for action in due:
        # The action_one_owner constraint: an action without a user owner has an external one.
        to_email = action.owner_user.email if action.owner_user else action.owner_external.email  # type: ignore[union-attr]
        chair = action.item.meeting.series.chair
        escalated = action.chase_count >= escalate_after
        meeting_day = timezone.localdate(action.item.meeting.starts_at)
        body = (
            f"An action from the {action.item.meeting.series.name} meeting on {meeting_day:%-d %B %Y} "
            f"is overdue.\n\n"
            f"Patient: {_initials(action.item.patient)}\n"
            f"Action: {action.what}\n"
            f"Due: {action.due_on:%-d %B %Y}\n"
            f"Reminder number: {action.chase_count + 1}\n\n"
            "Please do it, or sign in to mark it done or cancelled with a reason."
        )
        if escalated:
            body += f"\n\n{chair} (chair) is copied: this action has been chased {action.chase_count} times."
        message = EmailMessage(
            subject=f"Overdue MDT action, due {action.due_on:%-d %B %Y}",
            body=body,
            to=[to_email],
            cc=[chair.email] if escalated and chair.email != to_email else [],
        )
        try:
            with transaction.atomic():
                ActionChase.objects.create(
                    action=action, sent_on=today, to_email=to_email, escalated=escalated
                )
                message.send()
        except IntegrityError:
            continue  # another run chased it today
        sent += 1
    return sent
