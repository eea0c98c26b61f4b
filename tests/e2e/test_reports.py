"""A PCN manager opens the dashboard, filters a practice, downloads the EHCH report as Excel and PDF, saves
a search of Find patients and re-runs it. axe-core finds no WCAG 2.2 A/AA violation on the way."""

import io
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from pcn.models import AuditEvent, Role
from reporting.models import ReportExport, SavedSearch, SavedSearchRun
from tests.conftest import make_person, pdf_text
from tests.e2e.conftest import axe_violations, nav_click, screenshot
from tests.e2e.test_caseload import signed_in_page
from tests.reporting.test_care_plans_report import plans  # noqa: F401 — the EHCH data set (December 2025)

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root", "eager_celery", "plans")]

EHCH = "EHCH: PCSP within 7 working days of care home admission"


@pytest.fixture
def pcn_manager(practice_a, practice_b):
    person = make_person(practice_a, Role.MANAGER, full_name="Mo Manager", email="mo@example.test")
    person.user.memberships.create(practice=practice_b, role=Role.MANAGER)
    return person


def download(page, name: str) -> Path:
    """Ask for a download on the report page: made in the background (eager here), then fetched."""
    page.get_by_role("button", name=name, exact=True).click()
    page.get_by_test_id("download").wait_for()
    assert axe_violations(page) == []
    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    return Path(info.value.path())


def test_dashboard_ehch_downloads_and_a_saved_search(page, live_server, pcn_manager, practice_a):
    signed_in_page(page, live_server, pcn_manager.user)

    # The dashboard, for all practices and then one.
    page.goto(reverse("reporting:dashboard"))
    assert axe_violations(page) == []
    page.locator("select[name=practice]").select_option(label=str(practice_a))
    page.get_by_role("button", name="Show").click()
    assert practice_a.name in page.locator("h1").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "reports-dashboard")

    # The care plans report for December 2025: EHCH 1 of 4 admissions on time (25%: seen from today, every
    # deadline has passed; the fixture's "still due" one, due 12 January 2026, was never met).
    report_url = f"{reverse('reporting:report_detail', args=['care_plans'])}?period=month&month=2025-12"
    page.goto(report_url)
    assert axe_violations(page) == []
    assert page.get_by_test_id("figure-ehch_on_time_percent").get_by_test_id("total").inner_text() == "25%"
    screenshot(page, "reports-care-plans")

    workbook = load_workbook(io.BytesIO(download(page, "Excel (XLSX)").read_bytes()), read_only=True)
    figures = [[cell for cell in row] for row in workbook["Figures"].iter_rows(values_only=True)]
    ehch = next(row for row in figures if row[0] == f"{EHCH} (%)")
    assert ehch[1:3] == [25, 100]  # December, November
    assert workbook.sheetnames[:2] == ["About", "Figures"]  # the cover sheet first

    page.goto(report_url)
    pdf = download(page, "PDF")
    assert EHCH in " ".join(pdf_text(pdf.read_bytes()).split())
    assert ReportExport.objects.filter(created_by=pcn_manager.user, state="ready").count() == 2

    # Save a search of Find patients (practice A), then run it again from the saved searches.
    nav_click(page, "Find patients")
    page.goto(f"{reverse('caseload:patient_list')}?practice={practice_a.pk}")
    count = page.get_by_test_id("result-count").inner_text()
    page.get_by_test_id("save-search").locator("summary").click()
    page.get_by_test_id("save-search").get_by_label("Name").fill("Riverside patients")
    page.get_by_role("button", name="Save this search").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Run it and open the list").click()
    assert page.get_by_test_id("result-count").inner_text() == count
    assert (
        "Riverside patients"
        in page.locator(".nhsuk-notification-banner, .nhsuk-inset-text").first.inner_text()
    )
    search = SavedSearch.objects.get(name="Riverside patients")
    assert SavedSearchRun.objects.filter(search=search).count() == 1
    page.goto(reverse("reporting:saved_search_list"))
    assert axe_violations(page) == []
    screenshot(page, "reports-saved-searches")
    assert AuditEvent.objects.filter(action="report.export.download").count() == 2
