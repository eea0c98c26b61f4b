"""Circulation: each member of the series is sent the agenda pack (and later the minutes) by email, at
most once per meeting and kind; a coordinator can send one member's copy again.

The Circulation row (unique meeting × kind × email) is claimed by setting sent_at atomically before
sending, so two runs of the task, or a redelivery after a crash, cannot send twice; a failed send
releases the claim and re-raises. The beat sweep that queues circulations is in mdt/tasks.py.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from mdt.models import Circulation, Meeting, MeetingDocument
from mdt.services.packs import meeting_document_render
from pcn.audit import audit, audit_by


def _circulation_recipients(series: Any) -> list[dict[str, Any]]:
    """Each member once by email: users who sign in (the chair too) and external members."""
    recipients: dict[str, dict[str, Any]] = {}
    users = [*series.members.filter(is_active=True), series.chair]
    for user in users:
        if user.email and user.is_active:
            recipients.setdefault(user.email.lower(), {"user": user, "external_member": None})
    for member in series.external_members.all():
        recipients.setdefault(member.email.lower(), {"user": None, "external_member": member})
    return [{"email": email, **who} for email, who in sorted(recipients.items())]


def _circulation_message(*, circulation: Any, meeting: Any, document: Any) -> Any:
    series = meeting.series
    external = circulation.external_member_id is not None
    attach = external and series.attachments_to_external
    what = "minutes" if circulation.kind == Circulation.Kind.MINUTES else "agenda"
    body = render_to_string(
        "mdt/email/circulation.txt",
        {
            "what": what,
            "series": series,
            "meeting": meeting,
            "starts": timezone.localtime(meeting.starts_at),
            "place": meeting.place or series.place,
            "video_link": meeting.video_link or series.video_link,
            "patients": _patients_for(circulation=circulation, meeting=meeting),
            "external": external,
            "attached": attach,
            "link": settings.SITE_URL.rstrip("/") + reverse("mdt:meeting_detail", args=[meeting.pk]),
        },
    )
    starts = timezone.localtime(meeting.starts_at)
    message = EmailMessage(
        subject=f"{series.name}: {what} for {starts:%A %-d %B %Y}", body=body, to=[circulation.email]
    )
    if attach:
        with document.file.open("rb") as pdf:
            message.attach(f"{series.name} {starts:%Y-%m-%d} {what}.pdf", pdf.read(), "application/pdf")
    return message


def _patients_for(*, circulation: Any, meeting: Meeting) -> int:
    """How many patients on the agenda this recipient can see: a member who signs in is told of their
    own practices' patients only (the number is all they learn of the others' otherwise); an external
    member, of every patient (the pack they may be sent shows them all)."""
    if circulation.user_id is None:
        return meeting.items.count()
    return meeting.items.visible_to(circulation.user).count()


def _document_kind(circulation_kind: str) -> str:
    """The pack a circulation sends: the agenda pack, or the minutes."""
    if circulation_kind == Circulation.Kind.MINUTES:
        return MeetingDocument.Kind.MINUTES
    return MeetingDocument.Kind.AGENDA_PACK


def _circulate(*, meeting: Any, kind: str) -> int:
    """Send the agenda (or minutes) to each member at most once; returns how many this call sent."""
    document = meeting_document_render(meeting=meeting, kind=_document_kind(kind))
    if document.state != MeetingDocument.State.READY:
        raise ValidationError("The pack is not ready.", code="not_ready")
    sent = 0
    for recipient in _circulation_recipients(meeting.series):
        circulation, _ = Circulation.objects.get_or_create(
            meeting=meeting, kind=kind, email=recipient["email"],
            defaults={"user": recipient["user"], "external_member": recipient["external_member"]},
        )  # fmt: skip
        # The claim: only the call that moves sent_at from null sends.
        unsent = Circulation.objects.filter(pk=circulation.pk, sent_at__isnull=True)
        claimed = unsent.update(sent_at=timezone.now())
        if not claimed:
            continue
        try:
            _circulation_message(circulation=circulation, meeting=meeting, document=document).send()
        except Exception:
            Circulation.objects.filter(pk=circulation.pk).update(sent_at=None)
            raise
        sent += 1
    patient_ids = list(meeting.items.values_list("patient_id", flat=True))
    audit(None, f"mdt.{kind}.circulate", patient_ids, meeting_id=meeting.pk, sent=sent)
    return sent


def agenda_circulate(*, meeting: Any) -> int:
    """Circulate the agenda pack (rendering it first if it is missing or stale) and mark the meeting."""
    sent = _circulate(meeting=meeting, kind=Circulation.Kind.AGENDA)
    Meeting.objects.filter(pk=meeting.pk, circulated_at__isnull=True).update(circulated_at=timezone.now())
    return sent


def minutes_circulate(*, meeting: Any) -> int:
    """Circulate the signed-off minutes, each member once (like the agenda)."""
    if not meeting.minutes_locked:
        raise ValidationError("The minutes are not signed off yet.", code="not_signed_off")
    return _circulate(meeting=meeting, kind=Circulation.Kind.MINUTES)


def circulation_resend(*, circulation: Any, by: Any) -> Any:
    """Send one member's copy again by hand (the coordinator's choice, so no once-only claim)."""
    meeting = circulation.meeting
    document = MeetingDocument.objects.filter(meeting=meeting, kind=_document_kind(circulation.kind)).first()
    if document is None or document.state != MeetingDocument.State.READY or not document.file:
        raise ValidationError("The pack is being made: re-send it once it is ready.", code="not_ready")
    _circulation_message(circulation=circulation, meeting=meeting, document=document).send()
    now = timezone.now()
    circulation.resent_at = now
    circulation.sent_at = circulation.sent_at or now
    circulation.save(update_fields=["resent_at", "sent_at"])
    patient_ids = list(meeting.items.values_list("patient_id", flat=True))
    audit_by(
        by, f"mdt.{circulation.kind}.resend", patient_ids, meeting_id=meeting.pk,
        circulation_id=circulation.pk, email=circulation.email,
    )  # fmt: skip
    return circulation
