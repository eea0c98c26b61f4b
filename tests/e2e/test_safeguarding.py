"""A coordinator raises a safeguarding concern with someone at immediate risk and sees the emergency
guidance at once; the patient page shows the restricted banner; the practice's safeguarding lead gets an
email with a link only, finds the concern in their Safeguarding list, acknowledges it and closes it with
the outcome. axe-core finds nothing on each page."""

import re

import pytest
from django.core import mail

from caseload.models import SafeguardingConcern, Task
from tests.e2e.conftest import axe_violations, nav_click, screenshot
from tests.e2e.test_caseload import signed_in_page

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.caseload.import_fixtures"]

WORDS = "Bruises on both forearms. She said her grandson grabs her when she will not give him money."


def test_raise_a_concern_and_the_lead_acknowledges_it(
    page, live_server, coordinator, patient, safeguarding_lead, eager_celery
):
    lead = safeguarding_lead
    signed_in_page(page, live_server, coordinator.user)
    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Raise a safeguarding concern").click()
    assert page.locator("h1").inner_text().endswith("Raise a safeguarding concern")
    assert (
        "It goes to Dr Sade Safe, Riverside Surgery's safeguarding lead"
        in page.get_by_test_id("sent-to").inner_text()
    )
    page.get_by_role("button", name="Raise the concern").click()
    errors = page.locator(".nhsuk-error-summary").inner_text()
    assert (
        "Select the kind of concern" in errors
        and "Select yes if anyone is at immediate risk of harm" in errors
    )
    assert axe_violations(page) == []
    page.get_by_label("Physical abuse").check()
    page.get_by_label("What was seen or said").fill(WORDS)
    page.get_by_label("Yes", exact=True).check()
    screenshot(page, "safeguarding-raise")
    page.get_by_role("button", name="Raise the concern").click()

    guidance = page.get_by_test_id("emergency-guidance")
    assert guidance.is_visible()
    assert "Call 999 if someone is in immediate danger" in guidance.inner_text()
    assert "Do not wait for them to read the email." in guidance.inner_text()
    assert (
        "Safeguarding concern raised. Dr Sade Safe has been sent an email and a task."
        in page.locator("main").inner_text()
    )
    assert page.get_by_test_id("what-happened").inner_text() == WORDS
    assert axe_violations(page) == []
    screenshot(page, "safeguarding-raised-immediate-risk")

    page.goto(patient.get_absolute_url())
    banner = page.get_by_test_id("safeguarding-banner")
    assert "Safeguarding concern open — raised" in banner.inner_text()
    assert "restricted" in banner.inner_text()
    assert axe_violations(page) == []
    screenshot(page, "safeguarding-patient-banner")

    # The lead's email: a link, nothing about the person.
    [message] = mail.outbox
    assert message.to == ["sade@example.test"]
    assert patient.family_name.lower() not in (message.subject + message.body).lower()
    path = re.search(r"https?://[^/\s]+(/safeguarding/\d+/)", message.body).group(1)

    page.context.clear_cookies()
    signed_in_page(page, live_server, lead.user)
    page.goto("/")
    nav_click(page, "Safeguarding")
    assert page.locator("h1").inner_text() == "Safeguarding"
    assert page.get_by_test_id("result-count").inner_text() == "1 concern: awaiting acknowledgement"
    assert page.get_by_test_id("concern-row").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "safeguarding-list")

    page.goto(path)  # the email's link, on the test's server
    page.get_by_role("button", name="Acknowledge the concern").click()
    assert "Concern acknowledged." in page.locator("main").inner_text()
    assert page.get_by_test_id("state").inner_text() == "Acknowledged"
    assert "Dr Sade Safe" in page.get_by_test_id("acknowledged").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "safeguarding-acknowledged")
    concern = SafeguardingConcern.objects.get()
    assert (concern.state, concern.acknowledged_by) == ("acknowledged", lead.user)
    assert Task.objects.get().done_by == lead.user

    page.get_by_role("link", name="Close with the outcome").click()
    assert axe_violations(page) == []
    page.get_by_label("Outcome").fill(
        "Referred to the local authority adult safeguarding team; police informed"
    )
    page.get_by_role("button", name="Close the concern").click()
    assert page.get_by_test_id("state").inner_text() == "Closed"
    assert axe_violations(page) == []
    screenshot(page, "safeguarding-closed")
    nav_click(page, "Safeguarding")
    assert page.get_by_test_id("empty").is_visible()
    assert axe_violations(page) == []
