"""The demo PCN is lived in: every role's list pages have rows and its home page non-zero figures on
first sign-in, and the records the demo writes in bulk are those the services would have written."""

import re
from datetime import date

import pytest
import time_machine
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlan, CarePlanVersion
from careplans.services.ehch import ehch_pcsp_due_for
from caseload.codes import CODED_INTERVENTION_KEYS, INTERVENTIONS_BY_KEY
from caseload.models import (
    ActivationMeasure,
    CareEvent,
    CaseloadEpisode,
    CodingEntry,
    Contact,
    Referral,
    Signposting,
    Task,
    pam_level,
)
from caseload.services.pam import pam_change
from demo.services import demo_pcn_seed
from mdt.models import Action, AgendaItem, Meeting
from pcn.models import AuditEventPatient, User
from recall.models import qof_year
from reporting.reports import REPORTS
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

ON = date(2026, 11, 23)  # a Monday in mid-year

COORDINATOR_PAGES = {
    "overview:my_caseload": "caseload-row",
    "caseload:my_tasks": "task-row",
    "caseload:referral_list": "referral-row",
    "caseload:triage_list": "event-row",
    "mdt:series_list": "meeting",
    "mdt:my_actions": "action-row",
    "careplans:reviews_due": "review-row",
    "recall:worklist": "worklist-row",
    "recall:my_appointments": "appointment-row",
}


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    with time_machine.travel(ON, tick=False):
        demo_pcn_seed(patients=400, practices=2, seed=1)
        yield


def rows(response, testid: str) -> int:
    assert response.status_code == 200
    return len(re.findall(rf'data-testid="{testid}"', response.content.decode()))


def figures(response) -> dict[str, int]:
    assert response.status_code == 200
    found = re.findall(r'data-testid="([a-z-]+-count)">([\d,]+)<', response.content.decode())
    return {testid: int(value.replace(",", "")) for testid, value in found}


def user(email: str) -> User:
    return User.objects.get(email=email)


@pytest.mark.parametrize("email", ["coordinator@demo.pcn.test", "coordinator2@demo.pcn.test"])
def test_each_coordinator_finds_every_list_with_rows_and_the_home_figures_non_zero(client, demo, email):
    sign_in(client, user(email))
    empty = {
        name: testid
        for name, testid in COORDINATOR_PAGES.items()
        if not rows(client.get(reverse(name)), testid)
    }
    assert empty == {}
    home = figures(client.get(reverse("home")))
    assert sorted(home) == [
        "caseload-count", "events-to-triage-count", "new-referrals-count", "patient-count", "tasks-due-count",
    ]  # fmt: skip
    assert [name for name, value in home.items() if value == 0] == []
    # Some of the tasks due are overdue, some due today.
    page = client.get(reverse("caseload:my_tasks")).content.decode()
    assert ">Overdue</strong>" in page and ">Today</strong>" in page


def test_the_lead_finds_every_list_and_the_signed_off_minutes_with_rows(client, demo):
    sign_in(client, user("lead@demo.pcn.test"))
    empty = {
        name: testid
        for name, testid in COORDINATOR_PAGES.items()
        if not rows(client.get(reverse(name)), testid)
    }
    assert empty == {}
    # The Safeguarding list: the two concerns awaiting acknowledgement (one at immediate risk first).
    assert rows(client.get(reverse("caseload:safeguarding_list")), "concern-row") == 2
    signed_off = Meeting.objects.filter(minutes_signed_off_at__isnull=False).order_by("-starts_at").first()
    assert rows(client.get(reverse("mdt:minutes", args=[signed_off.pk])), "minutes-item") >= 3
    assert rows(client.get(reverse("mdt:minutes", args=[signed_off.pk])), "locked") == 1
    home = figures(client.get(reverse("home")))
    assert sorted(home) == ["patient-count", "tasks-due-count"]
    assert [name for name, value in home.items() if value == 0] == []


def test_the_manager_finds_the_home_figures_and_every_report_with_figures(client, demo):
    sign_in(client, user("manager@demo.pcn.test"))
    home = client.get(reverse("home"))
    assert [name for name, value in figures(home).items() if value == 0] == []
    assert home.content.decode().count('<th scope="row">') == 2  # the PCN figures, one row per practice
    assert rows(client.get(reverse("reporting:report_list")), "report") == len(REPORTS)
    without_figures = []
    for key in REPORTS:
        year = {"period": "qof_year", "year": qof_year(ON)}  # this QOF year so far: the demo's months
        page = client.get(reverse("reporting:report_detail", args=[key]), year)
        totals = re.findall(r'data-testid="total"><a [^>]*>([\d,]+)', page.content.decode())
        if not any(int(total.replace(",", "")) for total in totals):
            without_figures.append(key)
    assert without_figures == []


