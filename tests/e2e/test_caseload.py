"""A coordinator finds a cohort, takes two people onto their caseload, and works My caseload."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from caseload.models import CaseloadEpisode, EfiCategory
from tests.conftest import sign_in
from tests.e2e.conftest import axe_violations, screenshot
from tests.factories import PatientFactory

pytestmark = pytest.mark.browser


def signed_in_page(page, live_server, user):
    """Reuse the Django test client's signed-in, two-factor-verified session in the browser."""
    client = sign_in(Client(), user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    return page


def test_find_add_to_caseload_and_close(page, live_server, coordinator, practice_a, practice_b):
    frail = [
        PatientFactory(practice=practice_a, given_name=name, family_name="Frail", date_of_birth=date(1935, 5, 1),
                       risk_score=Decimal(score), efi_score=Decimal("0.30"), efi_category=EfiCategory.MODERATE)
        for name, score in (("Iris", "81.0"), ("Jack", "77.5"))
    ]  # fmt: skip
    PatientFactory(practice=practice_a, given_name="Kit", family_name="Fit", date_of_birth=date(1990, 1, 1))
    PatientFactory(
        practice=practice_b, given_name="Lou", family_name="Frail", efi_category=EfiCategory.MODERATE
    )
    signed_in_page(page, live_server, coordinator.user)

    page.goto("/patients/")
    assert page.locator("h1").inner_text() == "Find patients"
    assert axe_violations(page) == []
    page.get_by_label("Moderate frailty").check()
    page.get_by_role("button", name="Apply filters").first.click()
    assert page.get_by_test_id("result-count").inner_text() == "2 patients"
    assert page.locator("tbody tr td:nth-child(2) a").all_inner_texts() == ["FRAIL, Iris", "FRAIL, Jack"]
    screenshot(page, "find-patients-filtered")

    page.get_by_label("Select Iris FRAIL").check()
    page.get_by_label("Select Jack FRAIL").check()
    page.get_by_role("button", name="Add selected to a caseload").click()
    assert page.locator("h1").inner_text() == "Add 2 patients to a caseload"
    assert axe_violations(page) == []
    page.get_by_label("Risk stratification list").check()
    page.get_by_role("button", name="Add to caseload").click()

    assert page.locator("h1").inner_text() == "My caseload"
    assert "2 patients added to Cara Coordinator's caseload." in page.locator("main").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "my-caseload")
    assert set(CaseloadEpisode.objects.open().values_list("patient__given_name", flat=True)) == {
        "Iris",
        "Jack",
    }

    page.get_by_role("link", name="FRAIL, Iris").click()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Take off the caseload").click()
    page.get_by_role("button", name="Close the episode").click()
    assert "Select why the episode is ending" in page.locator(".nhsuk-error-summary").inner_text()
    assert axe_violations(page) == []
    page.get_by_label("Goals met").check()
    page.get_by_role("button", name="Close the episode").click()
    assert page.get_by_role("link", name="Add to a caseload").is_visible()
    assert not CaseloadEpisode.objects.filter(patient=frail[0]).open().exists()
