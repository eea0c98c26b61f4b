"""A PCN manager imports the ICB's risk extract in a real browser: upload, preview, import, result."""

import pytest

from caseload.models import ImportBatch, Patient
from tests.caseload.import_helpers import ICB_SAMPLE
from tests.e2e.conftest import axe_violations, screenshot
from tests.e2e.test_sign_in import current_code

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root")]


def sign_in(page, user) -> None:
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Security code").fill(current_code(user))
    page.get_by_role("button", name="Continue").click()


def test_manager_uploads_checks_and_imports_the_icb_extract(page, pcn_manager, profiles, eager_celery):
    page.goto("/imports/new/")
    sign_in(page, pcn_manager.user)
    assert page.locator("h1").inner_text() == "Import a file"
    assert axe_violations(page) == []
    screenshot(page, "import-upload")

    # Nothing chosen: the NHS.UK error summary, and nothing is stored.
    page.get_by_role("button", name="Upload and check").click()
    assert "There is a problem" in page.locator(".nhsuk-error-summary").inner_text()
    assert "Select a CSV or XLSX file" in page.locator(".nhsuk-error-summary").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "import-upload-errors")
    assert ImportBatch.objects.count() == 0

    page.get_by_label("ICB risk-stratification extract").check()
    page.get_by_label("Upload a file").set_input_files(str(ICB_SAMPLE))
    page.get_by_role("button", name="Upload and check").click()

    # The file was checked in the background (eagerly here); the preview shows what would change.
    assert page.locator("h1").inner_text() == "icb_risk_extract.csv\nCheck the import"
    assert page.get_by_test_id("count-rows").inner_text() == "60"
    assert page.get_by_test_id("count-new").inner_text() == "60"
    assert page.get_by_test_id("count-invalid").inner_text() == "0"
    assert page.get_by_test_id("unmapped").inner_text() == "ltc_count"
    assert Patient.objects.count() == 0
    assert axe_violations(page) == []
    screenshot(page, "import-preview")

    page.get_by_role("button", name="Import", exact=True).click()

    assert page.locator("h1").inner_text() == "Import complete"
    assert page.get_by_test_id("count-new").inner_text() == "60"
    assert Patient.objects.count() == 60
    assert ImportBatch.objects.get().status == ImportBatch.Status.DONE
    assert axe_violations(page) == []
    screenshot(page, "import-result")

    page.goto("/imports/")
    assert page.locator("tbody tr").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "import-list")


def test_preview_with_invalid_rows_offers_to_skip_them(page, manager, practice_b, profiles, eager_celery):
    """A manager at P99001 only: the extract's other practices' rows are invalid for them."""
    page.goto("/imports/new/")
    sign_in(page, manager.user)
    page.get_by_label("ICB risk-stratification extract").check()
    page.get_by_label("Upload a file").set_input_files(str(ICB_SAMPLE))
    page.get_by_role("button", name="Upload and check").click()

    assert page.get_by_test_id("count-invalid").inner_text() == "39"
    assert page.get_by_role("button", name="Import", exact=True).count() == 0
    skip = page.get_by_role("button", name="Import the 21 valid patients, skip the 39 invalid rows")
    assert skip.is_visible()
    assert "Practice P99002 is not one of your practices" in page.get_by_test_id("import-errors").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "import-preview-invalid")

    skip.click()
    assert page.locator("h1").inner_text() == "Import complete"
    assert Patient.objects.count() == 21
    assert axe_violations(page) == []
