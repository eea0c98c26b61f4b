"""Meetings scheduled ahead from the series' rule (Europe/London, across clock changes), moved and cancelled."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from mdt.models import AgendaItem, ExternalMember, Meeting, MeetingSeries
from mdt.services.schedule import meeting_cancel, meeting_move, meetings_schedule


@pytest.fixture
def series(db, practice_a, coordinator, clinical_lead):
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=MeetingSeries.Weekday.TUESDAY, start_time=time(13),
        chair=clinical_lead.user, meetings_ahead=4, circulate_days_before=2,
    )  # fmt: skip
    series.practices.add(practice_a)
    series.members.add(coordinator.user)
    ExternalMember.objects.create(series=series, name="Dr District", email="district@nhs.example")
    return series


def starts(series):
    return list(
        Meeting.objects.filter(series=series).order_by("starts_at").values_list("starts_at", flat=True)
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


Frequency = MeetingSeries.Frequency
# id: (frequency, meetings ahead, when the schedule runs, the meetings' starts). The series meets on
# Tuesdays at 13:00 London time: 12:00 UTC in summer time (BST), 13:00 UTC in winter (GMT).
RULES = {
    # Clocks go back on Sunday 26 October 2025.
    "weekly across the October clock change stays 13:00 local": (
        Frequency.WEEKLY, 4, [utc(2025, 10, 13, 9)],
        [utc(2025, 10, 14, 12), utc(2025, 10, 21, 12), utc(2025, 10, 28, 13), utc(2025, 11, 4, 13)],
    ),
    # Clocks go forward on Sunday 29 March 2026.
    "weekly across the March clock change": (
        Frequency.WEEKLY, 2, [utc(2026, 3, 20, 9)], [utc(2026, 3, 24, 13), utc(2026, 3, 31, 12)],
    ),
    "fortnightly counts from the first meeting": (
        Frequency.FORTNIGHTLY, 3, [utc(2025, 10, 13, 9), utc(2025, 10, 22, 9)],
        [utc(2025, 10, 14, 12), utc(2025, 10, 28, 13), utc(2025, 11, 11, 13), utc(2025, 11, 25, 13)],
    ),
    # The first occurrence after Wednesday 8 October 2025 is Tuesday 14 October: the 2nd Tuesday.
    "monthly keeps the weekday ordinal of the first": (
        Frequency.MONTHLY, 3, [utc(2025, 10, 8, 9)],
        [utc(2025, 10, 14, 12), utc(2025, 11, 11, 13), utc(2025, 12, 9, 13)],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("frequency", "ahead", "runs", "expected"), RULES.values(), ids=RULES.keys())
def test_meetings_follow_the_series_rule(series, frequency, ahead, runs, expected):
    series.frequency, series.meetings_ahead = frequency, ahead
    series.save()
    for now in runs:
        meetings_schedule(series=series, now=now)
    assert starts(series) == expected


def test_circulates_two_working_days_before_at_09_00_local(series):
    meetings_schedule(series=series, now=datetime(2025, 10, 13, 9, tzinfo=UTC))
    meeting = Meeting.objects.get(starts_at=datetime(2025, 10, 28, 13, tzinfo=UTC))
    # Tuesday 28 October → Friday 24 October (the weekend skipped), 09:00 BST = 08:00 UTC.
    assert meeting.circulate_at == datetime(2025, 10, 24, 8, tzinfo=UTC)
    assert meeting.scheduled_for == meeting.starts_at
    assert (meeting.duration_minutes, meeting.status) == (60, Meeting.Status.SCHEDULED)


def test_scheduling_twice_creates_nothing_more_and_keeps_moved_and_cancelled(series, coordinator):
    now = datetime(2025, 10, 13, 9, tzinfo=UTC)
    assert len(meetings_schedule(series=series, now=now)) == 4
    first, second = Meeting.objects.filter(series=series)[:2]
    meeting_move(meeting=first, starts_at=datetime(2025, 10, 15, 9, tzinfo=UTC), by=coordinator.user)
    meeting_cancel(meeting=second, by=coordinator.user)
    assert meetings_schedule(series=series, now=now) == []
    assert Meeting.objects.filter(series=series).count() == 4
    # A week later one more occurrence falls within the four ahead.
    assert len(meetings_schedule(series=series, now=datetime(2025, 10, 20, 9, tzinfo=UTC))) == 1
    assert Meeting.objects.filter(series=series).count() == 5


def test_inactive_series_gets_no_meetings(series):
    series.is_active = False
    series.save()
    assert meetings_schedule(series=series, now=datetime(2025, 10, 13, 9, tzinfo=UTC)) == []
    assert not Meeting.objects.exists()


def test_move_emails_every_member_without_patient_data(
    series, coordinator, patient, django_capture_on_commit_callbacks
):
    meetings_schedule(series=series, now=datetime(2025, 10, 13, 9, tzinfo=UTC))
    meeting = Meeting.objects.filter(series=series).first()
    AgendaItem.objects.create(meeting=meeting, patient=patient, source="added", reason="Falls")
    with django_capture_on_commit_callbacks(execute=True):
        meeting_move(meeting=meeting, starts_at=datetime(2025, 10, 16, 9, tzinfo=UTC), by=coordinator.user)
    meeting.refresh_from_db()
    assert meeting.starts_at == datetime(2025, 10, 16, 9, tzinfo=UTC)
    assert meeting.scheduled_for == datetime(2025, 10, 14, 12, tzinfo=UTC)
    assert meeting.circulate_at == datetime(2025, 10, 14, 8, tzinfo=UTC)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "cara@example.test",
        "district@nhs.example",
        "liam@example.test",
    ]
    assert mail.outbox[0].subject == "Frailty MDT: meeting moved"
    assert "Tuesday 14 October 2025 at 13:00" in mail.outbox[0].body
    assert "Thursday 16 October 2025 at 10:00" in mail.outbox[0].body
    for message in mail.outbox:
        assert patient.family_name not in message.body
        assert patient.nhs_number not in message.body


def test_cancel_page_confirms_then_cancels_and_emails(
    series, coordinator, sign_in_as, django_capture_on_commit_callbacks
):
    meetings_schedule(series=series, now=datetime(2025, 10, 13, 9, tzinfo=UTC))
    meeting = Meeting.objects.filter(series=series).first()
    client = sign_in_as(coordinator)
    url = reverse("mdt:meeting_cancel", args=[meeting.pk])
    assert client.get(url).status_code == 200
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.SCHEDULED
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED
    assert len(mail.outbox) == 3
    assert mail.outbox[0].subject == "Frailty MDT: meeting cancelled"
    assert "Tuesday 14 October 2025 at 13:00 is cancelled" in mail.outbox[0].body


def test_move_page_takes_local_time(series, coordinator, sign_in_as, django_capture_on_commit_callbacks):
    meetings_schedule(series=series, now=datetime(2025, 10, 13, 9, tzinfo=UTC))
    meeting = Meeting.objects.filter(series=series).first()
    client = sign_in_as(coordinator)
    url = reverse("mdt:meeting_move", args=[meeting.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"starts_on": "2025-10-29", "start_time": "14:30", "place": "Room 2"})
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.starts_at, meeting.place) == (datetime(2025, 10, 29, 14, 30, tzinfo=UTC), "Room 2")
    assert len(mail.outbox) == 3


def test_series_list_shows_next_meetings_of_the_users_practices_only(
    series, coordinator, outsider, sign_in_as
):
    now = timezone.now()
    meetings_schedule(series=series, now=now)
    response = sign_in_as(outsider).get(reverse("mdt:series_list"))
    assert response.status_code == 200
    assert response.context["series_list"] == []
    response = sign_in_as(coordinator).get(reverse("mdt:series_list"))
    [shown] = response.context["series_list"]
    assert shown.name == "Frailty MDT"
    assert [m.starts_at for m in shown.next_meetings] == starts(series)


@pytest.mark.parametrize("count", [1, 5])
def test_series_list_query_count_does_not_grow(
    series, practice_a, coordinator, sign_in_as, django_assert_num_queries, count
):
    for n in range(count - 1):
        more = MeetingSeries.objects.create(
            name=f"MDT {n}", kind="other", weekday=2, start_time=time(9), chair=coordinator.user
        )
        more.practices.add(practice_a)
    for one in MeetingSeries.objects.all():
        meetings_schedule(series=one, now=timezone.now())
    client = sign_in_as(coordinator)
    with django_assert_num_queries(11):
        assert client.get(reverse("mdt:series_list")).status_code == 200


def test_beat_schedule_runs_the_sweep_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["mdt-schedule-meetings"]
    assert entry == {"task": "mdt.tasks.meetings_schedule_task", "schedule": timedelta(hours=1)}


def test_move_page_shows_the_meeting_date_in_the_date_picker(series, coordinator, sign_in_as):
    # <input type="date"> shows nothing unless its value is ISO (yyyy-mm-dd).
    meetings_schedule(series=series, now=datetime(2025, 10, 13, 9, tzinfo=UTC))
    meeting = Meeting.objects.filter(series=series).first()
    page = sign_in_as(coordinator).get(reverse("mdt:meeting_move", args=[meeting.pk])).content.decode()
    local = timezone.localtime(meeting.starts_at)
    assert f'type="date" name="starts_on" value="{local:%Y-%m-%d}"' in page
