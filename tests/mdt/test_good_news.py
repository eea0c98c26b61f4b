"""Good news on the agenda: a story marked good news for a series is a suggestion on that series' next
agenda, only added when a coordinator confirms it, and not suggested again once the person has been on
one of its agendas."""

from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from caseload.models import Feedback
from caseload.services.feedback import feedback_record
from mdt.models import AgendaItem, Meeting, MeetingSeries
from mdt.services.suggestions import GOOD_NEWS_OFFER_WEEKS, agenda_suggestions
from pcn.models import AuditEvent
from tests.factories import PatientFactory
from tests.mdt.test_agenda import make_meeting

pytestmark = pytest.mark.django_db


def make_series(name, practice, chair) -> MeetingSeries:
    series = MeetingSeries.objects.create(
        name=name, kind="frailty", weekday=1, start_time=time(13), chair=chair
    )
    series.practices.add(practice)
    return series


@pytest.fixture
def series(practice_a, clinical_lead):
    return make_series("Frailty MDT", practice_a, clinical_lead.user)


@pytest.fixture
def next_meeting(series):
    return make_meeting(series, timezone.now() + timedelta(days=2))


@pytest.fixture
def later_meeting(series, next_meeting):
    return make_meeting(series, timezone.now() + timedelta(days=9))


def story(patient, by, series, *, good_news=True, text="Walked to the shops on my own again.", **extra):
    return feedback_record(
        patient=patient, by=by, given_on=date(2026, 11, 20), given_by="person", story=text,
        is_good_news=good_news, mdt_series=series if good_news else None, **extra,
    )  # fmt: skip


def good_news(meeting, user) -> dict[str, list[str]]:
    return {
        s["patient"].family_name: [r for r in s["reasons"] if r.startswith("Good news")]
        for s in agenda_suggestions(meeting=meeting, user=user)
    }


def test_good_news_is_a_suggestion_added_only_when_a_coordinator_confirms_it(
    series, next_meeting, later_meeting, coordinator, sign_in_as
):
    hopeful = PatientFactory(practice=coordinator.practice, family_name="Hopeful")
    story(hopeful, coordinator.user, series)
    expected = ["Good news from the person, 20 Nov 2026: Walked to the shops on my own again."]
    assert good_news(next_meeting, coordinator.user) == {"Hopeful": expected}
    assert not AgendaItem.objects.exists()  # a suggestion only

    client = sign_in_as(coordinator)
    page = client.get(reverse("mdt:meeting_detail", args=[next_meeting.pk])).content.decode()
    assert "Good news from the person, 20 Nov 2026" in page
    assert not AgendaItem.objects.exists()

    response = client.post(
        reverse("mdt:agenda_item_add", args=[next_meeting.pk]), {"patient": hopeful.pk, "reason": expected[0]}
    )
    assert response.status_code == 302
    assert list(next_meeting.items.values_list("patient", "source", "reason", "added_by")) == [
        (hopeful.pk, "suggested", expected[0], coordinator.user.pk)
    ]
    assert AuditEvent.objects.filter(action="mdt.agenda.add", patient_links__patient=hopeful).count() == 1
    # On this agenda, so not a suggestion here, nor on the next meeting's.
    assert good_news(next_meeting, coordinator.user) == {}
    assert good_news(later_meeting, coordinator.user) == {}


def test_not_confirmed_it_is_offered_to_the_next_meeting_too(
    series, next_meeting, later_meeting, coordinator
):
    hopeful = PatientFactory(practice=coordinator.practice, family_name="Hopeful")
    story(hopeful, coordinator.user, series)
    assert list(good_news(later_meeting, coordinator.user)) == ["Hopeful"]
    # A cancelled meeting's agenda does not count as telling the MDT.
    AgendaItem.objects.create(meeting=next_meeting, patient=hopeful, source="added")
    assert good_news(later_meeting, coordinator.user) == {}
    next_meeting.status = Meeting.Status.CANCELLED
    next_meeting.save()
    assert list(good_news(later_meeting, coordinator.user)) == ["Hopeful"]


def test_only_good_news_for_this_series_recorded_lately_and_in_the_users_scope(
    series, next_meeting, coordinator, clinical_lead, outsider, practice_a
):
    other_series = make_series("Care home MDT", practice_a, clinical_lead.user)
    plain, elsewhere, old, carer = (
        PatientFactory(practice=coordinator.practice, family_name=name)
        for name in ("Plain", "Elsewhere", "Old", "Carer")
    )
    story(plain, coordinator.user, series, good_news=False)
    story(elsewhere, coordinator.user, other_series)
    stale = story(old, coordinator.user, series)
    Feedback.objects.filter(pk=stale.pk).update(
        created_at=next_meeting.starts_at - timedelta(weeks=GOOD_NEWS_OFFER_WEEKS, minutes=1)
    )
    feedback_record(
        patient=carer, by=coordinator.user, given_on=date(2026, 11, 21), given_by="other",
        given_by_name="Sarah Carer", given_by_relationship="Daughter", story="Mum is  eating\nagain. " * 30,
        is_good_news=True, mdt_series=series,
    )  # fmt: skip
    reasons = good_news(next_meeting, coordinator.user)
    assert list(reasons) == ["Carer"]
    (reason,) = reasons["Carer"]
    assert reason.startswith("Good news from Sarah Carer (Daughter), 21 Nov 2026: Mum is eating again. Mum")
    assert len(reason) == len("Good news from Sarah Carer (Daughter), 21 Nov 2026: ") + 200
    assert reason.endswith("…")
    assert good_news(next_meeting, outsider.user) == {}  # not a patient they can see
