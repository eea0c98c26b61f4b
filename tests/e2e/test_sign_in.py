import pytest
from django_otp.oath import totp

from tests.e2e.conftest import axe_violations, screenshot

pytestmark = pytest.mark.browser


def current_code(user) -> str:
    device = user.totpdevice_set.get(confirmed=True)
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def test_coordinator_signs_in_with_a_totp_code_and_reaches_home(page, coordinator, patient):
    page.goto("/")
    assert page.url.endswith("/accounts/login/?next=/")
    assert page.locator("h1").inner_text() == "Sign in"
    assert axe_violations(page) == []
    screenshot(page, "sign-in")

    page.get_by_label("Email address").fill(coordinator.user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()

    assert page.locator("h1").inner_text() == "Enter your security code"
    page.get_by_label("Security code").fill(current_code(coordinator.user))
    page.get_by_role("button", name="Continue").click()

    assert page.locator("h1").inner_text() == "Hello, Cara"
    assert page.get_by_test_id("patient-count").inner_text() == "1"
    header = page.locator("header").inner_text()
    assert "Cara Coordinator" in header
    assert "Care coordinator" in header
    assert "Riverside Surgery" in header
    assert axe_violations(page) == []
    screenshot(page, "coordinator-home")


def test_wrong_code_shows_the_error_summary(page, coordinator):
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(coordinator.user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Security code").fill("12345x")
    page.get_by_role("button", name="Continue").click()

    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    assert "There is a problem" in summary.inner_text()
    assert axe_violations(page) == []
    screenshot(page, "two-factor-error")
