"""A whole MDT meeting in the browser: build the agenda, circulate it, record attendance and minutes,
add an action, and the chair signs off. The series is shared with a second practice, as the demo's
are: the coordinator works it seeing only their own practice's patients."""

from datetime import time, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from caseload.models import CareEvent, ReferralType
from caseload.services.referrals import referral_create
from mdt.models import Action, AgendaItem, Circulation, Discussion, ExternalMember, Meeting, MeetingSeries
from mdt.services.schedule import referral_to_agenda
from tests.conftest import sign_in
from tests.e2e.conftest import axe_violations, screenshot
from tests.factories import PatientFactory

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.caseload.import_fixtures"]


def as_user(browser, live_server, user):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 768}, bypass_csp=True
    )
    cookie = sign_in(Client(), user).cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    return context, context.new_page()


def test_a_whole_meeting(
    browser, live_server, coordinator, clinical_lead, practice_a, practice_b, eager_celery, media_root
):
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=timezone.localdate().weekday() % 5, start_time=time(13),
        chair=clinical_lead.user,
    )  # fmt: skip
    series.practices.add(practice_a, practice_b)
    series.members.add(coordinator.user)
    ExternalMember.objects.create(
        series=series, name="Dee Nurse", organisation="Community", email="dn@example.org"
    )
    starts = timezone.now() + timedelta(days=2)
    meeting = Meeting.objects.create(
        series=series, starts_at=starts, scheduled_for=starts, circulate_at=starts - timedelta(days=1)
    )
    referred = PatientFactory(practice=practice_a, given_name="Rita", family_name="Referred")
    frailty = ReferralType.objects.get(name="Frailty / proactive care")
    referral = referral_create(
        patient=referred, referral_type=frailty, source="gp", referrer_name="Dr Ng", reason="Falls at home",
        urgency="routine", received_on=timezone.localdate(), by=coordinator.user,
        criteria_met_ids=list(frailty.criteria.values_list("pk", flat=True)),
    )  # fmt: skip
    # Directing it puts it on the next agenda there and then (no waiting for the hourly sweep).
    referral_to_agenda(referral=referral, series=series, by=coordinator.user)
    elsewhere = PatientFactory(practice=practice_b, given_name="Ivy", family_name="Elsewhere")
    AgendaItem.objects.create(meeting=meeting, patient=elsewhere, source="added", position=9)
    discharged = PatientFactory(practice=practice_a, given_name="Dan", family_name="Discharged")
    CareEvent.objects.create(
        patient=discharged, nhs_number=discharged.nhs_number, kind="discharge",
        occurred_at=timezone.now() - timedelta(days=1), provider="Royal County Hospital",
    )  # fmt: skip

    context, page = as_user(browser, live_server, coordinator.user)
    page.goto(f"/mdt/meetings/{meeting.pk}/")
    agenda = page.locator("#agenda")
    assert "REFERRED, Rita" in agenda.inner_text()
    assert "ELSEWHERE" not in page.locator("main").inner_text()  # another practice's patient
    assert "DISCHARGED, Dan" not in agenda.inner_text()  # a suggestion, not on the agenda yet
    page.get_by_role("button", name="Add").first.click()
    assert "DISCHARGED, Dan" in page.locator("#agenda").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "mdt-agenda")

    page.get_by_role("link", name="Agenda pack and who it was sent to").click()
    page.get_by_role("button", name="Circulate the agenda now").click()
    assert "being made and sent" in page.locator("main").inner_text()
    assert sorted(Circulation.objects.filter(meeting=meeting).values_list("email", flat=True)) == [
        "cara@example.test", "dn@example.org", "liam@example.test",
    ]  # fmt: skip
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "cara@example.test", "dn@example.org", "liam@example.test",
    ]  # fmt: skip
    assert axe_violations(page) == []

    page.goto(f"/mdt/meetings/{meeting.pk}/minutes/")
    page.get_by_label("Cara Coordinator").check()
    page.get_by_role("button", name="Save attendance").click()
    first = page.locator("form", has=page.get_by_label("Discussion")).first
    first.get_by_label("Discussion").fill("Two falls since discharge; physio referral agreed.")
    first.get_by_label("Outcome").select_option("continue")
    first.get_by_role("button", name="Save").click()
    page.get_by_test_id("saved").first.wait_for()
    assert Discussion.objects.filter(notes__startswith="Two falls").count() == 1
    assert axe_violations(page) == []
    page.get_by_role("link", name="Add an action").first.click()
    page.get_by_label("Action", exact=True).fill("Refer to falls clinic")
    page.get_by_label("Owner").select_option(index=1)
    page.get_by_label("Due").fill((timezone.localdate() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Add the action").click()
    assert Action.objects.filter(what="Refer to falls clinic", status="open").count() == 1
    screenshot(page, "mdt-minutes")
    context.close()

    context, page = as_user(browser, live_server, clinical_lead.user)
    page.goto(f"/mdt/meetings/{meeting.pk}/minutes/")
    page.get_by_role("link", name="Sign off the minutes").click()
    page.get_by_role("button", name="Sign off and lock the minutes").click()
    meeting.refresh_from_db()
    assert meeting.minutes_locked
    assert page.get_by_role("button", name="Save", exact=True).count() == 0
    assert axe_violations(page) == []
    assert AgendaItem.objects.filter(meeting=meeting).count() == 3
    context.close()
