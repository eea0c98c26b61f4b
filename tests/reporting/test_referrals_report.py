"""The referrals report's figures on a small hand-built data set."""

from datetime import date

import pytest

from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import at, contact, figures, referral, referral_type

pytestmark = pytest.mark.django_db

REPORT = REPORTS["referrals"]


@pytest.fixture
def referrals(practice_a, practice_b):
    by = UserFactory()
    care_home, frailty = referral_type("Care home MDT referral"), referral_type("Frailty")
    pa1, pa2, pa3 = (PatientFactory(practice=practice_a) for _ in range(3))
    pb1, pb2 = PatientFactory(practice=practice_b), PatientFactory(practice=practice_b)
    referral(pa1, by, care_home, date(2026, 11, 2), status="accepted", decided=at("2026-11-04"))
    contact(pa1, by, "2026-10-30")  # before the referral: not its first contact
    contact(pa1, by, "2026-11-05")  # 3 days
    referral(pa2, by, frailty, date(2026, 11, 10), source="hospital")
    contact(pa2, by, "2026-11-10")  # the same day: 0 days
    referral(pb1, by, frailty, date(2026, 11, 20), status="declined", decided=at("2026-11-21"))  # no contact
    referral(pb2, by, frailty, date(2026, 11, 25), source="self")
    contact(pb2, by, "2026-12-03")  # 8 days, after the period: counts for November's referral
    referral(pa3, by, care_home, date(2026, 10, 15), status="mdt", decided=at("2026-11-01", 0, 30))
    contact(pa3, by, "2026-10-20")  # 5 days


def test_referral_figures_for_november_with_october_beside_them(referrals, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    assert figures(result) == {
        "received": (4, 1, {a: 2, b: 2}),
        "decided": (3, 0, {a: 2, b: 1}),
        # A: 3 and 0 days; B: 8 (pb1 not contacted yet is left out); all: 0, 3, 8.
        "median_days_to_contact": (3, 5, {a: 1.5, b: 8}),
    }


def test_referrals_by_source_type_and_outcome(referrals, practice_a, practice_b):
    ids, nov, received = [practice_a.pk, practice_b.pk], month(2026, 11), REPORT.measure("received")
    assert received.breakdown("source", nov, ids) == [("GP", 2), ("Hospital", 1), ("Self-referral", 1)]
    assert received.breakdown("type", nov, ids) == [("Frailty", 3), ("Care home MDT referral", 1)]
    assert received.breakdown("outcome", nov, ids) == [
        ("New", 2), ("Accepted onto the caseload", 1), ("Declined", 1),
    ]  # fmt: skip
    assert REPORT.measure("decided").breakdown("outcome", nov, ids) == [
        ("Accepted onto the caseload", 1), ("Declined", 1), ("Directed to an MDT", 1),
    ]  # fmt: skip


def test_the_patients_behind_the_median_are_those_contacted(referrals, practice_a, practice_b):
    behind = REPORT.measure("median_days_to_contact").patients(
        month(2026, 11), [practice_a.pk, practice_b.pk]
    )
    assert behind.count() == 3
