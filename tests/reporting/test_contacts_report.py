"""The contacts report's figures on a small hand-built data set."""

import pytest

from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import at, contact, figures

pytestmark = pytest.mark.django_db

REPORT = REPORTS["contacts"]


@pytest.fixture
def contacts(practice_a, practice_b):
    ann, ben = UserFactory(full_name="Ann Able"), UserFactory(full_name="Ben Baker")
    p1, p2 = PatientFactory(practice=practice_a), PatientFactory(practice=practice_a)
    p3 = PatientFactory(practice=practice_b)
    contact(p1, ann, "2026-11-02", "phone", ["care_coordination", "proactive_care"])
    last = contact(p1, ann, "2026-11-30", "home_visit", ["proactive_care"])
    last.contact_at = at("2026-11-30", 23, 30)  # 23:30 in London (GMT): still November
    last.save()
    contact(p2, ann, "2026-11-15", "phone")
    contact(p3, ben, "2026-11-20", "video", ["social_prescribing", "proactive_care"])
    october = contact(p1, ann, "2026-10-31")
    october.contact_at = at("2026-10-31", 23, 30)  # GMT since 25 October: 31 October in London
    october.save()
    december = contact(p2, ann, "2026-12-01")
    december.contact_at = at("2026-12-01", 0, 30)
    december.save()
    return ann, ben


def test_contacts_for_november_with_october_beside_them(contacts, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    assert figures(result) == {
        "contacts": (4, 1, {a: 3, b: 1}),
        "patients": (3, 1, {a: 2, b: 1}),
        "with_interventions": (3, 0, {a: 2, b: 1}),
    }


def test_contacts_by_method_coordinator_and_intervention(contacts, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    assert REPORT.measure("contacts").breakdown("method", nov, ids) == [
        ("Phone", 2), ("Home visit", 1), ("Video", 1),
    ]  # fmt: skip
    assert REPORT.measure("contacts").breakdown("coordinator", nov, ids) == [
        ("Ann Able", 3),
        ("Ben Baker", 1),
    ]
    assert REPORT.measure("contacts").breakdown("with_whom", nov, ids) == [("Patient", 4)]
    assert REPORT.measure("patients").breakdown("coordinator", nov, ids) == [
        ("Ann Able", 2),
        ("Ben Baker", 1),
    ]
    # A contact counts under each intervention it records; terms are the SNOMED CT terms.
    assert REPORT.measure("with_interventions").breakdown("intervention", nov, ids) == [
        ("Provision of proactive care", 3),
        ("Care coordination", 1),
        ("Referral to social prescribing service", 1),
    ]
    assert REPORT.measure("with_interventions").breakdown("intervention", nov, [practice_b.pk]) == [
        ("Provision of proactive care", 1), ("Referral to social prescribing service", 1),
    ]  # fmt: skip


def test_the_intervention_breakdown_is_one_query(contacts, practice_a, django_assert_num_queries):
    with django_assert_num_queries(1):
        REPORT.measure("with_interventions").breakdown("intervention", month(2026, 11), [practice_a.pk])


def test_the_patients_behind_contacts(contacts, practice_a, practice_b):
    behind = REPORT.measure("with_interventions").patients(month(2026, 11), [practice_a.pk, practice_b.pk])
    assert behind.count() == 2  # p1 (twice) and p3; p2's contact recorded no intervention
