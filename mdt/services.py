"""MDT meetings: scheduling, agendas, circulation, minutes and actions (writes and assembled reads).

Each engineer's part is a section below; imports used by more than one section sit here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from caseload.models import Patient, Referral
from mdt.models import AgendaItem, Meeting, MeetingDocument, MeetingSeries
from mdt.tasks import render_meeting_document_task
from pcn.models import User

# --- Minutes and actions (issue "MDT meetings") -------------------------------------------------------
#
# The minutes are one Discussion per agenda item, saved item by item while the meeting runs: a save
# carries the version it read, so two people typing into the same item cannot overwrite each other
# silently, and different items never conflict. The chair's sign-off locks them; corrections after
# that are addenda. Imports are inside the functions: this module is shared by several sections.


def _locked_meeting(meeting_id: int) -> Any:
    """The meeting, row-locked, so that a sign-off and a save of its minutes never interleave."""
    from mdt.models import Meeting

    return Meeting.objects.select_related("series").select_for_update(of=("self",)).get(pk=meeting_id)


def _refuse_if_locked(meeting: Any) -> None:
    from django.core.exceptions import ValidationError

    if meeting.minutes_locked:
        raise ValidationError(
            "The minutes are signed off and locked: add an addendum to correct them.", code="locked"
        )


def attendance_set(*, meeting: Any, user_ids: Any, external_member_ids: Any, by: Any) -> Any:
    """Who was present: exactly the users and external members given (of the series), nobody else."""
    from django.db import transaction

    from mdt.models import Attendance
    from pcn.audit import audit

    with transaction.atomic():
        meeting = _locked_meeting(meeting.pk)
        _refuse_if_locked(meeting)
        users = set(user_ids)
        externals = set(
            meeting.series.external_members.filter(pk__in=external_member_ids).values_list("pk", flat=True)
        )
        meeting.attendance.all().delete()
        Attendance.objects.bulk_create(
            [Attendance(meeting=meeting, user_id=pk) for pk in sorted(users)]
            + [Attendance(meeting=meeting, external_member_id=pk) for pk in sorted(externals)]
        )
        audit(None, "mdt.attendance", user=by, meeting_id=meeting.pk, present=len(users) + len(externals))
    return meeting


def discussion_save(*, item: Any, notes: str, outcome: str, version: int, by: Any) -> Any:
    """Save one item's discussion if nobody has saved it since `version` was read (optimistic lock).

    Refused (ValidationError, code "stale") when the stored version has moved on: the other person's
    text stays as it is, and the refused text is returned to the user to merge. Refused ("locked")
    once the minutes are signed off.
    """
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from mdt.models import Discussion
    from pcn.audit import audit

    if outcome and outcome not in Discussion.Outcome.values:
        raise ValidationError("Choose an outcome from the list.", code="outcome")
    with transaction.atomic():
        _refuse_if_locked(_locked_meeting(item.meeting_id))
        saved = Discussion.objects.filter(item=item, version=version).update(
            notes=notes, outcome=outcome, version=F("version") + 1, updated_by=by, updated_at=timezone.now()
        )
        if not saved:
            if version != 0 or Discussion.objects.filter(item=item).exists():
                raise ValidationError(
                    "Someone else saved this item while you were typing. Your text has not been saved: "
                    "it is shown below theirs so that you can merge the two and save again.",
                    code="stale",
                )
            Discussion.objects.create(item=item, notes=notes, outcome=outcome, version=1, updated_by=by)
        audit(None, "mdt.discussion.save", [item.patient_id], user=by, item_id=item.pk)
    return Discussion.objects.get(item=item)


def action_create(
    *, item: Any, what: str, due_on: Any, by: Any, owner_user: Any = None, owner_external: Any = None
) -> Any:
    """An action from an agenda item, owned by one user or one external member of the series."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from mdt.models import Action
    from pcn.audit import audit

    if (owner_user is None) == (owner_external is None):
        raise ValidationError("Choose one owner: a user or an external member.", code="owner")
    with transaction.atomic():
        meeting = _locked_meeting(item.meeting_id)
        _refuse_if_locked(meeting)
        if owner_external is not None and owner_external.series_id != meeting.series_id:
            raise ValidationError("That external member is not in this meeting's series.", code="owner")
        action = Action.objects.create(
            item=item, what=what, due_on=due_on, owner_user=owner_user, owner_external=owner_external,
            created_by=by,
        )  # fmt: skip
        audit(None, "mdt.action.create", [item.patient_id], user=by, action_id=action.pk)
    return action


def _action_close(*, action: Any, status: str, note: str, by: Any, verb: str) -> Any:
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils import timezone

    from mdt.models import Action
    from pcn.audit import audit

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
        audit(None, f"mdt.action.{verb}", [action.item.patient_id], user=by, action_id=action.pk)
    return action


def action_complete(*, action: Any, note: str, by: Any) -> Any:
    from mdt.models import Action

    return _action_close(action=action, status=Action.Status.DONE, note=note, by=by, verb="complete")


