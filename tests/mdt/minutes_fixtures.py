"""A meeting with agenda items, for the minutes and actions tests (and the permission matrix)."""

from datetime import UTC, datetime, time

from mdt.models import AgendaItem, ExternalMember, Meeting, MeetingSeries


def make_meeting(*, chair, practice, starts_at=None, members=()) -> Meeting:
    series = MeetingSeries.objects.create(
        name="Care home MDT", kind=MeetingSeries.Kind.CARE_HOME, weekday=MeetingSeries.Weekday.TUESDAY,
        start_time=time(13, 0), chair=chair,
    )  # fmt: skip
    series.practices.add(practice)
    series.members.add(*members)
    starts_at = starts_at or datetime(2025, 3, 4, 13, 0, tzinfo=UTC)
    return Meeting.objects.create(
        series=series, starts_at=starts_at, scheduled_for=starts_at, circulate_at=starts_at
    )


def add_item(meeting: Meeting, patient, position: int = 0) -> AgendaItem:
    return AgendaItem.objects.create(
        meeting=meeting, patient=patient, source=AgendaItem.Source.ADDED, reason="Falls", position=position
    )


def add_external(meeting: Meeting, email: str = "dn@community.example.test") -> ExternalMember:
    return ExternalMember.objects.create(
        series=meeting.series, name="Dee Nurse", organisation="Community trust", email=email
    )
