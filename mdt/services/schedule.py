"""The schedule of a series: its occurrences, keeping it (and its next agenda) current, and moving or
cancelling one meeting.

Recurrence rules (the series' weekday, start_time and frequency, in Europe/London local time):
- weekly: every week on the weekday; fortnightly: every other week, counted from the series' first
  meeting (or, for a series without meetings yet, from the first occurrence after now);
- monthly: the same weekday-of-month ordinal as the first meeting ("2nd Tuesday"); a first meeting in
  the 5th week counts as the 4th, so that every month has its occurrence.
Each occurrence's local wall-clock time is converted to UTC on its own date, so a weekly 13:00 meeting
stays at 13:00 local across the clock changes (12:00 UTC in summer, 13:00 UTC in winter).
The agenda circulates `circulate_days_before` working days before the meeting, at 09:00 local time:
the start of the working day, whatever time the meeting itself starts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from caseload.models import Referral
from caseload.services.referrals import referral_direct_to_mdt
from mdt.models import Meeting, MeetingSeries
from mdt.services.agenda import agenda_next_open, agenda_refresh
from pcn.audit import audit_by
from pcn.models import User
from pcn.working_days import subtract_working_days

LONDON_TZ_NAME = "Europe/London"
LONDON = ZoneInfo(LONDON_TZ_NAME)
CIRCULATION_LOCAL_HOUR = 9


def _local_to_utc(day: Any, at: Any) -> Any:
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


def meeting_circulate_at(*, series: Any, starts_at: Any) -> Any:
    """When the agenda pack goes out: N working days before the meeting's local date, at 09:00 local."""
    local_day = starts_at.astimezone(LONDON).date()
    day = subtract_working_days(local_day, series.circulate_days_before)
    return _local_to_utc(day, time(CIRCULATION_LOCAL_HOUR))


def _nth_weekday(year: int, month: int, weekday: int, ordinal: int) -> Any:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (ordinal - 1))