def action_cancel(*, action: Any, reason: str, by: Any) -> Any:
    from mdt.models import Action

    return _action_close(action=action, status=Action.Status.CANCELLED, note=reason, by=by, verb="cancel")


MDT_CONFERENCE_TERM = "Multidisciplinary care conference"


def minutes_sign_off(*, meeting: Any, by: Any) -> Any:
    """The series chair signs off the minutes: they lock, and each discussed patient gets a coding row.

    The coding row carries the term only: DOMAIN.md gives no SNOMED CT id for it (never invent one).
    """
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils import timezone

    from caseload.codes import Code
    from caseload.services.coding import coding_entry_record
    from mdt.models import AgendaItem, Meeting
    from pcn.audit import audit

    code = Code("mdt_conference", MDT_CONFERENCE_TERM, None)
    with transaction.atomic():
        meeting = _locked_meeting(meeting.pk)
        if meeting.series.chair_id != by.pk:
            raise ValidationError("Only the chair of the series can sign off the minutes.", code="not_chair")
        _refuse_if_locked(meeting)
        meeting.minutes_signed_off_at, meeting.minutes_signed_off_by = timezone.now(), by
        fields = ["minutes_signed_off_at", "minutes_signed_off_by", "updated_at"]
        if meeting.status == Meeting.Status.SCHEDULED:
            meeting.status = Meeting.Status.HELD
            fields.append("status")
        meeting.save(update_fields=fields)
        discussed = AgendaItem.objects.filter(meeting=meeting, discussion__isnull=False).select_related(
            "patient"
        )
        coded_on = timezone.localdate(meeting.starts_at)
        patients = [item.patient for item in discussed]
        for patient in patients:
            coding_entry_record(
                patient=patient, coded_on=coded_on, code=code, recorded_by=by,
                source=f"mdt:{meeting.pk}:{patient.pk}",
            )  # fmt: skip
        audit(None, "mdt.minutes.sign_off", patients, user=by, meeting_id=meeting.pk)
        _minutes_circulate_on_commit(meeting)
    return meeting


def _minutes_circulate_on_commit(meeting: Any) -> None:
    """Render the signed-off minutes as PDF and circulate them like the agenda, once this commits
    (the PDF/circulation section: each member at most once)."""
    from django.db import transaction

    from mdt.models import MeetingDocument
    from mdt.tasks import circulate_minutes_task

    meeting_document_request(meeting=meeting, kind=MeetingDocument.Kind.MINUTES)
    transaction.on_commit(lambda: circulate_minutes_task.delay(meeting.pk))


def addendum_add(*, meeting: Any, text: str, by: Any) -> Any:
    """A correction to signed-off minutes (before sign-off, the discussion itself is edited)."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from mdt.models import Addendum
    from pcn.audit import audit

    if not text.strip():
        raise ValidationError("Write the correction.", code="text")
    with transaction.atomic():
        meeting = _locked_meeting(meeting.pk)
        if not meeting.minutes_locked:
            raise ValidationError(
                "The minutes are not signed off yet: correct the discussion itself.", code="not_locked"
            )
        addendum = Addendum.objects.create(meeting=meeting, text=text.strip(), added_by=by)
        patient_ids = list(meeting.items.values_list("patient_id", flat=True))
        audit(None, "mdt.addendum.add", patient_ids, user=by, meeting_id=meeting.pk, addendum_id=addendum.pk)
    return addendum


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
    from datetime import timedelta

    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.db import IntegrityError, transaction
    from django.db.models import Count, Max, Q
    from django.utils import timezone

    from mdt.models import Action, ActionChase

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
        to_email = action.owner_user.email if action.owner_user else action.owner_external.email
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


# --- Schedule: occurrences, moving and cancelling (issue "MDT meetings", part 1) -----------------------
#
# Recurrence rules (the series' weekday, start_time and frequency, in Europe/London local time):
# - weekly: every week on the weekday; fortnightly: every other week, counted from the series' first
#   meeting (or, for a series without meetings yet, from the first occurrence after now);
# - monthly: the same weekday-of-month ordinal as the first meeting ("2nd Tuesday"); a first meeting in
#   the 5th week counts as the 4th, so that every month has its occurrence.
# Each occurrence's local wall-clock time is converted to UTC on its own date, so a weekly 13:00 meeting
# stays at 13:00 local across the clock changes (12:00 UTC in summer, 13:00 UTC in winter).
# The agenda circulates `circulate_days_before` working days before the meeting, at 09:00 local time:
# the start of the working day, whatever time the meeting itself starts.

LONDON_TZ_NAME = "Europe/London"
CIRCULATION_LOCAL_HOUR = 9


def _london() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(LONDON_TZ_NAME)


def _local_to_utc(day: Any, at: Any) -> Any:
    from datetime import UTC, datetime

    return datetime.combine(day, at, tzinfo=_london()).astimezone(UTC)


def meeting_circulate_at(*, series: Any, starts_at: Any) -> Any:
    """When the agenda pack goes out: N working days before the meeting's local date, at 09:00 local."""
    from datetime import time

    from pcn.working_days import subtract_working_days

    local_day = starts_at.astimezone(_london()).date()
    day = subtract_working_days(local_day, series.circulate_days_before)
    return _local_to_utc(day, time(CIRCULATION_LOCAL_HOUR))