@time_machine.travel(ON, tick=False)
def test_the_demo_records_are_what_the_services_would_store(settings):
    settings.DEMO_MODE = True
    demo_pcn_seed(patients=400, practices=2, seed=1)

    assert AuditEventPatient.objects.count() == 0  # so that --reset still works
    # Each open episode's last and next contact are its latest contact's (contact_record).
    for episode in CaseloadEpisode.objects.open():
        latest = Contact.objects.filter(patient=episode.patient).order_by("-contact_at").first()
        assert (episode.last_contact_at, episode.next_contact_due) == (
            latest.contact_at,
            latest.next_contact_due,
        )
        assert episode.next_contact_due is None or episode.next_contact_due > timezone.localdate(
            latest.contact_at
        )
    # Coded interventions, PAM levels, social prescribing and agreed plans are in the coding export.
    for contact in Contact.objects.all():
        coded = set(CodingEntry.objects.filter(source=f"contact:{contact.pk}").values_list("term", flat=True))
        assert coded == {
            INTERVENTIONS_BY_KEY[k].term for k in contact.interventions if k in CODED_INTERVENTION_KEYS
        }
    for measure in ActivationMeasure.objects.all():
        assert measure.level == pam_level(measure.score)
        assert CodingEntry.objects.filter(
            source=f"pam:{measure.pk}", term__endswith=str(measure.level)
        ).exists()
    # Each patient measured has one open re-measure task; the re-measured some improved by 3 or more.
    for patient_id in set(ActivationMeasure.objects.values_list("patient_id", flat=True)):
        assert Task.objects.open().filter(patient_id=patient_id, kind=Task.Kind.PAM_REMEASURE).count() == 1
    changes = [
        pam_change(list(ActivationMeasure.objects.filter(patient_id=pk).order_by("measured_on")))
        for pk in set(ActivationMeasure.objects.values_list("patient_id", flat=True))
    ]
    assert any(c and c.improved for c in changes)
    assert {s.outcome for s in Signposting.objects.all()} >= {"engaged", "declined", "not_engaged"}
    # Care plans: one draft and one agreed at most per plan, every state there, agreed ones coded.
    states = set(CarePlanVersion.objects.values_list("status", flat=True))
    assert states == {"draft", "agreed", "superseded"}
    for version in CarePlanVersion.objects.exclude(status="draft"):
        assert CodingEntry.objects.filter(source=f"careplan:{version.pk}").count() == 1
    assert CarePlanVersion.objects.agreed().filter(review_date__lt=ON).exists()  # overdue for review
    for version in CarePlanVersion.objects.agreed().filter(review_date__lte=ON):
        assert Task.objects.filter(patient=version.plan.patient, kind=Task.Kind.CARE_PLAN_REVIEW).exists()
    # EHCH: a recent move-in is overdue (each practice's first); none has a plan agreed yet.
    ehch = ehch_pcsp_due_for(patient_ids=CarePlan.objects.values_list("patient_id", flat=True), today=ON)
    assert "overdue" in {due.state for due in ehch.values()} <= {"due", "overdue"}
    # Referrals: new ones in the inbox, some not meeting the criteria; accepted ones link their episode.
    new = list(Referral.objects.filter(status=Referral.Status.NEW))
    assert any(r.criteria_met for r in new) and not all(r.criteria_met for r in new)
    assert all(r.episode_id for r in Referral.objects.filter(status=Referral.Status.ACCEPTED))
    # Transfers of care: discharges have their follow-up task; some to triage.
    for event in CareEvent.objects.filter(kind=CareEvent.Kind.DISCHARGE):
        assert Task.objects.filter(care_event=event, kind=Task.Kind.DISCHARGE_FOLLOW_UP).count() == 1
    assert CareEvent.objects.to_triage().exclude(kind=CareEvent.Kind.CARE_HOME_ADMISSION).exists()
    # MDT: held meetings signed off and coded per patient discussed; open, overdue and done actions;
    # referrals directed to an MDT are on its next agenda.
    for meeting in Meeting.objects.filter(minutes_signed_off_at__isnull=False):
        discussed = AgendaItem.objects.filter(meeting=meeting, discussion__isnull=False).count()
        assert CodingEntry.objects.filter(source__startswith=f"mdt:{meeting.pk}:").count() == discussed > 0
    assert Action.objects.overdue(on=ON).exists()
    assert Action.objects.open().filter(due_on__gte=ON).exists()
    assert Action.objects.filter(status="done", closed_at__gt=F("created_at")).exists()
    for referral in Referral.objects.filter(status=Referral.Status.DIRECTED_TO_MDT):
        assert AgendaItem.objects.filter(referral=referral, meeting__starts_at__gt=timezone.now()).exists()
