"""A referral directed to an MDT goes on that series' next open agenda at once — not at the next
hourly sweep, which was the only thing that ever put it there — whatever state the schedule is in."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from caseload.models import Referral, ReferralType
from caseload.services.referrals import referral_create
from mdt.models import AgendaItem, Meeting, MeetingSeries
from mdt.services.schedule import meetings_schedule, referral_to_agenda, series_keep_current

pytestmark = pytest.mark.django_db


@pytest.fixture
def frailty() -> ReferralType:
    return ReferralType.objects.get(name="Frailty / proactive care")


@pytest.fixture
def series(practice_a, practice_b, clinical_lead, coordinator):
    """Like the demo's: covering two practices, with no meetings scheduled yet."""
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=1, start_time=time(13), chair=clinical_lead.user
    )
    series.practices.add(practice_a, practice_b)
    series.members.add(coordinator.user)
    return series


def meeting_in(series, days: int, **fields) -> Meeting:
    at = timezone.now() + timedelta(days=days)
    return Meeting.objects.create(series=series, starts_at=at, scheduled_for=at, circulate_at=at, **fields)


def direct(patient, frailty, series, by, *, met: bool = True) -> Referral:
    referral = referral_create(
        patient=patient, referral_type=frailty, source="gp", referrer_name="Dr Ann Khan", reason="Two falls",
        urgency="routine", received_on=date(2026, 11, 2), by=by,
        criteria_met_ids=list(frailty.criteria.values_list("pk", flat=True)) if met else [],
    )  # fmt: skip
    referral_to_agenda(referral=referral, series=series, by=by)
    return referral


def on_agendas(patient) -> list[tuple[int, str, int | None]]:
    return list(
        AgendaItem.objects.filter(patient=patient)
        .order_by("meeting__starts_at")
        .values_list("meeting_id", "source", "referral_id")
    )


def test_refer_direct_then_open_the_next_meeting_the_patient_is_on_its_agenda(
    sign_in_as, coordinator, patient, frailty, series
):
    client = sign_in_as(coordinator)
    client.post(reverse("caseload:referral_add", args=[patient.pk]), {
        "referral_type": frailty.pk, "source": "gp", "referrer_name": "Dr Ann Khan", "reason": "Two falls",
        "urgency": "routine", "received_on": "2026-11-02",
        "criteria": list(frailty.criteria.values_list("pk", flat=True)),
    })  # fmt: skip
    referral = Referral.objects.get()
    response = client.post(
        reverse("mdt:referral_direct_to_mdt", args=[referral.pk]), {"series": series.pk}, follow=True
    )
    # The series had no meetings: directing the referral scheduled them.
    first = Meeting.objects.filter(series=series).order_by("starts_at").first()
    when = f"{timezone.localtime(first.starts_at):%A %-d %B %Y}"
    assert f"Referral directed to the Frailty MDT: on the agenda of {when}." in response.text
    assert f'href="{reverse("mdt:meeting_detail", args=[first.pk])}"' in response.text

    [listed] = client.get(reverse("mdt:series_list")).context["series_list"]
    assert listed.next_meetings[0] == first
    page = client.get(reverse("mdt:meeting_detail", args=[first.pk]))
    assert page.status_code == 200
    assert [(i.patient_id, i.source, i.referral_id, i.reason) for i in page.context["items"]] == [
        (patient.pk, "referral", referral.pk, "Two falls")
    ]
    assert on_agendas(patient) == [(first.pk, "referral", referral.pk)]


def test_it_goes_on_the_next_meeting_only(patient, frailty, series, coordinator):
    later, sooner = meeting_in(series, 15), meeting_in(series, 8)
    referral = direct(patient, frailty, series, coordinator.user)
    assert on_agendas(patient) == [(sooner.pk, "referral", referral.pk)]
    assert not later.items.exists()
    assert Meeting.objects.filter(series=series).count() == 2  # nothing more scheduled


@pytest.mark.parametrize(
    "frozen",
    [{"circulated_at": timezone.now()}, {"status": Meeting.Status.CANCELLED}],
    ids=["circulated", "cancelled"],
)
def test_a_circulated_or_cancelled_next_meeting_is_passed_over(patient, frailty, series, coordinator, frozen):
    next_one = meeting_in(series, 2, **frozen)
    after = meeting_in(series, 9)
    referral = direct(patient, frailty, series, coordinator.user)
    assert on_agendas(patient) == [(after.pk, "referral", referral.pk)]
    assert not next_one.items.exists()


def test_a_patient_already_on_the_agenda_gets_the_referral_linked(patient, frailty, series, coordinator):
    meeting = meeting_in(series, 8)
    AgendaItem.objects.create(meeting=meeting, patient=patient, source="added", reason="By hand")
    referral = direct(patient, frailty, series, coordinator.user)
    assert on_agendas(patient) == [(meeting.pk, "added", referral.pk)]


def test_cancelling_the_meeting_moves_the_referral_to_the_next_one(
    sign_in_as, patient, frailty, series, coordinator, django_capture_on_commit_callbacks
):
    sooner, later = meeting_in(series, 8), meeting_in(series, 15)
    referral = direct(patient, frailty, series, coordinator.user)
    with django_capture_on_commit_callbacks(execute=True):
        sign_in_as(coordinator).post(reverse("mdt:meeting_cancel", args=[sooner.pk]))
    sooner.refresh_from_db()
    assert sooner.status == Meeting.Status.CANCELLED
    # The cancelled meeting keeps its agenda as it was; the referral is on the next meeting's too.
    assert on_agendas(patient) == [(sooner.pk, "referral", referral.pk), (later.pk, "referral", referral.pk)]
    # And stays there: once on a meeting that goes ahead, a referral is not added again.
    series_keep_current(now=timezone.now())
    assert len(on_agendas(patient)) == 2


def test_with_no_open_agenda_the_sweep_adds_it_to_the_next_meeting(
    sign_in_as, patient, frailty, series, coordinator
):
    series.meetings_ahead = 1
    series.save()
    meetings_schedule(series=series, now=timezone.now())  # the one meeting ahead…
    circulated = Meeting.objects.get(series=series)
    Meeting.objects.filter(pk=circulated.pk).update(circulated_at=timezone.now())  # …already circulated
    referral = direct(patient, frailty, series, coordinator.user)
    assert on_agendas(patient) == []
    page = sign_in_as(coordinator).get(reverse("caseload:referral_detail", args=[referral.pk]))
    assert "Not on an agenda yet: it goes on the next one still open to changes." in page.text

    # After the circulated meeting, the hourly sweep schedules the next one and puts the referral on it.
    series_keep_current(now=circulated.starts_at + timedelta(hours=1))
    [next_one] = Meeting.objects.filter(series=series).exclude(pk=circulated.pk)
    assert on_agendas(patient) == [(next_one.pk, "referral", referral.pk)]


def test_a_refused_direction_schedules_and_adds_nothing(patient, frailty, series, coordinator):
    with pytest.raises(ValidationError):
        direct(patient, frailty, series, coordinator.user, met=False)
    assert Referral.objects.get().status == Referral.Status.NEW
    assert (Meeting.objects.count(), AgendaItem.objects.count()) == (0, 0)