def _nth_weekday(year: int, month: int, weekday: int, ordinal: int) -> Any:
    from datetime import date, timedelta

    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (ordinal - 1))


def series_occurrences(*, series: Any, anchor: Any) -> Any:
    """Local dates of the series' occurrences from `anchor` (a local date on the series' weekday) on."""
    from datetime import timedelta

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
    from datetime import timedelta

    from mdt.models import Meeting

    if not series.is_active:
        return []
    first = (
        Meeting.objects.filter(series=series)
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
    )
    first_at = first.first()
    if first_at is not None and series.frequency != series.Frequency.WEEKLY:
        anchor = first_at.astimezone(_london()).date()
        if series.frequency == series.Frequency.FORTNIGHTLY:
            # Jump to shortly before now rather than walking from a first meeting years ago.
            weeks = max(0, (now.astimezone(_london()).date() - anchor).days // 14 - 1)
            anchor += timedelta(days=14 * weeks)
        elif anchor.year * 12 + anchor.month < now.year * 12 + now.month - 1:
            ordinal = min((anchor.day - 1) // 7 + 1, 4)
            prev = now.astimezone(_london()).date().replace(day=1) - timedelta(days=1)
            anchor = _nth_weekday(prev.year, prev.month, series.weekday, ordinal)
    else:
        today = now.astimezone(_london()).date()
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


def agenda_next_open(*, series: MeetingSeries, now: datetime) -> Meeting | None:
    """The series' next meeting whose agenda can still change: scheduled, after `now`, not circulated."""
    return (
        Meeting.objects.filter(
            series=series, status=Meeting.Status.SCHEDULED, starts_at__gt=now, circulated_at__isnull=True
        )
        .select_related("series")
        .order_by("starts_at", "id")
        .first()
    )


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


def _series_recipients(series: Any) -> list[str]:
    emails = [u.email for u in series.members.filter(is_active=True) if u.email]
    emails += [m.email for m in series.external_members.all()]
    if series.chair.email:
        emails.append(series.chair.email)
    return sorted(set(emails))


def _tell_members(*, meeting: Any, subject: str, body: str) -> None:
    """One plain email per member, after the change commits. No patient data: the agenda is not named."""
    from django.conf import settings
    from django.core.mail import send_mass_mail
    from django.db import transaction

    recipients = _series_recipients(meeting.series)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=False))


def _local_label(at: Any) -> str:
    return at.astimezone(_london()).strftime("%A %-d %B %Y at %H:%M")


def meeting_move(*, meeting: Any, starts_at: Any, by: Any, place: str | None = None) -> Any:
    """Move one occurrence (it keeps its scheduled_for, so the schedule does not recreate it)."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from mdt.models import Meeting
    from pcn.audit import audit

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
        audit(None, "mdt.meeting.move", user=by, meeting_id=meeting.pk, was=was.isoformat())
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
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from mdt.models import Meeting
    from pcn.audit import audit

    if meeting.status != Meeting.Status.SCHEDULED:
        raise ValidationError("Only a scheduled meeting can be cancelled.", code="not_scheduled")
    with transaction.atomic():
        meeting.status = Meeting.Status.CANCELLED
        meeting.save(update_fields=["status", "updated_at"])
        audit(None, "mdt.meeting.cancel", user=by, meeting_id=meeting.pk)
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


# --- Agenda: automatic sources, suggestions, editing, chair approval (issue "MDT meetings", part 1) -----


def _agenda_editable(meeting: Any) -> None:
    from django.core.exceptions import ValidationError

    from mdt.models import Meeting

    if meeting.circulated_at is not None:
        raise ValidationError("The agenda has been circulated: it can no longer change.", code="circulated")
    if meeting.status != Meeting.Status.SCHEDULED:
        raise ValidationError("The meeting is not scheduled.", code="not_scheduled")


def _next_position(meeting: Any) -> int:
    from django.db.models import Max

    return (meeting.items.aggregate(top=Max("position"))["top"] or 0) + 1


def agenda_refresh(*, meeting: Any) -> list[Any]:
    """Add the automatic items: referrals directed to the series and not yet on one of its agendas, and
    every patient with an open action from an earlier meeting of the series (carried forward).

    Idempotent; does nothing once the agenda has been circulated (or the meeting is not scheduled).
    Returns the items added.
    """
    from django.db.models import Exists, OuterRef

    from mdt.models import Action

    if meeting.circulated_at is not None or meeting.status != Meeting.Status.SCHEDULED:
        return []
    series = meeting.series
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=meeting.pk).first()  # one refresh at a time
        on_agenda = dict(meeting.items.values_list("patient_id", "referral_id"))
        position = _next_position(meeting)
        added: list[AgendaItem] = []
        # A referral on an agenda of the series is done with, unless that meeting was cancelled.
        placed = AgendaItem.objects.filter(referral=OuterRef("pk"), meeting__series=series).exclude(
            meeting__status=Meeting.Status.CANCELLED
        )
        referrals = (
            Referral.objects.filter(
                status=Referral.Status.DIRECTED_TO_MDT,
                mdt_series=series,
                patient__practice__in=series.practices.all(),
            )
            .exclude(Exists(placed))
            .order_by("received_on", "id")
        )
        for referral in referrals:
            if referral.patient_id in on_agenda:
                if on_agenda[referral.patient_id] is None:
                    meeting.items.filter(patient_id=referral.patient_id).update(referral=referral)
                    on_agenda[referral.patient_id] = referral.pk
                continue
            added.append(
                AgendaItem(
                    meeting=meeting,
                    patient_id=referral.patient_id,
                    source=AgendaItem.Source.REFERRAL,
                    referral=referral,
                    reason=referral.reason,
                    position=position,
                )
            )
            on_agenda[referral.patient_id] = referral.pk
            position += 1
        open_actions = (
            Action.objects.open()
            .filter(item__meeting__series=series, item__meeting__starts_at__lt=meeting.starts_at)
            .exclude(item__meeting=meeting)
            .order_by("due_on", "id")
            .values_list("item__patient_id", "what")
        )
        carried: dict[int, list[str]] = {}
        for patient_id, what in open_actions:
            carried.setdefault(patient_id, []).append(what)
        for patient_id, whats in carried.items():
            if patient_id in on_agenda:
                continue
            added.append(
                AgendaItem(
                    meeting=meeting,
                    patient_id=patient_id,
                    source=AgendaItem.Source.CARRIED_FORWARD,
                    reason="Open actions: " + "; ".join(whats),
                    position=position,
                )
            )
            on_agenda[patient_id] = None
            position += 1
        AgendaItem.objects.bulk_create(added)
    return added


def previous_meeting(*, meeting: Any) -> Any:
    from mdt.models import Meeting

    return (
        Meeting.objects.filter(series_id=meeting.series_id, starts_at__lt=meeting.starts_at)
        .exclude(status=Meeting.Status.CANCELLED)
        .order_by("-starts_at")
        .first()
    )


def agenda_since(*, meeting: Any) -> Any:
    """Since the series' last meeting; for its first meeting, the 4 weeks before it."""
    from datetime import timedelta

    previous = previous_meeting(meeting=meeting)
    return previous.starts_at if previous else meeting.starts_at - timedelta(weeks=4)


