"""A coordinator runs the diabetes recall: filters the worklist, invites 5 patients by text message (the
messaging export) and 5 by letter (the letters PDF), records a DNA and an attended review, and sees the
call/recall report change. axe-core finds no WCAG 2.2 A/AA violation on any page on the way."""

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from caseload.models import CodingEntry, LongTermCondition
from pcn.models import AuditEvent
from recall.models import Invitation, RecallEntry, Register
from recall.services.years import recall_sweep
from tests.e2e.conftest import axe_violations, nav_click, screenshot
from tests.e2e.test_caseload import signed_in_page
from tests.factories import PatientFactory

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_root", "eager_celery")]

SURNAMES = ["Adams", "Baker", "Clarke", "Davies", "Evans", "Fisher", "Green", "Hughes", "Irving", "Jones"]


@pytest.fixture
def diabetics(practice_a):
    practice_a.address, practice_a.postcode, practice_a.phone = (
        "1 River Walk, Riverside",
        "RV1 2AB",
        "01632 960001",
    )
    practice_a.save()
    patients = [
        PatientFactory(
            practice=practice_a, given_name="Dee", family_name=surname, date_of_birth=date(1950, 4 + n % 9, 10),
            ltc_flags=LongTermCondition.DIABETES, sex="M", mobile=f"07700 900{n:03d}",
            address=f"{n + 1} High Street, Riverside", postcode="RV1 1AA",
        )
        for n, surname in enumerate(SURNAMES)
    ]  # fmt: skip
    recall_sweep()
    return patients


def report_cell(page, column: str) -> str:
    """The diabetes row's figure in `column` of the call/recall report."""
    headers = [h.strip() for h in page.get_by_test_id("report-table").locator("thead th").all_inner_texts()]
    row = page.get_by_test_id("report-row").filter(has_text="Diabetes").first
    return [c.strip() for c in row.locator("th, td").all_inner_texts()][headers.index(column)]


def invite_ticked(page, count: int, channel: str) -> None:
    boxes = page.locator("input[name=entry]")
    for n in range(count):
        boxes.nth(n).check()
    page.get_by_label("Invite by").select_option(label=channel)
    page.get_by_role("button", name="Preview the ticked").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name=f"Invite {count} patients").click()
    assert axe_violations(page) == []


def record_appointment(page, patient, *, outcome: str, review_done: bool = False) -> None:
    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Book appointment for the Diabetes annual review").click()
    assert axe_violations(page) == []
    page.get_by_label("Date").fill((timezone.localdate() - timedelta(days=1)).isoformat())
    page.get_by_label("Time").fill("10:30")
    page.get_by_label("Role").select_option(label="Practice nurse")
    page.get_by_role("button", name="Book the appointment").click()
    page.get_by_test_id("recall").get_by_role("link", name="Outcome").first.click()
    assert axe_violations(page) == []
    page.get_by_label(outcome, exact=True).check()
    if review_done:
        page.get_by_label("Review done").check()
    page.get_by_role("button", name="Record the outcome").click()


def test_run_the_diabetes_recall_end_to_end(page, live_server, coordinator, diabetics):
    signed_in_page(page, live_server, coordinator.user)
    diabetes = Register.objects.get(key="diabetes")

    page.goto(reverse("recall:report"))
    assert axe_violations(page) == []
    assert (report_cell(page, "On register"), report_cell(page, "Seen"), report_cell(page, "Not yet invited")) == (
        "10", "0", "10",
    )  # fmt: skip

    # The worklist, filtered to diabetes.
    nav_click(page, "Recall")
    assert page.locator("h1").inner_text().endswith("Recall worklist")
    page.get_by_label("Register").select_option(label="Diabetes")
    page.get_by_role("button", name="Apply filters").click()
    assert page.get_by_test_id("result-count").inner_text() == "10 reviews"
    assert axe_violations(page) == []
    screenshot(page, "recall-worklist")

    # Five by text message: the messaging export has one row each.
    invite_ticked(page, 5, "Text message (SMS)")
    screenshot(page, "recall-batch-sms")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Messaging export (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert rows[0][:5] == ["NHS number", "Given name", "Family name", "Date of birth", "Mobile"]
    invited = Invitation.objects.filter(channel="sms").values_list("patient__family_name", flat=True)
    assert len(rows) == 6 and sorted(row[2] for row in rows[1:]) == sorted(invited)

    # Five more by letter (the not yet invited): the letters are made in the background, one a patient.
    page.goto(f"{reverse('recall:worklist')}?register={diabetes.pk}&state=due")
    assert page.get_by_test_id("result-count").inner_text() == "5 reviews"
    invite_ticked(page, 5, "Letter")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the letters (PDF)").click()
    letters = PdfReader(download_info.value.path())
    assert len(letters.pages) == 5
    assert "1 River Walk" in letters.pages[0].extract_text()
    assert Invitation.objects.filter(cancelled_at__isnull=True).count() == 10

    # A DNA leaves the review due (invited once); an attended review closes it and codes it.
    dna, seen = (next(p for p in diabetics if p.family_name == name) for name in ("Adams", "Baker"))
    record_appointment(page, dna, outcome="Did not attend")
    banner = page.locator(".nhsuk-notification-banner").inner_text()
    assert "Still due: Diabetes annual review, invited ×1." in banner
    record_appointment(page, seen, outcome="Attended", review_done=True)
    assert axe_violations(page) == []
    assert RecallEntry.objects.get(patient=dna, register=diabetes).state_text() == "Invited ×1"
    assert RecallEntry.objects.get(patient=seen, register=diabetes).state == "seen"
    assert CodingEntry.objects.filter(patient=seen, snomed_id="888461000000107").count() == 1

    # The report has moved: one seen, nobody left uninvited.
    page.goto(reverse("recall:report"))
    assert (report_cell(page, "Seen"), report_cell(page, "Not yet invited"), report_cell(page, "Invited once")) == (
        "1", "0", "9",
    )  # fmt: skip
    assert axe_violations(page) == []
    screenshot(page, "recall-report")
    assert AuditEvent.objects.filter(action="recall.batch.create").count() == 2
