"""The demo's outcomes: feedback and stories (some good news, one waiting as a suggestion on its MDT's
next agenda), care plan goals met, and its patients' ethnicity (most recorded, some blank for the data
quality report)."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from careplans.models import Goal
from caseload.models import Feedback, Patient
from demo.services import demo_pcn_seed
from mdt.models import MeetingSeries
from mdt.services.agenda import agenda_next_open
from mdt.services.suggestions import agenda_suggestions
from pcn.models import User

pytestmark = pytest.mark.django_db

ON = date(2026, 11, 23)


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    with time_machine.travel(ON, tick=False):
        counts = demo_pcn_seed(patients=400, practices=2, seed=1)
        yield counts


def good_news_suggestions() -> list[tuple[str, str, list[str]]]:
    lead = User.objects.get(email="lead@demo.pcn.test")
    found = []
    for series in MeetingSeries.objects.order_by("name"):
        meeting = agenda_next_open(series=series, now=timezone.now())
        for suggestion in agenda_suggestions(meeting=meeting, user=lead):
            reasons = [r for r in suggestion["reasons"] if r.startswith("Good news")]
            if reasons:
                found.append((series.name, suggestion["patient"].nhs_number, reasons))
    return found


def test_stories_some_good_news_and_one_on_an_upcoming_agenda(demo):
    stories = Feedback.objects.all()
    assert stories.count() == demo.feedback_stories == 8
    # Three older than the MDT offer (eight weeks), and yesterday's, offered to its MDT's next agenda.
    assert list(stories.good_news().order_by("given_on").values_list("given_on", "mdt_series__name")) == [
        (date(2026, 7, 14), "Frailty and proactive care MDT"),
        (date(2026, 7, 21), "Cancer and palliative care MDT"),
        (date(2026, 9, 12), "Frailty and proactive care MDT"),
        (date(2026, 11, 22), "Cancer and palliative care MDT"),
    ]
    assert stories.filter(rating__isnull=False).count() == 7
    assert good_news_suggestions() == [
        (
            "Cancer and palliative care MDT",
            "9996003140",
            ["Good news from the person, 22 Nov 2026: Walked to the shops on my own for the first time "
             "since the fall, and back again."],
        )
    ]  # fmt: skip


def test_stories_are_what_the_service_would_store(demo):
    for story in Feedback.objects.select_related("patient", "mdt_series"):
        assert story.recorded_by.email.startswith("coordinator")
        assert story.given_on < ON
        assert timezone.localdate(story.created_at) >= story.given_on
        if story.given_by == Feedback.GivenBy.PERSON:
            assert (story.given_by_name, story.given_by_relationship) == ("", "")
        else:
            assert story.given_by_name.endswith(story.patient.family_name)
        if story.mdt_series is not None:
            assert story.is_good_news
            assert story.mdt_series.practices.filter(pk=story.patient.practice_id).exists()


def test_most_patients_have_an_ethnicity_and_some_none(demo):
    blank = Patient.objects.filter(ethnicity="").count()
    assert Patient.objects.exclude(ethnicity="").count() == demo.with_ethnicity == 400 - blank
    assert 0.8 < demo.with_ethnicity / 400 < 0.95
    assert Patient.objects.filter(ethnicity="White - British").count() > 200


def test_achieved_goals_of_agreed_plans_were_met_after_the_plan_was_agreed(demo):
    met = Goal.objects.filter(met_on__isnull=False).select_related("version")
    assert met.count() > 0
    assert (
        Goal.objects.filter(
            progress="Achieved", version__agreed_on__isnull=False, met_on__isnull=True
        ).count()
        == 0
    )
    assert all(goal.version.agreed_on <= goal.met_on < ON for goal in met)
    assert all(goal.progress == "Achieved" for goal in met)


@pytest.mark.parametrize(
    ("on", "seed"), [(date(2026, 12, 3), 1), (date(2027, 2, 10), 2), (date(2026, 6, 1), 3)]
)
def test_one_good_news_suggestion_whatever_the_day_and_seed(settings, on, seed):
    settings.DEMO_MODE = True
    with time_machine.travel(on, tick=False):
        demo_pcn_seed(patients=300, practices=2, seed=seed)
        suggested = good_news_suggestions()
    assert len(suggested) == 1
    assert Feedback.objects.good_news().filter(given_on=on - timedelta(days=1)).count() == 1