def agenda_suggestions(*, meeting: Meeting, user: User) -> list[dict[str, Any]]:
    """Patients `user` may add (nothing is added until they confirm): patients `user` can see at the
    series' practices discharged or admitted since the last meeting, new frequent attenders (at or above
    settings.FREQUENT_ATTENDER_THRESHOLD in an import since then, below it in the one before), and care
    home admissions, which need an MDT assessment within 7 working days (EHCH, DOMAIN.md).

    Returns [{"patient": Patient, "reasons": [str, …], "ehch": EhchDue | None}, …] in name order;
    patients already on the agenda are left out. "ehch" is the patient page's PCSP badge as of today (a
    care home resident's PCSP due or overdue, careplans), else None. Four queries, and up to two more
    for the badges when there is anyone to suggest: six at most, whatever the number of patients.
    """
    from django.conf import settings
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from careplans.services.ehch import ehch_badges_for
    from caseload.models import CareEvent, RiskSnapshot
    from pcn.working_days import add_working_days

    since = agenda_since(meeting=meeting)
    until = meeting.starts_at
    in_scope = (
        Patient.objects.visible_to(user)
        .filter(practice__in=meeting.series.practices.all(), is_deceased=False, has_left=False)
        .exclude(agenda_items__meeting=meeting)
    )
    reasons: dict[int, list[str]] = {}
    events = (
        CareEvent.objects.filter(
            patient__in=in_scope,
            occurred_at__gte=since,
            occurred_at__lt=until,
            kind__in=[
                CareEvent.Kind.DISCHARGE,
                CareEvent.Kind.ADMISSION,
                CareEvent.Kind.CARE_HOME_ADMISSION,
            ],
        )
        .order_by("occurred_at", "id")
        .values_list("patient_id", "kind", "occurred_at", "provider")
    )
    for patient_id, kind, occurred_at, provider in events:
        local_day = occurred_at.astimezone(_london()).date()
        label = CareEvent.Kind(kind).label
        text = f"{label} on {local_day:%-d %b %Y}" + (f" ({provider})" if provider else "")
        if kind == CareEvent.Kind.CARE_HOME_ADMISSION:
            text += f": MDT assessment due by {add_working_days(local_day, 7):%-d %b %Y}"
        reasons.setdefault(patient_id, []).append(text)
    threshold = settings.FREQUENT_ATTENDER_THRESHOLD
    snapshots = RiskSnapshot.objects.filter(patient=OuterRef("pk")).order_by("-taken_on", "-id")
    frequent = (
        in_scope.filter(ae_attendances_12m__gte=threshold)
        .annotate(
            latest_on=Subquery(snapshots.values("taken_on")[:1]),
            previous_ae=Coalesce(Subquery(snapshots.values("ae_attendances_12m")[1:2]), 0),
        )
        .filter(latest_on__gte=since.astimezone(_london()).date(), previous_ae__lt=threshold)
        .values_list("pk", "ae_attendances_12m")
    )
    for patient_id, attendances in frequent:
        reasons.setdefault(patient_id, []).append(
            f"New frequent attender: {attendances} A&E attendances in 12 months"
        )
    patients = Patient.objects.filter(pk__in=reasons).select_related("practice")
    badges = ehch_badges_for(patient_ids=reasons)
    return [{"patient": p, "reasons": reasons[p.pk], "ehch": badges.get(p.pk)} for p in patients]


