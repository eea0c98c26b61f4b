"""A coordinator finds a service in the directory, signposts a patient to it, records the outcome
later, and ticks the social prescribing code off in the coding export."""

import pytest
from django.utils import timezone

from caseload.models import CodingEntry, Service, Signposting
from tests.e2e.conftest import axe_violations, nav_click, screenshot
from tests.e2e.test_caseload import signed_in_page

pytestmark = pytest.mark.browser


def test_signpost_record_outcome_and_mark_coded(page, live_server, coordinator, patient):
    Service.objects.all().delete()  # the examples shipped by migration 0011
    Service.objects.create(
        name="Community Link Workers", category=Service.Category.SOCIAL_PRESCRIBING,
        description="Local groups, activities and practical help", phone="01632 960123",
        email="links@example.org", eligibility="Adults registered with a PCN practice",
    )  # fmt: skip
    Service.objects.create(name="Riverside Money Advice", category=Service.Category.BENEFITS)
    Service.objects.create(
        name="Closed Lunch Club", category=Service.Category.SOCIAL_PRESCRIBING, is_active=False
    )
    signed_in_page(page, live_server, coordinator.user)

    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Signpost to a service").click()
    assert page.locator("h1").inner_text() == "HOPPER, Grace\nSignpost to a service"
    page.get_by_role("link", name="Search the services directory").click()
    assert axe_violations(page) == []
    page.get_by_label("Category").select_option("social_prescribing")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_test_id("result-count").inner_text() == "1 service"
    screenshot(page, "services-directory")
    page.get_by_role("link", name="Signpost HOPPER, Grace to Community Link Workers").click()

    assert page.get_by_label("Service").input_value() == str(
        Service.objects.get(name="Community Link Workers").pk
    )
    page.get_by_label("Date signposted").fill("")
    page.get_by_role("button", name="Record the signposting").click()
    assert "Enter the date they were signposted" in page.locator(".nhsuk-error-summary").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "signposting-form-error")
    page.get_by_label("Date signposted").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Record the signposting").click()
    assert "Signposted to Community Link Workers." in page.locator("main").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "signposting-recorded")

    page.get_by_role("link", name="Record the outcome").click()
    page.get_by_label("Engaged with the service").check()
    page.get_by_role("button", name="Record the outcome").click()
    assert (
        page.get_by_test_id("signposting")
        .locator("td")
        .nth(3)
        .inner_text()
        .startswith("Engaged with the service")
    )
    assert Signposting.objects.get().outcome == Signposting.Outcome.ENGAGED

    nav_click(page, "Coding export")
    assert page.locator("h1").inner_text() == "Coding export"
    assert page.get_by_test_id("result-count").inner_text() == "1 row"
    assert page.get_by_test_id("coding-row").locator("td").nth(4).inner_text() == "871731000000106"
    assert axe_violations(page) == []
    screenshot(page, "coding-export")
    page.get_by_label("Select Referral to social prescribing service for").check()
    page.get_by_role("button", name="Mark selected rows as entered").click()
    assert "1 row marked as entered in the GP record." in page.locator("main").inner_text()
    assert page.get_by_test_id("result-count").inner_text() == "0 rows"
    entry = CodingEntry.objects.get()
    assert (entry.entered_by, entry.entered_at is not None) == (coordinator.user, True)
