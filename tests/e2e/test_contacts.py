"""A coordinator records a contact and a PAM score, sees them on the timeline and the chart, and
completes the re-measure task in My tasks."""

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from caseload.models import ActivationMeasure, Contact, Task
from tests.e2e.conftest import axe_violations, nav_click, screenshot
from tests.e2e.test_caseload import signed_in_page
from tests.factories import CaseloadEpisodeFactory

pytestmark = pytest.mark.browser


def test_contact_pam_timeline_and_my_tasks(page, live_server, coordinator, patient):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    signed_in_page(page, live_server, coordinator.user)
    today = timezone.localdate()

    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Record a contact").click()
    assert page.locator("h1").inner_text().endswith("Record a contact")
    page.get_by_role("button", name="Save the contact").click()
    assert "Select how the contact was made" in page.locator(".nhsuk-error-summary").inner_text()
    assert axe_violations(page) == []
    page.get_by_label("Phone").check()
    page.get_by_label("Duration in minutes").fill("20")
    page.get_by_label("Provision of proactive care (coded: SNOMED CT 934231000000106)").check()
    page.get_by_label("Outcome").fill("Agreed a falls review")
    screenshot(page, "contact-form")
    page.get_by_role("button", name="Save the contact").click()
    assert "Contact recorded." in page.locator("main").inner_text()
    assert Contact.objects.get().outcome == "Agreed a falls review"

    page.get_by_role("link", name="Record activation (PAM)").click()
    page.get_by_label("PAM score").fill("100.5")
    page.get_by_role("button", name="Save the score").click()
    assert "The PAM score must be 100 or less" in page.locator(".nhsuk-error-summary").inner_text()
    assert axe_violations(page) == []
    page.get_by_label("PAM score").fill("55.2")
    page.get_by_role("button", name="Save the score").click()
    assert "PAM score 55.2 recorded: level 3." in page.locator("main").inner_text()
    assert ActivationMeasure.objects.get().level == 3

    timeline = page.get_by_test_id("timeline")
    assert timeline.locator("li").count() == 3  # the PAM, the contact, the re-measure task
    assert "PAM score 55.2, level 3" in timeline.inner_text()
    assert "Phone contact with patient, 20 min" in timeline.inner_text()
    assert page.get_by_test_id("pam-chart").get_attribute("role") == "img"
    assert page.get_by_test_id("pam-table").locator("tbody tr").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "patient-timeline")
    page.get_by_role("group", name="Show").get_by_label("Contacts").check()
    page.get_by_role("button", name="Show", exact=True).click()
    assert page.get_by_test_id("timeline").locator("li").count() == 1

    nav_click(page, "My tasks")
    assert page.locator("h1").inner_text() == "My tasks"
    assert page.get_by_test_id("task-row").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "my-tasks")
    page.get_by_role("button", name="Done").click()
    page.get_by_test_id("task-done").wait_for()
    task = Task.objects.get()
    assert (task.kind, task.done_by, task.due_on) == (
        Task.Kind.PAM_REMEASURE, coordinator.user, today + relativedelta(months=6),
    )  # fmt: skip