def agenda_item_add(
    *, meeting: Any, patient: Any, by: Any, reason: str = "", source: str = "added", referral: Any = None
) -> Any:
    """Add a patient (a confirmed suggestion, or by hand). Only patients at the series' practices."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from mdt.models import AgendaItem
    from pcn.audit import audit

    _agenda_editable(meeting)
    if not meeting.series.practices.filter(pk=patient.practice_id).exists():
        raise ValidationError("The patient is not at one of this MDT's practices.", code="scope")
    if meeting.items.filter(patient=patient).exists():
        raise ValidationError("The patient is already on the agenda.", code="duplicate")
    with transaction.atomic():
        item = AgendaItem.objects.create(
            meeting=meeting, patient=patient, source=source, referral=referral, reason=reason,
            position=_next_position(meeting), added_by=by,
        )  # fmt: skip
        audit(None, "mdt.agenda.add", [patient], user=by, meeting_id=meeting.pk, source=source)
    return item


def agenda_item_remove(*, item: Any, by: Any) -> None:
    from django.core.exceptions import ValidationError

    from pcn.audit import audit

    _agenda_editable(item.meeting)
    if item.actions.exists():
        raise ValidationError("The item has actions: it cannot be removed.", code="has_actions")
    audit(None, "mdt.agenda.remove", [item.patient_id], user=by, meeting_id=item.meeting_id)
    item.delete()


def agenda_item_update(
    *, item: Any, by: Any, minutes_allotted: int, presenter: Any = None, reason: str | None = None
) -> Any:
    from pcn.audit import audit

    _agenda_editable(item.meeting)
    item.minutes_allotted, item.presenter = minutes_allotted, presenter
    fields = ["minutes_allotted", "presenter"]
    if reason is not None:
        item.reason = reason
        fields.append("reason")
    item.save(update_fields=fields)
    audit(None, "mdt.agenda.update", [item.patient_id], user=by, meeting_id=item.meeting_id)
    return item


def agenda_reorder(*, meeting: Meeting, item_ids: list[int], by: User) -> None:
    """Put the items `by` can see in the order given (ids of those items; any left out keep their
    order, after those given). They take the places those items held: items of patients `by` cannot
    see keep theirs, so a coordinator at one practice orders their own patients without moving (or
    learning of) another practice's."""
    from django.core.exceptions import ValidationError

    _agenda_editable(meeting)
    with transaction.atomic():
        items = list(meeting.items.select_for_update().order_by("position", "id"))
        visible = set(meeting.items.visible_to(by).values_list("pk", flat=True))
        mine = [item for item in items if item.pk in visible]
        by_id = {item.pk: item for item in mine}
        if len(set(item_ids)) != len(item_ids) or not set(item_ids) <= by_id.keys():
            raise ValidationError("The order names items that are not on this agenda.", code="order")
        reordered = iter(
            [by_id[pk] for pk in item_ids] + [item for item in mine if item.pk not in set(item_ids)]
        )
        ordered = [next(reordered) if item.pk in visible else item for item in items]
        for position, item in enumerate(ordered, start=1):
            item.position = position
        AgendaItem.objects.bulk_update(ordered, ["position"])


