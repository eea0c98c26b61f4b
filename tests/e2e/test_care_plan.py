"""A coordinator writes a care plan, agrees it with the person and downloads their copy."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlanReview, CarePlanVersion
from careplans.services.plans import care_plan_agree, care_plan_draft
from caseload.models import CodingEntry
from tests.e2e.conftest import axe_violations, screenshot
from tests.e2e.test_caseload import signed_in_page
from tests.factories import CareHomeFactory, CaseloadEpisodeFactory

pytestmark = pytest.mark.browser


def test_write_agree_and_download_a_care_plan(page, live_server, coordinator, patient):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    signed_in_page(page, live_server, coordinator.user)

    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Care plan").click()
    assert page.locator("h1").inner_text().endswith("Personalised care and support plan")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Start editing").click()

    assert "Edit the care plan" in page.locator("h1").inner_text()
    assert axe_violations(page) == []
    page.get_by_label("About me").fill("Retired teacher who loves the allotment")
    page.get_by_label("What matters to me").fill("Staying in my own home")
    page.get_by_label("Goal, in the person's words").fill("Get back to the allotment every week")
    page.get_by_label("Support need").fill("Lonely since my wife died")
    page.get_by_label("Area").select_option("loneliness")
    screenshot(page, "care-plan-edit")
    page.get_by_role("button", name="Save the plan").click()
    page.get_by_text("Care plan saved.").wait_for()

    page.get_by_role("link", name="Agree the plan").click()
    page.get_by_label("Phone").check()
    page.get_by_label("The person").check()
    page.get_by_role("button", name="Agree the plan").click()
    page.get_by_text("Care plan version 1 agreed.").wait_for()
    assert "Retired teacher who loves the allotment" in page.get_by_test_id("plan-sections").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "care-plan")
    assert CarePlanVersion.objects.get().status == CarePlanVersion.Status.AGREED
    assert CodingEntry.objects.filter(term="Personalised care and support plan agreed").count() == 1

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the person's copy (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")


def test_care_home_move_in_badge_review_and_ehch_page(page, live_server, coordinator, patient):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    CareHomeFactory(practice=patient.practice, name="Beech House")
    signed_in_page(page, live_server, coordinator.user)

    # A move-in today: the patient page shows the 7-working-day deadline.
    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Record a care home move-in").click()
    assert axe_violations(page) == []
    page.get_by_label("Care home", exact=True).select_option(label="Beech House")
    page.get_by_label("Date they moved in").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Save").click()
    assert "PCSP due in 7 working days" in page.get_by_test_id("ehch-pcsp").inner_text()
    assert axe_violations(page) == []

    # The care home residents' page lists the admission.
    page.goto(live_server.url + reverse("careplans:ehch"))
    assert page.get_by_test_id("ehch-row").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "care-plan-ehch")

    # An agreed plan, reviewed with no changes.
    version = care_plan_agree(
        version=care_plan_draft(patient=patient, by=coordinator.user), agreed_on=timezone.localdate(),
        agreed_how="in_person", agreed_with="patient", by=coordinator.user,
    )  # fmt: skip
    page.goto(live_server.url + reverse("careplans:plan", args=[patient.pk]))
    page.get_by_role("link", name="Record a review").click()
    assert axe_violations(page) == []
    page.get_by_label("Phone").check()
    page.get_by_label("The person").check()
    page.get_by_label("No changes needed: the plan stays as agreed").check()
    page.get_by_label("Next review date").fill((timezone.localdate() + timedelta(days=180)).isoformat())
    page.get_by_role("button", name="Record the review").click()
    page.get_by_text("Review recorded.").wait_for()
    assert CarePlanReview.objects.get().version == version
