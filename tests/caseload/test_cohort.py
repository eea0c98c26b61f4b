"""Find patients: filters, search, sorting, scoping, CSV and a fixed number of queries."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from caseload.models import EfiCategory, ImportBatch, LongTermCondition
from pcn.models import AuditEvent
from pcn.nhs_number import format_nhs_number
from tests.factories import CareHomeFactory, CaseloadEpisodeFactory, PatientFactory


def years_ago(years: int, days: int = 0) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timezone.timedelta(days=days)


@pytest.fixture
def cohort(practice_a, practice_b, coordinator):
    """Four people at practice A with distinct figures, one at practice B."""
    old_batch = ImportBatch.objects.create(source="ICB", status=ImportBatch.Status.DONE)
    new_batch = ImportBatch.objects.create(source="ICB", status=ImportBatch.Status.DONE)
    home = CareHomeFactory(practice=practice_a, name="Willow House")
    people = {
        "Ada": PatientFactory(
            practice=practice_a, given_name="Ada", family_name="Elder", date_of_birth=years_ago(90, 10),
            risk_score=Decimal("85.0"), previous_risk_score=Decimal("70.0"), efi_score=Decimal("0.40"),
            efi_category=EfiCategory.SEVERE, ae_attendances_12m=6, care_home=home, first_batch=old_batch,
            ltc_flags=LongTermCondition.DIABETES | LongTermCondition.COPD,
        ),
        "Ben": PatientFactory(
            practice=practice_a, given_name="Ben", family_name="Young", date_of_birth=years_ago(30),
            risk_score=Decimal("10.0"), previous_risk_score=Decimal("12.0"), ae_attendances_12m=0,
            first_batch=new_batch,
        ),
        "Cai": PatientFactory(
            practice=practice_a, given_name="Cai", family_name="Middle", date_of_birth=years_ago(70),
            risk_score=Decimal("55.0"), efi_score=Decimal("0.20"), efi_category=EfiCategory.MILD,
            ae_attendances_12m=2, ltc_flags=LongTermCondition.DIABETES, first_batch=old_batch,
        ),
        "Dot": PatientFactory(
            practice=practice_a, given_name="Dot", family_name="Gone", date_of_birth=years_ago(80),
            is_deceased=True, first_batch=old_batch,
        ),
        "Eve": PatientFactory(
            practice=practice_b, given_name="Eve", family_name="Elsewhere", date_of_birth=years_ago(90),
            risk_score=Decimal("99.0"), ae_attendances_12m=9,
        ),
    }  # fmt: skip
    CaseloadEpisodeFactory(patient=people["Cai"], coordinator=coordinator.user)
    return people


def names(response) -> list[str]:
    return [p.given_name for p in response.context["patients"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Ada", "Cai", "Ben"]),  # by family name; the deceased and practice B hidden
        ({"include_inactive": "on"}, ["Ada", "Dot", "Cai", "Ben"]),
        ({"age_band": ["85+"]}, ["Ada"]),
        ({"age_band": ["18-64", "65-74"]}, ["Cai", "Ben"]),
        ({"risk_band": ["very_high"]}, ["Ada"]),
        ({"risk_band": ["low", "moderate"]}, ["Cai", "Ben"]),
        ({"risk_min": "50", "risk_max": "60"}, ["Cai"]),
        ({"efi": ["severe", "mild"]}, ["Ada", "Cai"]),
        ({"conditions": ["diabetes"]}, ["Ada", "Cai"]),
        ({"conditions": ["diabetes", "copd"]}, ["Ada"]),
        ({"frequent_attender": "yes"}, ["Ada"]),
        ({"frequent_attender": "no"}, ["Cai", "Ben"]),
        ({"care_home": "yes"}, ["Ada"]),
        ({"on_caseload": "yes"}, ["Cai"]),
        ({"on_caseload": "no"}, ["Ada", "Ben"]),
        ({"new_since_import": "on"}, ["Ben"]),
        ({"risk_rising": "on"}, ["Ada"]),
        ({"q": "eld"}, ["Ada"]),
        ({"sort": "risk"}, ["Ada", "Cai", "Ben"]),
        ({"sort": "-age"}, ["Ada", "Cai", "Ben"]),
        ({"sort": "age"}, ["Ben", "Cai", "Ada"]),
        ({"sort": "-name"}, ["Ben", "Cai", "Ada"]),
    ],
)
def test_each_filter_changes_the_result(sign_in_as, coordinator, cohort, query, expected):
    response = sign_in_as(coordinator).get(reverse("caseload:patient_list"), query)
    assert response.status_code == 200
    assert names(response) == expected


def test_coordinator_filter(sign_in_as, coordinator, cohort):
    response = sign_in_as(coordinator).get(
        reverse("caseload:patient_list"), {"coordinator": coordinator.user.pk}
    )
    assert names(response) == ["Cai"]


def test_search_by_nhs_number_typed_with_spaces(sign_in_as, coordinator, cohort):
    number = cohort["Ben"].nhs_number
    typed = f"{number[:3]} {number[3:6]} {number[6:]}"
    assert names(sign_in_as(coordinator).get(reverse("caseload:patient_list"), {"q": typed})) == ["Ben"]


def test_other_practices_patients_never_appear(sign_in_as, coordinator, cohort):
    client = sign_in_as(coordinator)
    eve = cohort["Eve"]
    assert names(client.get(reverse("caseload:patient_list"), {"q": eve.nhs_number})) == []
    assert names(client.get(reverse("caseload:patient_list"), {"q": "Elsewhere"})) == []
    export = client.get(reverse("caseload:patient_export"), {"include_inactive": "on"})
    content = b"".join(export.streaming_content).decode()
    assert format_nhs_number(eve.nhs_number) not in content
    assert format_nhs_number(cohort["Ada"].nhs_number) in content


def test_a_bad_filter_value_is_reported_not_ignored(sign_in_as, coordinator, cohort):
    response = sign_in_as(coordinator).get(reverse("caseload:patient_list"), {"risk_min": "lots"})
    assert response.context["filter"].form.errors == {"risk_min": ["Enter a number."]}


def test_list_names_every_shown_patient_in_the_audit(sign_in_as, coordinator, cohort):
    sign_in_as(coordinator).get(reverse("caseload:patient_list"))
    event = AuditEvent.objects.latest("id")
    assert event.action == "patient.list"
    assert {p.given_name for p in event.patients.all()} == {"Ada", "Ben", "Cai"}


def test_csv_download_is_escaped_and_audited(sign_in_as, coordinator, cohort):
    cohort["Ben"].family_name = "=HYPERLINK(evil)"
    cohort["Ben"].save()

    response = sign_in_as(coordinator).get(reverse("caseload:patient_export"), {"sort": "risk"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["NHS number", "Family name", "Given name"]
    assert [row[2] for row in rows[1:]] == ["Ada", "Cai", "Ben"]
    assert rows[3][1] == "'=HYPERLINK(evil)"
    assert rows[1][11] == "Diabetes; COPD"
    assert rows[1][12] == "Willow House"
    assert rows[2][13] == "Cara Coordinator"
    event = AuditEvent.objects.latest("id")
    assert event.action == "patient.export"
    assert {p.given_name for p in event.patients.all()} == {"Ada", "Ben", "Cai"}


def test_the_list_runs_the_same_queries_whatever_the_page_size(
    sign_in_as, coordinator, practice_a, django_assert_num_queries
):
    # Session, user, OTP device, memberships (scope), capped count, rows, audit event, audit links,
    # header memberships, practice and coordinator choices, and the session save (savepoint,
    # update, release): 14 whatever the number of rows.
    client = sign_in_as(coordinator)
    PatientFactory.create_batch(3, practice=practice_a)
    with django_assert_num_queries(14):
        assert client.get(reverse("caseload:patient_list")).status_code == 200
    PatientFactory.create_batch(60, practice=practice_a)
    with django_assert_num_queries(14):
        response = client.get(reverse("caseload:patient_list"), {"sort": "risk"})
    assert len(response.context["patients"]) == 50