def agenda_item_move(*, item: AgendaItem, direction: str, by: User) -> None:
    """One place up or down among the items `by` can see (the htmx buttons)."""
    ids = list(item.meeting.items.visible_to(by).order_by("position", "id").values_list("pk", flat=True))
    index = ids.index(item.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    agenda_reorder(meeting=item.meeting, item_ids=ids, by=by)


def agenda_approve(*, meeting: Any, by: Any, comments: str = "") -> Any:
    """The chair's review: comments, and the agenda marked approved. Only the series' chair."""
    from django.core.exceptions import PermissionDenied
    from django.utils import timezone

    from pcn.audit import audit

    if meeting.series.chair_id != by.pk:
        raise PermissionDenied("Only the chair approves the agenda.")
    meeting.chair_comments = comments
    meeting.agenda_approved_at, meeting.agenda_approved_by = timezone.now(), by
    meeting.save(update_fields=["chair_comments", "agenda_approved_at", "agenda_approved_by", "updated_at"])
    audit(None, "mdt.agenda.approve", user=by, meeting_id=meeting.pk)
    return meeting


# --- Patient background for the agenda (read-only; the agenda pack PDF reuses it) ----------------------


RECENT_EVENTS_SHOWN = 5


def patient_backgrounds(*, patients: list[Any], since: Any) -> dict[int, dict[str, Any]]:
    """Each patient's background, assembled for a meeting, keyed by patient id: latest risk and eFI,
    transfers of care since `since` (the last meeting), the care plan, latest PAM and open actions.

    Three queries whatever the number of patients (the patients themselves are passed in).
    """
    from caseload.models import ActivationMeasure, CareEvent
    from mdt.models import Action

    ids = [p.pk for p in patients]
    events: dict[int, list[Any]] = {pk: [] for pk in ids}
    for event in CareEvent.objects.filter(patient_id__in=ids, occurred_at__gte=since).order_by(
        "-occurred_at", "-id"
    ):
        events[event.patient_id].append(event)
    pam: dict[int, Any] = {}
    for measure in ActivationMeasure.objects.filter(patient_id__in=ids).order_by("-measured_on", "-id"):
        pam.setdefault(measure.patient_id, measure)
    actions: dict[int, list[Any]] = {pk: [] for pk in ids}
    for action in (
        Action.objects.open()
        .filter(item__patient_id__in=ids)
        .select_related("item__meeting", "owner_user", "owner_external")
        .order_by("due_on", "id")
    ):
        actions[action.item.patient_id].append(action)
    return {
        p.pk: {
            "patient": p,
            "risk_score": p.risk_score,
            "previous_risk_score": p.previous_risk_score,
            "efi_score": p.efi_score,
            "efi_category": p.get_efi_category_display() if p.efi_category else "",
            "recent_events": events[p.pk][:RECENT_EVENTS_SHOWN],
            "more_events": max(0, len(events[p.pk]) - RECENT_EVENTS_SHOWN),
            # Care plans (PCSPs) arrive with their own issue; until then every patient has none.
            "care_plan": None,
            "care_plan_summary": "No care plan yet",
            "latest_pam": pam.get(p.pk),
            "open_actions": actions[p.pk],
        }
        for p in patients
    }


def patient_background(*, patient: Any, since: Any) -> dict[str, Any]:
    """One patient's background (three queries); for many, `patient_backgrounds`."""
    return patient_backgrounds(patients=[patient], since=since)[patient.pk]


# --- Agenda packs and circulation (issue "MDT meetings", part 3) --------------------------------------
#
# A pack (the agenda, or the signed-off minutes) is rendered by weasyprint in a Celery task — about
# 0.17 s a page, 3.5 s for 20 patients (research/performance_anchors.md §5), too long for a request —
# and stored as a MeetingDocument. Its source_hash is the SHA-256 of the data the template shows, so
# any change to what the pack would say makes it stale, and a fresh pack is never rendered twice.
# Circulation sends each member one email per meeting and kind: the Circulation row (unique meeting ×
# kind × email) is claimed by setting sent_at atomically before sending, so two runs of the task, or
# a redelivery after a crash, cannot send twice; a failed send releases the claim and re-raises.


def _scope_practice_ids(scope: str) -> list[int]:
    return [int(pk) for pk in scope.split(",") if pk]


def _pack_context(*, meeting: Any, kind: str, scope: str = "") -> dict[str, Any]:
    """Everything the PDF shows, as plain data (hashable as JSON). A fixed number of queries.

    Each patient's background (risk, eFI, transfers of care, PAM, open actions) is the agenda
    page's `patient_backgrounds`, so the pack and the page say the same. With a `scope` (practice ids),
    only those practices' patients are in it, and the cover says so.
    """
    from django.db.models import Prefetch

    from mdt.models import Action, Attendance
    from pcn.models import Practice
    from pcn.nhs_number import format_nhs_number

    series = meeting.series
    in_scope = AgendaItem.objects.filter(meeting=meeting)
    if scope:
        in_scope = in_scope.filter(patient__practice_id__in=_scope_practice_ids(scope))
    items = list(
        in_scope.select_related("patient__practice", "patient__care_home", "presenter", "discussion")
        .prefetch_related(
            Prefetch("actions", queryset=Action.objects.select_related("owner_user", "owner_external"))
        )
        .order_by("position", "id")
    )
    patients = [item.patient for item in items]
    backgrounds = patient_backgrounds(patients=patients, since=agenda_since(meeting=meeting))

    def transfers(background: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {
                "when": f"{timezone.localtime(event.occurred_at):%-d %b %Y}",
                "kind": event.get_kind_display(),
                "provider": event.provider,
                "summary": event.summary,
            }
            for event in background["recent_events"]
        ]

    def open_actions(background: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {
                "what": action.what,
                "owner": str(action.owner_user or action.owner_external),
                "due": f"{action.due_on:%-d %b %Y}",
                "from": f"{timezone.localtime(action.item.meeting.starts_at):%-d %b %Y}",
            }
            for action in background["open_actions"]
            if action.item.meeting_id != meeting.pk
        ]

    def pam(background: dict[str, Any]) -> str:
        measure = background["latest_pam"]
        if measure is None:
            return ""
        return f"Level {measure.level} (score {measure.score}, {measure.measured_on:%-d %b %Y})"

    def owner(action: Any) -> str:
        return str(action.owner_user or action.owner_external)

    starts = timezone.localtime(meeting.starts_at)
    context: dict[str, Any] = {
        "kind": kind,
        "series": {"name": series.name, "kind": series.get_kind_display()},
        "meeting": {
            "id": meeting.pk,
            "date": f"{starts:%A %-d %B %Y}",
            "time": f"{starts:%H:%M}",
            "duration": meeting.duration_minutes,
            "place": meeting.place or series.place,
            "video_link": meeting.video_link or series.video_link,
            "chair": str(series.chair),
            "status": meeting.get_status_display(),
            "chair_comments": meeting.chair_comments,
        },
        "items": [],
        "practice_ids": sorted({item.patient.practice_id for item in items}),
        "scope_note": "",
    }
    if scope:
        names = Practice.objects.filter(pk__in=_scope_practice_ids(scope)).values_list("name", flat=True)
        context["scope_note"] = "Only the patients of " + ", ".join(sorted(names)) + "."
    for number, item in enumerate(items, start=1):
        patient = item.patient
        discussion = getattr(item, "discussion", None)
        context["items"].append(
            {
                "number": number,
                "reason": item.reason,
                "source": item.get_source_display(),
                "minutes": item.minutes_allotted,
                "presenter": str(item.presenter) if item.presenter else "",
                "patient": {
                    "id": patient.pk,
                    "name": patient.full_name,
                    "nhs_number": format_nhs_number(patient.nhs_number),
                    "date_of_birth": f"{patient.date_of_birth:%-d %b %Y}",
                    "age": patient.age(starts.date()),
                    "practice": patient.practice.name,
                    "care_home": patient.care_home.name if patient.care_home else "",
                    "risk_score": str(patient.risk_score) if patient.risk_score is not None else "",
                    "efi_score": str(patient.efi_score) if patient.efi_score is not None else "",
                    "efi_category": patient.get_efi_category_display() if patient.efi_category else "",
                    "conditions": patient.conditions,
                },
                "transfers": transfers(backgrounds[patient.pk]),
                "more_transfers": backgrounds[patient.pk]["more_events"],
                "open_actions": open_actions(backgrounds[patient.pk]),
                "pam": pam(backgrounds[patient.pk]),
                "discussion": {
                    "notes": discussion.notes if discussion else "",
                    "outcome": discussion.get_outcome_display() if discussion and discussion.outcome else "",
                },
                "actions": [
                    {"what": a.what, "owner": owner(a), "due": f"{a.due_on:%-d %b %Y}"}
                    for a in item.actions.all()
                ],
            }
        )
    if kind == MeetingDocument.Kind.MINUTES:
        attendance = Attendance.objects.filter(meeting=meeting).select_related("user", "external_member")
        context["attendance"] = sorted(str(a.user or a.external_member) for a in attendance if a.present)
        context["addenda"] = [
            {"text": a.text, "by": str(a.added_by), "at": f"{timezone.localtime(a.added_at):%-d %b %Y %H:%M}"}
            for a in meeting.addenda.select_related("added_by")
        ]
        signed = meeting.minutes_signed_off_at
        context["signed_off"] = (
            f"{timezone.localtime(signed):%-d %B %Y %H:%M} by {meeting.minutes_signed_off_by}"
            if signed
            else ""
        )
    return context


def _pack_hash(context: dict[str, Any]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(context, sort_keys=True, default=str).encode()).hexdigest()


def meeting_document_source_hash(*, meeting: Meeting, kind: str, scope: str = "") -> str:
    """The hash a fresh pack would carry: differs from the stored one when the pack is stale."""
    return _pack_hash(_pack_context(meeting=meeting, kind=kind, scope=scope))


def meeting_documents_for(
    *, meeting: Meeting, user: User
) -> dict[MeetingDocument.Kind, tuple[str, MeetingDocument | None]]:
    """For each kind of pack, the scope of the one `user` gets, and that pack if it has been asked for
    (two queries).

    The whole agenda's pack (scope "", the one circulated) goes to a member of every practice the
    series covers, as long as its stored file shows no other practice's patients (a patient carried
    forward from a practice that has since left the series). Anyone else gets a pack of only their
    own practices' patients, made on request: a stored file is never handed to a user who cannot see
    every patient in it, whoever else it was made for.
    """
    mine = user.practice_ids()
    own = ",".join(str(pk) for pk in sorted(mine))
    at_every_practice = {practice.pk for practice in meeting.series.practices.all()} <= mine
    documents = {
        (document.kind, document.scope): document
        for document in MeetingDocument.objects.filter(meeting=meeting, scope__in=["", own])
    }
    chosen = {}
    for kind in MeetingDocument.Kind:
        whole = documents.get((kind, ""))
        if at_every_practice and (whole is None or set(whole.practice_ids) <= mine):
            chosen[kind] = ("", whole)
        else:
            chosen[kind] = (own, documents.get((kind, own)))
    return chosen


PACK_TEMPLATES = {"agenda_pack": "pdf/agenda_pack.html", "minutes": "pdf/minutes.html"}


def meeting_document_request(*, meeting: Meeting, kind: str, scope: str = "") -> MeetingDocument:
    """Mark the pack as rendering and render it in the background once this transaction commits."""
    document, _ = MeetingDocument.objects.get_or_create(meeting=meeting, kind=kind, scope=scope)
    document.state = MeetingDocument.State.RENDERING
    document.save(update_fields=["state", "requested_at"])
    transaction.on_commit(lambda: render_meeting_document_task.delay(meeting.pk, kind, scope))
    return document


def meeting_document_render(*, meeting: Meeting, kind: str, scope: str = "") -> MeetingDocument:
    """Render the pack with weasyprint and store it, unless the stored one is already current.

    Runs in a task (or inside the circulation task): never in a request.
    """
    from django.core.files.base import ContentFile
    from django.template.loader import render_to_string
    from weasyprint import HTML

    context = _pack_context(meeting=meeting, kind=kind, scope=scope)
    source_hash = _pack_hash(context)
    document, _ = MeetingDocument.objects.get_or_create(meeting=meeting, kind=kind, scope=scope)
    if document.file and document.source_hash == source_hash:
        if document.state != MeetingDocument.State.READY:
            document.state = MeetingDocument.State.READY
            document.save(update_fields=["state", "requested_at"])
        return document
    try:
        html = render_to_string(PACK_TEMPLATES[kind], context)
        pdf = HTML(string=html).write_pdf()
    except Exception:
        MeetingDocument.objects.filter(pk=document.pk).update(state=MeetingDocument.State.FAILED)
        raise
    old_name = document.file.name if document.file else ""
    document.file.save(f"meeting-{meeting.pk}-{kind}-{source_hash[:12]}.pdf", ContentFile(pdf), save=False)
    document.state, document.source_hash, document.rendered_at, document.practice_ids = (
        MeetingDocument.State.READY,
        source_hash,
        timezone.now(),
        context["practice_ids"],
    )
    document.save(
        update_fields=["file", "state", "source_hash", "rendered_at", "practice_ids", "requested_at"]
    )
    if old_name and old_name != document.file.name:
        document.file.storage.delete(old_name)
    return document


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
    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import timezone

    from mdt.models import Circulation

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
    from mdt.models import Circulation, MeetingDocument

    if circulation_kind == Circulation.Kind.MINUTES:
        return MeetingDocument.Kind.MINUTES
    return MeetingDocument.Kind.AGENDA_PACK


def _circulate(*, meeting: Any, kind: str) -> int:
    """Send the agenda (or minutes) to each member at most once; returns how many this call sent."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from mdt.models import Circulation, MeetingDocument
    from pcn.audit import audit

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
    from django.utils import timezone

    from mdt.models import Circulation, Meeting

    sent = _circulate(meeting=meeting, kind=Circulation.Kind.AGENDA)
    Meeting.objects.filter(pk=meeting.pk, circulated_at__isnull=True).update(circulated_at=timezone.now())
    return sent


def minutes_circulate(*, meeting: Any) -> int:
    """Circulate the signed-off minutes, each member once (like the agenda)."""
    from django.core.exceptions import ValidationError

    from mdt.models import Circulation

    if not meeting.minutes_locked:
        raise ValidationError("The minutes are not signed off yet.", code="not_signed_off")
    return _circulate(meeting=meeting, kind=Circulation.Kind.MINUTES)


def circulation_resend(*, circulation: Any, by: Any) -> Any:
    """Send one member's copy again by hand (the coordinator's choice, so no once-only claim)."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from mdt.models import MeetingDocument
    from pcn.audit import audit

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
    audit(
        None, f"mdt.{circulation.kind}.resend", patient_ids, user=by, meeting_id=meeting.pk,
        circulation_id=circulation.pk, email=circulation.email,
    )  # fmt: skip
    return circulation


