"""Telling the people a safeguarding concern went to: one email each, with a link and nothing about the
person or the concern (an email can be forwarded, misaddressed or read over a shoulder). Run by a Celery
task after the concern commits (caseload.tasks.safeguarding_concern_notify_task)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from caseload.models import SafeguardingConcern


def safeguarding_email_subject(concern: SafeguardingConcern) -> str:
    if concern.immediate_risk:
        return "Urgent: a safeguarding concern to acknowledge now"
    return "A safeguarding concern to acknowledge"


@transaction.atomic
def safeguarding_concern_notify(*, concern_id: int) -> int:
    """Email each owner of the concern's tasks (the safeguarding lead, or the clinical leads). Returns
    the number sent. Safe to run twice: `notified_at`, set in the same transaction, says it went."""
    concern = (
        SafeguardingConcern.objects.select_for_update(of=("self",))
        .select_related("patient__practice", "raised_by")
        .get(pk=concern_id)
    )
    if concern.notified_at is not None:
        return 0
    owners = sorted({task.owner for task in concern.tasks.select_related("owner")}, key=lambda u: u.pk)
    context = {
        "concern": concern,
        "practice": concern.patient.practice,
        "link": settings.SITE_URL.rstrip("/") + concern.get_absolute_url(),
    }
    messages = [
        EmailMessage(
            subject=safeguarding_email_subject(concern),
            body=render_to_string("caseload/email/safeguarding_concern.txt", {**context, "recipient": owner}),
            to=[owner.email],
        )
        for owner in owners
        if owner.is_active and owner.email
    ]
    for message in messages:
        message.send()
    concern.notified_at = timezone.now()
    concern.save(update_fields=["notified_at", "updated_at"])
    return len(messages)
