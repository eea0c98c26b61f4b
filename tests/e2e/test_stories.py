"""A coordinator records a story from a patient's daughter, marks it good news for the frailty MDT, and
finds it among the suggestions for the MDT's next agenda; it goes on the agenda when they add it. The
patient's outcomes page shows it with the PAM change; axe clean on each page."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from caseload.models import Feedback
from caseload.services.people_around import person_around_add
from mdt.models import AgendaItem, Meeting, MeetingSeries
from tests.e2e.conftest import axe_violations, screenshot
from tests.e2e.test_caseload import signed_in_page
from tests.factories import CaseloadEpisodeFactory
from tests.reporting.report_data import pam

pytestmark = pytest.mark.browser


def test_a_good_news_story_reaches_the_next_agenda(page, live_server, coordinator, clinical_lead, patient):
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=1, start_time=time(13), chair=clinical_lead.user
    )
    series.practices.add(patient.practice)
    series.members.add(coordinator.user)
    starts = timezone.now() + timedelta(days=3)
    meeting = Meeting.objects.create(
        series=series, starts_at=starts, scheduled_for=starts, circulate_at=starts
    )
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    person_around_add(patient=patient, by=coordinator.user, name="Mary Hopper", relationship="child")
    pam(patient, coordinator.user, date(2026, 3, 2), "44.0")
    pam(patient, coordinator.user, date(2026, 9, 1), "56.0")
    signed_in_page(page, live_server, coordinator.user)

    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Record feedback or a story").click()
    assert page.locator("h1").inner_text().endswith("Record feedback or a story")
    page.get_by_role("button", name="Record the feedback").click()
    assert "Enter the feedback or story" in page.locator(".nhsuk-error-summary").inner_text()
    assert axe_violations(page) == []
    page.get_by_label("Someone around the person").check()
    page.get_by_label("Who, of the people around the person").select_option(
        label="Mary Hopper (Son or daughter)"
    )
    page.get_by_label("Their feedback or story, in their words").fill(
        "Mum walked to the shops on her own for the first time since the fall."
    )
    page.get_by_label("A great deal").check()
    page.get_by_label("They agree that it may be shared anonymised").check()
    page.get_by_label("Good news").check()
    page.get_by_label("MDT to tell").select_option(label="Frailty MDT")
    screenshot(page, "feedback-form")
    page.get_by_role("button", name="Record the feedback").click()
    assert "The good news is offered to the next Frailty MDT agenda." in page.locator("main").inner_text()
    story = Feedback.objects.get()
    assert (story.given_by_name, story.rating, story.is_good_news, story.mdt_series) == (
        "Mary Hopper", 5, True, series,
    )  # fmt: skip

    # The outcomes page, where the form sends them back.
    assert page.locator("h1").inner_text().endswith("Outcomes and stories")
    assert "Up 12.0 points, up 2 levels" in page.get_by_test_id("pam-change").inner_text()
    rows = page.get_by_test_id("feedback-row")
    assert rows.count() == 1
    assert "Good news" in rows.inner_text() and "Mary Hopper" in rows.inner_text()
    assert axe_violations(page) == []
    screenshot(page, "patient-outcomes")

    page.goto(f"/mdt/meetings/{meeting.pk}/")
    suggestions = page.get_by_test_id("suggestions")
    assert "Good news" in suggestions.inner_text()
    assert "from Mary Hopper (Son or daughter)" in suggestions.inner_text()
    assert not AgendaItem.objects.exists()  # a suggestion, not on the agenda yet
    assert axe_violations(page) == []
    screenshot(page, "mdt-good-news-suggestion")
    suggestions.get_by_role("button", name="Add").click()
    assert "Mum walked to the shops" in page.locator("#agenda").inner_text()
    item = AgendaItem.objects.get()
    assert (item.patient, item.source, item.added_by) == (patient, "suggested", coordinator.user)
    assert item.reason.startswith("Good news from Mary Hopper (Son or daughter), ")
    assert "No suggestions since the last meeting." in page.locator("main").inner_text()
    assert axe_violations(page) == []