def circulation_sweep(*, now: Any) -> list[int]:
    """The beat sweep: every scheduled meeting due for circulation and not yet circulated gets a task;
    and every upcoming meeting's stored agenda pack that the agenda has outdated is made again, so a
    download is at most one sweep (five minutes) behind the agenda. Returns the meetings circulated."""
    from django.db import transaction

    from mdt.models import Meeting, MeetingDocument
    from mdt.tasks import circulate_agenda_task

    for document in MeetingDocument.objects.filter(
        kind=MeetingDocument.Kind.AGENDA_PACK,
        state=MeetingDocument.State.READY,
        meeting__status=Meeting.Status.SCHEDULED,
        meeting__starts_at__gte=now,
    ).select_related("meeting__series", "meeting__series__chair"):
        kind, scope = MeetingDocument.Kind.AGENDA_PACK, document.scope
        fresh = meeting_document_source_hash(meeting=document.meeting, kind=kind, scope=scope)
        if document.source_hash != fresh:
            meeting_document_request(meeting=document.meeting, kind=kind, scope=scope)
    due = list(
        Meeting.objects.filter(
            status=Meeting.Status.SCHEDULED, circulate_at__lte=now, circulated_at__isnull=True
        ).values_list("pk", flat=True)
    )
    for meeting_id in due:
        transaction.on_commit(lambda meeting_id=meeting_id: circulate_agenda_task.delay(meeting_id))
    return due
