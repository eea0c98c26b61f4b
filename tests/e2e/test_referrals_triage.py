"""A coordinator records a referral on a patient and accepts it onto their caseload, then triages a
hospital discharge (whose follow-up task is made for them)."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from caseload.models import CareEvent, CaseloadEpisode, Referral, Task
from caseload.services.care_events import care_event_record
from tests.e2e.conftest import axe_violations, nav_click, screenshot
from tests.e2e.test_caseload import signed_in_page
from tests.factories import PatientFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def shipped_referral_types(db):
    """Browser tests flush the database after each test, data migrations' rows included: put back the
    shipped referral types (the data migration's own function, idempotent)."""

    migration = importlib.import_module("caseload.migrations.0010_shipped_referral_types")
    migration.create_types(apps, None)


def test_refer_accept_and_triage_a_discharge(page, live_server, coordinator, practice_a):
    patient = PatientFactory(practice=practice_a, given_name="Iris", family_name="Frail")
    signed_in_page(page, live_server, coordinator.user)

    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Refer", exact=True).click()
    assert page.locator("h1").inner_text() == "Record a referral"
    assert axe_violations(page) == []
    page.get_by_label("Frailty / proactive care").check()
    page.get_by_role("button", name="Continue").click()
    assert page.locator("h1").inner_text() == "Record a referral: Frailty / proactive care"
    page.get_by_role("button", name="Record the referral").click()
    assert "Select who referred" in page.locator(".nhsuk-error-summary").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "referral-form-errors")
    page.get_by_label("GP", exact=True).check()
    page.get_by_label("Referrer's name").fill("Dr Ann Khan")
    page.get_by_label("Reason for the referral").fill("Two falls this month; lives alone.")
    page.get_by_label("Urgent (within 2 working days)").check()
    for criterion in ("Registered with a PCN practice", "Aged 65 or over"):
        page.get_by_label(criterion).check()
    page.get_by_role("button", name="Record the referral").click()
    assert "The referral (Frailty / proactive care) is recorded." in page.locator("main").inner_text()

    nav_click(page, "Referrals")
    assert page.locator("h1").inner_text() == "Referrals"
    assert page.get_by_test_id("result-count").inner_text() == "1 referral"
    assert axe_violations(page) == []
    screenshot(page, "referral-inbox")
    page.locator("tbody tr td:first-child a").first.click()
    assert page.get_by_role("link", name="Direct to an MDT").count() == 0  # criteria not all met
    page.get_by_role("link", name="Accept onto a caseload").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Accept").click()
    assert "is on Cara Coordinator's caseload" in page.locator("main").inner_text()
    assert "Accepted onto the caseload on" in page.get_by_test_id("decision").inner_text()
    referral = Referral.objects.get()
    assert (referral.status, referral.decided_by) == (Referral.Status.ACCEPTED, coordinator.user)
    assert CaseloadEpisode.objects.open().get().coordinator == coordinator.user

    discharged = timezone.now() - timedelta(days=1)
    CareEvent.objects.all().delete()
    event = care_event_record(
        patient=patient, kind=CareEvent.Kind.DISCHARGE, occurred_at=discharged, provider="Royal County Hospital",
        summary="Admitted after a fall; home with reablement.", by=coordinator.user,
    )  # fmt: skip
    nav_click(page, "Transfers of care")
    assert page.locator("h1").inner_text() == "Transfers of care"
    assert page.get_by_test_id("result-count").inner_text() == "1 event to triage"
    assert axe_violations(page) == []
    screenshot(page, "triage-inbox")
    page.get_by_role("link", name="Hospital discharge for FRAIL, Iris").click()
    assert "Task for Cara Coordinator, due" in page.get_by_test_id("follow-up").inner_text()
    assert axe_violations(page) == []
    page.get_by_text("Record a contact").click()
    page.get_by_label("How").select_option("phone")
    page.get_by_label("Duration in minutes").fill("15")
    page.get_by_role("button", name="Record the contact").click()
    assert "Contact recorded on" in page.get_by_test_id("outcome").inner_text()
    screenshot(page, "triage-outcome")
    event.refresh_from_db()
    assert (event.outcome, event.triaged_by) == (CareEvent.Outcome.CONTACT, coordinator.user)
    assert Task.objects.filter(care_event=event, kind=Task.Kind.DISCHARGE_FOLLOW_UP).count() == 1
