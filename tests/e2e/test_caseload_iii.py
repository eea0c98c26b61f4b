"""Caseload III in one sitting, as the issue tries it: a coordinator records the person's own story on
the patient page, then raises a safeguarding concern about what they heard; the practice's safeguarding
lead signs in, finds it in their Safeguarding list and acknowledges it. axe-core finds nothing on each
page. (test_stories.py and test_safeguarding.py try each part further.)"""

import pytest

from caseload.models import Feedback, SafeguardingConcern, Task
from tests.e2e.conftest import axe_violations, nav_click, screenshot
from tests.e2e.test_caseload import signed_in_page

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.caseload.import_fixtures"]

STORY = "Having someone to ring has made all the difference since my husband died."
WORDS = "She said a neighbour has been taking her pension card and keeping the change."


def test_a_story_and_a_concern_and_the_lead_acknowledges_it(
    page, live_server, coordinator, patient, safeguarding_lead, eager_celery
):
    lead = safeguarding_lead
    signed_in_page(page, live_server, coordinator.user)

    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Record feedback or a story").click()
    page.get_by_label("Their feedback or story, in their words").fill(STORY)
    page.get_by_label("A lot").check()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Record the feedback").click()
    assert page.locator("h1").inner_text().endswith("Outcomes and stories")
    assert STORY in page.get_by_test_id("feedback-row").inner_text()
    assert axe_violations(page) == []
    story = Feedback.objects.get()
    assert (story.given_by, story.rating, story.recorded_by) == ("person", 4, coordinator.user)

    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Raise a safeguarding concern").click()
    page.get_by_label("Financial or material abuse").check()
    page.get_by_label("What was seen or said").fill(WORDS)
    page.get_by_label("No", exact=True).check()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Raise the concern").click()
    assert "Dr Sade Safe has been sent an email and a task." in page.locator("main").inner_text()
    assert not page.get_by_test_id("emergency-guidance").count()  # no immediate risk: no emergency box
    assert axe_violations(page) == []
    screenshot(page, "caseload-iii-concern-raised")

    page.context.clear_cookies()
    signed_in_page(page, live_server, lead.user)
    page.goto("/")
    nav_click(page, "Safeguarding")
    assert page.get_by_test_id("concern-row").count() == 1
    assert axe_violations(page) == []
    page.get_by_test_id("concern-row").get_by_role("link", name="Open the concern about").click()
    assert page.get_by_test_id("what-happened").inner_text() == WORDS
    page.get_by_role("button", name="Acknowledge the concern").click()
    assert page.get_by_test_id("state").inner_text() == "Acknowledged"
    assert axe_violations(page) == []
    screenshot(page, "caseload-iii-acknowledged")
    concern = SafeguardingConcern.objects.get()
    assert (concern.state, concern.raised_by, concern.acknowledged_by) == (
        "acknowledged", coordinator.user, lead.user,
    )  # fmt: skip
    assert Task.objects.get().done_by == lead.user
