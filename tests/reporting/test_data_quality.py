"""The data quality report: exact counts per check and practice on a hand-built data set, the patients
behind each check (scoped, paged, audited) and the CSV to fix them (escaped, audited)."""

import csv
import io
import re
from datetime import date

import pytest
import time_machine
from django.urls import reverse

from caseload.models import CareHome, Patient
from pcn.models import AuditEvent, Role
from reporting.services.data_quality import CHECKS, data_quality_counts
from tests.conftest import make_person
from tests.factories import CaseloadEpisodeFactory, PatientFactory, UserFactory
from tests.reporting.report_data import pam, plan_version

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 3)
CSV = {"format": "csv"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-12-03 10:00 +0000", tick=False):
        yield


def good(practice, family: str, **fields) -> Patient:
    """A patient with every checked field as it should be, but for `fields`."""
    values = {"mobile": "07700 900123", "ethnicity": "White British", "risk_score": "50.0", **fields}
    return PatientFactory(practice=practice, given_name="Pat", family_name=family, **values)


@pytest.fixture
def lead_of_both(practice_a, practice_b):
    person = make_person(practice_a, Role.CLINICAL_LEAD, full_name="Lee Both", email="lee@example.test")
    person.user.memberships.create(practice=practice_b, role=Role.CLINICAL_LEAD)
    return person


@pytest.fixture
def data(practice_a, practice_b, coordinator):
    """Practice A: 12 living registered patients checked (and 2 not); practice B: 2."""
    cara = coordinator.user
    left_us = UserFactory(full_name="Gone Coordinator", is_active=False)
    left_us.memberships.create(practice=practice_a, role=Role.COORDINATOR)
    moved = make_person(
        practice_b, Role.COORDINATOR, full_name="Moved Coordinator", email="moved@example.test"
    )
    home = CareHome.objects.create(name="Willow Court", practice=practice_a)

    good(practice_a, "Nomobile", mobile="")
    good(practice_a, "Nothing", mobile="", ethnicity="")
    good(practice_a, "Unscored", risk_score=None)
    good(practice_a, "Deceased", mobile="", is_deceased=True)  # not checked
    good(practice_a, "Left", ethnicity="", has_left=True)  # not checked
    CaseloadEpisodeFactory(patient=good(practice_a, "Orphaned"), coordinator=left_us)
    CaseloadEpisodeFactory(patient=good(practice_a, "Elsewhere"), coordinator=moved.user)
    stale = good(practice_a, "Stalepam")
    CaseloadEpisodeFactory(patient=stale, coordinator=cara)
    pam(stale, cara, date(2025, 12, 1), "50.0")
    pam(stale, cara, date(2026, 6, 2), "52.0")  # the day before 6 months ago: stale
    due = good(practice_a, "Duepam")
    CaseloadEpisodeFactory(patient=due, coordinator=cara)
    pam(due, cara, date(2026, 6, 3), "52.0")  # exactly 6 months ago: due, not stale
    off_caseload = good(practice_a, "Offcaseload")
    CaseloadEpisodeFactory(
        patient=off_caseload,
        coordinator=cara,
        status="closed",
        closed_at="2026-02-01T10:00Z",
        close_reason="goals_met",
    )
    pam(off_caseload, cara, date(2026, 1, 1), "40.0")  # old, but not on a caseload
    good(practice_a, "Unlinked", care_home_since=date(2025, 3, 1))
    good(practice_a, "Resident", care_home=home, care_home_since=date(2025, 3, 1))
    overdue = good(practice_a, "Overdueplan")
    plan_version(overdue, cara, agreed_on=date(2025, 12, 1), review_date=date(2026, 12, 2))
    on_time = good(practice_a, "Plantoday")
    plan_version(on_time, cara, number=1, status="superseded", agreed_on=date(2025, 1, 1),
                 review_date=date(2025, 6, 1), superseded_at="2025-06-01T10:00Z")  # fmt: skip
    plan_version(on_time, cara, number=2, agreed_on=date(2025, 6, 1), review_date=TODAY)

    good(practice_b, "Bnomobile", mobile="", risk_score=None)
    b_plan = good(practice_b, "Bplan")
    plan_version(b_plan, moved.user, agreed_on=date(2025, 1, 1), review_date=date(2026, 1, 1))


EXPECTED_A = {
    "no_mobile": 2, "no_ethnicity": 1, "no_risk_score": 1, "no_coordinator": 2, "care_home_unlinked": 1,
    "pcsp_overdue": 1, "pam_stale": 1,
}  # fmt: skip
EXPECTED_B = {key: 0 for key in CHECKS} | {"no_mobile": 1, "no_risk_score": 1, "pcsp_overdue": 1}
NAMES = {
    "no_mobile": ["Bnomobile", "Nomobile", "Nothing"],
    "no_ethnicity": ["Nothing"],
    "no_risk_score": ["Bnomobile", "Unscored"],
    "no_coordinator": ["Elsewhere", "Orphaned"],
    "care_home_unlinked": ["Unlinked"],
    "pcsp_overdue": ["Bplan", "Overdueplan"],
    "pam_stale": ["Stalepam"],
}


def test_counts_per_practice_in_one_aggregate_query(data, practice_a, practice_b, django_assert_num_queries):
    with django_assert_num_queries(2):  # the counts, the practices
        rows = data_quality_counts(practice_ids=[practice_a.pk, practice_b.pk], today=TODAY)
    assert [(row.practice.ods_code, row.patients, row.counts) for row in rows] == [
        ("P99002", 2, EXPECTED_B),  # by name: Castle Street, then Riverside
        ("P99001", 12, EXPECTED_A),
    ]


def cells(response, key: str) -> list[str]:
    row = re.search(rf'data-testid="check-{key}">(.*?)</tr>', response.content.decode(), re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_page_shows_each_check_per_practice_and_is_audited(client, sign_in_as, lead_of_both, data):
    sign_in_as(lead_of_both)
    response = client.get(reverse("reporting:data_quality"))
    assert response.status_code == 200
    # All, Castle Street (B), Riverside (A), download
    assert cells(response, "no_mobile") == ["3", "1", "2", "CSV of the patients with no mobile number"]
    assert cells(response, "no_coordinator") == [
        "2",
        "0",
        "2",
        "CSV of the patients with on a caseload without a current coordinator",
    ]
    assert cells(response, "pam_stale") == ["1", "0", "1", "CSV of the patients with pam not re-measured"]
    assert b"14 checked" in response.content
    event = AuditEvent.objects.get(action="report.data_quality")
    assert event.patient_links.count() == 0  # counts name no patient


def test_a_coordinator_sees_their_practice_only(client, sign_in_as, coordinator, practice_b, data):
    sign_in_as(coordinator)
    response = client.get(reverse("reporting:data_quality"))
    assert cells(response, "no_mobile") == ["2", "2", "CSV of the patients with no mobile number"]
    refused = client.get(reverse("reporting:data_quality"), {"practice": practice_b.pk})
    assert b"Select one of your practices" in refused.content


@pytest.mark.parametrize("check", sorted(NAMES))
def test_the_patients_behind_each_check(client, sign_in_as, lead_of_both, data, check):
    sign_in_as(lead_of_both)
    response = client.get(reverse("reporting:data_quality_patients", args=[check]))
    assert response.status_code == 200
    listed = [patient.family_name for patient in response.context["page"].object_list]
    assert listed == NAMES[check]
    event = AuditEvent.objects.get(action="report.data_quality.patients")
    assert sorted(link.patient.family_name for link in event.patient_links.all()) == NAMES[check]
    assert event.detail == {"check": check, "page": 1}


def test_the_list_shows_the_detail(client, sign_in_as, lead_of_both, data):
    sign_in_as(lead_of_both)
    assert (
        b"Gone Coordinator"
        in client.get(reverse("reporting:data_quality_patients", args=["no_coordinator"])).content
    )
    assert (
        b"Review due 2 Dec 2026"
        in client.get(reverse("reporting:data_quality_patients", args=["pcsp_overdue"])).content
    )
    assert (
        b"Last PAM 2 Jun 2026"
        in client.get(reverse("reporting:data_quality_patients", args=["pam_stale"])).content
    )


def test_an_outsider_lists_only_their_own_practice(client, sign_in_as, outsider, data):
    sign_in_as(outsider)
    response = client.get(reverse("reporting:data_quality_patients", args=["no_mobile"]))
    assert [p.family_name for p in response.context["page"].object_list] == ["Bnomobile"]
    csv_response = client.post(reverse("reporting:data_quality_csv", args=["no_mobile"]), {"format": "csv"})
    assert [row[1] for row in read_csv(csv_response)[1:]] == ["Bnomobile"]


def test_an_unknown_check_is_404(client, sign_in_as, lead_of_both):
    sign_in_as(lead_of_both)
    assert client.get(reverse("reporting:data_quality_patients", args=["no_shoes"])).status_code == 404
    assert client.post(reverse("reporting:data_quality_csv", args=["no_shoes"]), CSV).status_code == 404


def test_the_list_query_count_does_not_grow(
    client, sign_in_as, coordinator, practice_a, django_assert_num_queries
):
    sign_in_as(coordinator)
    url = reverse("reporting:data_quality_patients", args=["no_mobile"])
    good(practice_a, "First", mobile="")
    client.get(url)
    with django_assert_num_queries(13) as first:
        client.get(url)
    for n in range(30):
        good(practice_a, f"More{n}", mobile="")
    with django_assert_num_queries(len(first.captured_queries)):
        assert client.get(url).status_code == 200


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_lists_each_patient_with_the_fix_and_is_audited(
    client, sign_in_as, lead_of_both, data, practice_a
):
    sign_in_as(lead_of_both)
    response = client.post(reverse("reporting:data_quality_csv", args=["pcsp_overdue"]), CSV)
    assert response.status_code == 200
    assert (
        response["Content-Disposition"] == 'attachment; filename="data-quality-pcsp_overdue-2026-12-03.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == [
        "NHS number", "Family name", "Given name", "Date of birth", "Practice ODS code", "Practice",
        "What is missing", "Details", "The fix", "Where to fix it",
    ]  # fmt: skip
    fix = CHECKS["pcsp_overdue"].fix
    b_plan, overdue = Patient.objects.get(family_name="Bplan"), Patient.objects.get(family_name="Overdueplan")
    assert rows[1:] == [
        [b_plan.nhs_number, "Bplan", "Pat", f"{b_plan.date_of_birth:%d/%m/%Y}", "P99002",
         "Castle Street Medical Centre", "Care plan review", "Review due 01/01/2026", fix, "this service"],
        [overdue.nhs_number, "Overdueplan", "Pat", f"{overdue.date_of_birth:%d/%m/%Y}", "P99001",
         "Riverside Surgery", "Care plan review", "Review due 02/12/2026", fix, "this service"],
    ]  # fmt: skip
    event = AuditEvent.objects.get(action="report.data_quality.export")
    assert {link.patient_id for link in event.patient_links.all()} == {b_plan.pk, overdue.pk}
    assert event.detail["rows"] == 2


def test_the_csv_is_escaped_and_takes_the_practice_chosen(
    client, sign_in_as, lead_of_both, practice_a, practice_b
):
    good(practice_a, '=HYPERLINK("http://x")', mobile="")
    good(practice_b, "Other", mobile="")
    sign_in_as(lead_of_both)
    response = client.post(
        reverse("reporting:data_quality_csv", args=["no_mobile"]), {"practice": practice_a.pk, **CSV}
    )
    assert [row[1] for row in read_csv(response)[1:]] == ['\'=HYPERLINK("http://x")']
