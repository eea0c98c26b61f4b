"""The demo PCN's MDTs in mid-year: the last two months of meetings held, with attendance, a discussion
per patient, minutes signed off by the chair (the latest care home MDT's still being written up) and
their actions (most older ones done, some open, some overdue); the next meeting of each series with
its agenda partly built (referrals directed to it and open actions carried forward, by agenda_refresh,
and a patient added by hand); a few GP reviews the clinical lead booked after an MDT.

Deterministic, with its own random stream; written in bulk as mdt.services.minutes and .actions
would store them (the "Multidisciplinary care conference" coding rows of a sign-off included),
without audit rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from caseload.models import CaseloadEpisode, CodingEntry, LongTermCondition, Patient
from demo.caseload import DemoPeople, demo_at, demo_patients, is_frail
from demo.rows import rows_update
from mdt.models import Action, AgendaItem, Attendance, Discussion, Meeting, MeetingSeries
from mdt.services.agenda import agenda_next_open, agenda_refresh
from mdt.services.minutes import MDT_CONFERENCE_TERM
from mdt.services.schedule import meeting_circulate_at
from recall.models import Appointment

LONDON = ZoneInfo("Europe/London")
WEEKS_BACK = 8

_REASONS = {
    MeetingSeries.Kind.CARE_HOME: ("New resident: medication review and falls risk.", "Eating less; weight loss.",
                                   "More confused at night; possible infection.", "Pressure area care."),
    MeetingSeries.Kind.CANCER_PALLIATIVE: ("Deteriorating; preferred place of death to discuss.",
                                           "Anticipatory medicines in place?", "Carer struggling."),
    MeetingSeries.Kind.FRAILTY: ("Two falls this month.", "Recent admission; coping at home?",
                                 "Polypharmacy: eleven medicines.", "Risk rising since the last import."),
}  # fmt: skip
_NOTES = (
    "Discussed with the family's views in mind. Agreed a medication review and a follow-up visit.",
    "Improving since the last meeting. Continue the current plan; review in four weeks.",
    "Struggling at home. District nurses to increase visits; social worker to review the care package.",
    "Wishes discussed: would prefer to stay at home. ReSPECT form to be completed with the GP.",
    "Falls clinic referral made; occupational therapy to assess for rails and a perching stool.",
)
_ACTIONS = (
    "Medication review with the clinical pharmacist", "Update the care plan with the new goals",
    "Refer to the falls clinic", "Ask the social worker to review the care package",
    "Complete the ReSPECT form with the family", "Book a GP review", "Check the anticipatory medicines are in place",
    "Arrange a carer's assessment", "Visit at home with the district nurse",
)  # fmt: skip
_CLOSED_NOTES = ("Done.", "Done: letter filed.", "Seen; plan updated.", "Referral made.")


@dataclass(frozen=True)
class DemoMdtCounts:
    meetings_held: int
    agenda_items: int
    actions: int
    appointments: int


def _local(day: date, series: MeetingSeries) -> datetime:
    return datetime.combine(day, series.start_time, tzinfo=LONDON).astimezone(UTC)


def _fits(kind: str):  # type: ignore[no-untyped-def]
    if kind == MeetingSeries.Kind.CARE_HOME:
        return lambda p: p.care_home_id is not None
    if kind == MeetingSeries.Kind.CANCER_PALLIATIVE:
        return lambda p: bool(p.ltc_flags & LongTermCondition.CANCER) and p.age >= 18
    return lambda p: is_frail(p) and p.care_home_id is None


def demo_mdt_seed(*, seed: int, on: date, people: DemoPeople) -> DemoMdtCounts:
    """After the caseloads, referrals and the series' future meetings (series_keep_current)."""
    rng = random.Random(seed * 7919 + 57)  # noqa: S311 — synthetic data must be reproducible, not secret
    now = timezone.now()
    patients = demo_patients(on=on)
    on_caseload = set(CaseloadEpisode.objects.open().values_list("patient_id", flat=True))
    meetings: list[Meeting] = []
    items: list[tuple[Meeting, AgendaItem, Discussion | None]] = []
    actions: list[tuple[AgendaItem, Action]] = []
    attendance: list[tuple[Meeting, Attendance]] = []
    for series in MeetingSeries.objects.filter(is_active=True).prefetch_related("members", "external_members", "practices").order_by("name"):  # fmt: skip
        first = Meeting.objects.filter(series=series, scheduled_for__gt=now).order_by("scheduled_for").first()
        if first is None:
            continue
        step = 14 if series.frequency == MeetingSeries.Frequency.FORTNIGHTLY else 7
        first_day = first.scheduled_for.astimezone(LONDON).date()
        practice_ids = {p.pk for p in series.practices.all()}
        fits = _fits(series.kind)
        eligible = [p for p in patients if p.practice_id in practice_ids and fits(p)]
        preferred = [p for p in eligible if p.pk in on_caseload] or eligible
        members = sorted(series.members.all(), key=lambda u: u.email)
        externals = sorted(series.external_members.all(), key=lambda e: e.email)
        past_days = [first_day - timedelta(days=step * k) for k in range(WEEKS_BACK * 7 // step, 0, -1)]
        for n, day in enumerate(past_days):
            starts_at = _local(day, series)
            if starts_at >= now:
                continue
            latest = n == len(past_days) - 1
            signed = not (latest and series.kind == MeetingSeries.Kind.CARE_HOME)  # still being written up
            circulate_at = meeting_circulate_at(series=series, starts_at=starts_at)
            meeting = Meeting(
                series=series, starts_at=starts_at, scheduled_for=starts_at, duration_minutes=series.duration_minutes,
                place=series.place, video_link=series.video_link, circulate_at=circulate_at,
                status=Meeting.Status.HELD if signed else Meeting.Status.SCHEDULED,
                agenda_approved_at=circulate_at - timedelta(hours=2), agenda_approved_by=series.chair,
                circulated_at=circulate_at,
                minutes_signed_off_at=starts_at + timedelta(days=1, hours=2) if signed else None,
                minutes_signed_off_by=series.chair if signed else None,
            )  # fmt: skip
            if meeting.minutes_signed_off_at and meeting.minutes_signed_off_at >= now:
                meeting.minutes_signed_off_at = now - timedelta(hours=1)
            meetings.append(meeting)
            for member in members:
                attendance.append((meeting, Attendance(user=member, present=rng.random() < 0.85 or member == series.chair)))  # fmt: skip
            for external in externals:
                attendance.append((meeting, Attendance(external_member=external, present=rng.random() < 0.8)))
            pool = preferred if len(preferred) >= 3 else eligible
            for position, person in enumerate(rng.sample(pool, min(len(pool), rng.randint(3, 5))), start=1):
                presenter = people.worker(person.practice_id)
                item = AgendaItem(
                    patient_id=person.pk, source=rng.choice([AgendaItem.Source.SUGGESTED, AgendaItem.Source.ADDED]),
                    reason=rng.choice(_REASONS[series.kind]), position=position, presenter=presenter,
                    added_by=presenter,
                )  # fmt: skip
                discussion = Discussion(
                    notes=rng.choice(_NOTES), version=rng.randint(1, 3), updated_by=series.chair,
                    outcome=rng.choices(Discussion.Outcome.values, (60, 10, 5, 20, 5))[0],
                ) if signed or rng.random() < 0.6 else None  # fmt: skip
                items.append((meeting, item, discussion))
                for _ in range(rng.choice((0, 1, 1, 2))):
                    actions.append(
                        (item, _action(rng, on, now, starts_at, person.practice_id, people, externals))
                    )
    _ensure_each_owner_has_open_work(actions, on, people)
    _write(meetings, items, actions, attendance)
    refreshed = _next_agendas(rng, on, now, patients, people)
    appointments = _lead_reviews(rng, on, actions, people)
    return DemoMdtCounts(
        meetings_held=sum(m.status == Meeting.Status.HELD for m in meetings),
        agenda_items=len(items) + refreshed, actions=len(actions), appointments=appointments,
    )  # fmt: skip


def _action(rng: random.Random, on: date, now: datetime, starts_at: datetime, practice_id: int,
            people: DemoPeople, externals: list) -> Action:  # type: ignore[type-arg]  # fmt: skip
    roll = rng.random()
    owner_user = owner_external = None
    if roll < 0.6:
        owner_user = people.worker(practice_id)
    elif roll < 0.85 or not externals:
        owner_user = people.lead
    else:
        owner_external = rng.choice(externals)
    meeting_day = starts_at.astimezone(LONDON).date()
    due_on = meeting_day + timedelta(days=rng.randint(7, 21))
    action = Action(
        what=rng.choice(_ACTIONS),
        owner_user=owner_user,
        owner_external=owner_external,
        due_on=due_on,
        created_by=people.lead,
    )
    action.created_at = starts_at + timedelta(minutes=30)
    if due_on < on - timedelta(days=5) and rng.random() < 0.75:
        closed_on = min(due_on + timedelta(days=rng.randint(-5, 3)), on - timedelta(days=1))
        action.status = Action.Status.CANCELLED if rng.random() < 0.08 else Action.Status.DONE
        action.closed_at = max(demo_at(closed_on, 16), action.created_at + timedelta(hours=3))
        action.closed_at = min(action.closed_at, now)
        action.closed_note = (
            rng.choice(_CLOSED_NOTES) if action.status == Action.Status.DONE else "No longer needed."
        )
        action.closed_by = owner_user or people.lead
    return action


def _ensure_each_owner_has_open_work(
    actions: list[tuple[AgendaItem, Action]], on: date, people: DemoPeople
) -> None:
    """My actions shows each demo coordinator and the lead an overdue action and one still to do."""
    for owner in [*people.coordinators.values(), people.lead]:
        mine = [a for _, a in actions if a.owner_user == owner]
        if not mine:
            continue
        if not any(a.status == Action.Status.OPEN and a.due_on < on for a in mine):
            _reopen(
                min(mine, key=lambda a: a.due_on),
                due_on=min(min(a.due_on for a in mine), on - timedelta(days=2)),
            )
        if not any(a.status == Action.Status.OPEN and a.due_on >= on for a in mine):
            _reopen(max(mine, key=lambda a: (a.due_on, a.what)), due_on=on + timedelta(days=5))


def _reopen(action: Action, *, due_on: date) -> None:
    action.status, action.due_on = Action.Status.OPEN, due_on
    action.closed_at, action.closed_note, action.closed_by = None, "", None


def _write(meetings: list[Meeting], items: list, actions: list, attendance: list) -> None:  # type: ignore[type-arg]
    Meeting.objects.bulk_create(meetings, batch_size=500)
    for meeting, row in attendance:
        row.meeting = meeting
    Attendance.objects.bulk_create([row for _, row in attendance], batch_size=1000)
    for meeting, item, _ in items:
        item.meeting = meeting
    AgendaItem.objects.bulk_create([item for _, item, _ in items], batch_size=1000)
    discussions, coding = [], []
    for meeting, item, discussion in items:
        if discussion is not None:
            discussion.item = item
            discussions.append(discussion)
            if (
                meeting.minutes_signed_off_at is not None
            ):  # as minutes_sign_off: one row per patient discussed
                coding.append(CodingEntry(
                    patient_id=item.patient_id, coded_on=meeting.starts_at.astimezone(LONDON).date(),
                    term=MDT_CONFERENCE_TERM, recorded_by=meeting.series.chair,
                    source=f"mdt:{meeting.pk}:{item.patient_id}",
                ))  # fmt: skip
    Discussion.objects.bulk_create(discussions, batch_size=1000)
    CodingEntry.objects.bulk_create(coding, batch_size=1000)
    created = []
    for item, action in actions:
        action.item = item
        created.append(action.created_at)
    Action.objects.bulk_create([a for _, a in actions], batch_size=1000)
    for (_, action), at in zip(actions, created, strict=True):  # auto_now_add stamped them now
        action.created_at = at
    rows_update([a for _, a in actions], ["created_at"])


def _next_agendas(rng: random.Random, on: date, now: datetime, patients: list, people: DemoPeople) -> int:  # type: ignore[type-arg]
    """Each series' next agenda: referrals directed to it and open actions carried forward (the agenda
    sweep's agenda_refresh, which writes no audit rows), and one patient added by hand."""
    added = 0
    for series in MeetingSeries.objects.filter(is_active=True).prefetch_related("practices").order_by("name"):
        meeting = agenda_next_open(series=series, now=now)
        if meeting is None:
            continue
        added += len(agenda_refresh(meeting=meeting))
        practice_ids = {p.pk for p in series.practices.all()}
        fits = _fits(series.kind)
        taken = set(meeting.items.values_list("patient_id", flat=True))
        free = [p for p in patients if p.practice_id in practice_ids and fits(p) and p.pk not in taken]
        if free:
            person = rng.choice(free)
            top = max([0, *meeting.items.values_list("position", flat=True)])
            AgendaItem.objects.create(
                meeting=meeting,
                patient_id=person.pk,
                source=AgendaItem.Source.ADDED,
                position=top + 1,
                reason=rng.choice(_REASONS[series.kind]),
                added_by=people.worker(person.practice_id),
            )
            added += 1
    return added


def _lead_reviews(rng: random.Random, on: date, actions: list, people: DemoPeople) -> int:  # type: ignore[type-arg]
    """GP reviews the lead booked after an MDT ("Book a GP review"): upcoming, and one past still
    without an outcome (My appointments lists those first)."""
    patient_ids = sorted({item.patient_id for item, a in actions if a.owner_user == people.lead})[:4]
    practices = dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "practice__name"))
    rows = [
        Appointment(
            patient_id=pk,
            starts_at=demo_at(on + timedelta(days=(-3, 2, 6, 9)[n]), 10 + n),
            with_whom=people.lead.full_name,
            role=Appointment.Role.GP,
            location=practices.get(pk, ""),
            reason="GP review after the MDT",
            booked_by=people.lead,
        )
        for n, pk in enumerate(patient_ids)
    ]
    Appointment.objects.bulk_create(rows)
    return len(rows)


def demo_mdt_reset() -> None:
    """Agenda items protect their patients, and actions protect the items: actions first. The meetings
    themselves go with their series (demo.services._demo_meeting_series)."""
    Action.objects.all().delete()
    AgendaItem.objects.all().delete()  # with their discussions