def series_occurrences(*, series: Any, anchor: Any) -> Any:
    """Local dates of the series' occurrences from `anchor` (a local date on the series' weekday) on."""
    if series.frequency == series.Frequency.MONTHLY:
        ordinal = min((anchor.day - 1) // 7 + 1, 4)
        year, month = anchor.year, anchor.month
        while True:
            yield _nth_weekday(year, month, series.weekday, ordinal)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    step = 14 if series.frequency == series.Frequency.FORTNIGHTLY else 7
    day = anchor
    while True:
        yield day
        day += timedelta(days=step)


def meetings_schedule(*, series: Any, now: Any) -> list[Any]:
    """Create the series' missing future occurrences, up to `meetings_ahead` of them after `now`.

    Idempotent: an occurrence is identified by (series, scheduled_for), which a moved meeting keeps;
    a cancelled occurrence stays cancelled and still counts. Returns the meetings created.
    """
    if not series.is_active:
        return []
    first = (
        Meeting.objects.filter(series=series)
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
    )
    first_at = first.first()
    if first_at is not None and series.frequency != series.Frequency.WEEKLY:
        anchor = first_at.astimezone(LONDON).date()
        if series.frequency == series.Frequency.FORTNIGHTLY:
            # Jump to shortly before now rather than walking from a first meeting years ago.
            weeks = max(0, (now.astimezone(LONDON).date() - anchor).days // 14 - 1)
            anchor += timedelta(days=14 * weeks)
        elif anchor.year * 12 + anchor.month < now.year * 12 + now.month - 1:
            ordinal = min((anchor.day - 1) // 7 + 1, 4)
            prev = now.astimezone(LONDON).date().replace(day=1) - timedelta(days=1)
            anchor = _nth_weekday(prev.year, prev.month, series.weekday, ordinal)
    else:
        today = now.astimezone(LONDON).date()
        anchor = today + timedelta(days=(series.weekday - today.weekday()) % 7)
    wanted = []
    for day in series_occurrences(series=series, anchor=anchor):
        at = _local_to_utc(day, series.start_time)
        if at <= now:
            continue
        wanted.append(at)
        if len(wanted) == series.meetings_ahead:
            break
    existing = set(
        Meeting.objects.filter(series=series, scheduled_for__in=wanted).values_list(
            "scheduled_for", flat=True
        )
    )
    new = [
        Meeting(
            series=series,
            starts_at=at,
            scheduled_for=at,
            duration_minutes=series.duration_minutes,
            place=series.place,
            video_link=series.video_link,
            circulate_at=meeting_circulate_at(series=series, starts_at=at),
        )
        for at in wanted
        if at not in existing
    ]
    # ignore_conflicts: two sweeps racing each other create each occurrence once (the unique constraint).
    Meeting.objects.bulk_create(new, ignore_conflicts=True)
    return new


def series_keep_current(*, now: Any) -> int:
    """Every active series scheduled ahead, and each series' next uncirculated agenda refreshed."""
    created = 0
    for series in MeetingSeries.objects.filter(is_active=True):
        created += len(meetings_schedule(series=series, now=now))
        upcoming = agenda_next_open(series=series, now=now)
        if upcoming is not None:
            agenda_refresh(meeting=upcoming)
    return created


def series_agenda_refresh(*, series: MeetingSeries, now: datetime) -> Meeting | None:
    """Bring the series' next open agenda up to date now, rather than at the next hourly sweep: what
    directing a referral to the series, or cancelling one of its meetings, calls. Schedules the series'
    meetings first if none is open yet (a new series the sweep has not reached). Returns that meeting,
    or None when the series has no open meeting (inactive, or every meeting ahead already circulated:
    the sweep puts the referral on the next one when it is scheduled)."""
    meeting = agenda_next_open(series=series, now=now)
    if meeting is None:
        meetings_schedule(series=series, now=now)
        meeting = agenda_next_open(series=series, now=now)
    if meeting is not None:
        agenda_refresh(meeting=meeting)
    return meeting


@transaction.atomic
def referral_to_agenda(*, referral: Referral, series: MeetingSeries, by: User) -> Meeting | None:
    """Direct a referral to an MDT (caseload records the decision, refusing one that does not meet the
    criteria) and put the patient on the series' next open agenda now, not at the next hourly sweep.
    Returns that meeting, or None when no agenda is open yet (the sweep adds them to the next one)."""
    referral_direct_to_mdt(referral=referral, series=series, by=by)
    return series_agenda_refresh(series=series, now=timezone.now())


def _series_recipients(series: Any) -> list[str]:
    emails = [u.email for u in series.members.filter(is_active=True) if u.email]
    emails += [m.email for m in series.external_members.all()]
    if series.chair.email:
        emails.append(series.chair.email)
    return sorted(set(emails))


def _tell_members(*, meeting: Any, subject: str, body: str) -> None:
    """One plain email per member, after the change commits. No patient data: the agenda is not named."""
    recipients = _series_recipients(meeting.series)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=False))


def _local_label(at: Any) -> str:
    return at.astimezone(LONDON).strftime("%A %-d %B %Y at %H:%M")


def meeting_move(*, meeting: Any, starts_at: Any, by: Any, place: str | None = None) -> Any:
    """Move one occurrence (it keeps its scheduled_for, so the schedule does not recreate it)."""
    if meeting.status != Meeting.Status.SCHEDULED:
        raise ValidationError("Only a scheduled meeting can be moved.", code="not_scheduled")
    with transaction.atomic():
        was = meeting.starts_at
        meeting.starts_at = starts_at
        fields = ["starts_at", "updated_at"]
        if meeting.circulated_at is None:
            meeting.circulate_at = meeting_circulate_at(series=meeting.series, starts_at=starts_at)
            fields.append("circulate_at")
        if place is not None:
            meeting.place = place
            fields.append("place")
        meeting.save(update_fields=fields)
        audit_by(by, "mdt.meeting.move", meeting_id=meeting.pk, was=was.isoformat())
        where = meeting.place or ("Video call: " + meeting.video_link if meeting.video_link else "")
        _tell_members(
            meeting=meeting,
            subject=f"{meeting.series.name}: meeting moved",
            body=(
                f"The {meeting.series.name} meeting on {_local_label(was)} has moved to "
                f"{_local_label(starts_at)}.\n" + (f"{where}\n" if where else "")
            ),
        )
    return meeting


def meeting_cancel(*, meeting: Any, by: Any) -> Any:
    if meeting.status != Meeting.Status.SCHEDULED:
        raise ValidationError("Only a scheduled meeting can be cancelled.", code="not_scheduled")
    with transaction.atomic():
        meeting.status = Meeting.Status.CANCELLED
        meeting.save(update_fields=["status", "updated_at"])
        audit_by(by, "mdt.meeting.cancel", meeting_id=meeting.pk)
        # The referrals on its agenda go on to the series' next open agenda (agenda_refresh leaves out
        # only referrals on a meeting that is not cancelled); with none open, the hourly sweep's.
        upcoming = agenda_next_open(series=meeting.series, now=timezone.now())
        if upcoming is not None:
            agenda_refresh(meeting=upcoming)
        _tell_members(
            meeting=meeting,
            subject=f"{meeting.series.name}: meeting cancelled",
            body=f"The {meeting.series.name} meeting on {_local_label(meeting.starts_at)} is cancelled.\n",
        )
    return meeting
