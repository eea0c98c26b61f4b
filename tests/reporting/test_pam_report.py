"""The PAM report's figures on a small hand-built data set: improved means a gain of 3 points or more
within 12 months (exactly 3 counts, 2.9 does not)."""

from datetime import date

import pytest

from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import figures, pam

pytestmark = pytest.mark.django_db

REPORT = REPORTS["pam"]


@pytest.fixture
def measures(practice_a, practice_b):
    by = UserFactory()
    p1, p2, p5, p6 = (PatientFactory(practice=practice_a) for _ in range(4))
    p3, p4 = PatientFactory(practice=practice_b), PatientFactory(practice=practice_b)
    pam(p1, by, date(2026, 1, 10), "50.0")
    pam(p1, by, date(2026, 11, 5), "53.0")  # exactly 3 points: improved
    pam(p2, by, date(2026, 1, 10), "50.0")
    pam(p2, by, date(2026, 11, 5), "52.9")  # 2.9 points: not improved
    pam(p3, by, date(2025, 11, 4), "40.0")
    pam(p3, by, date(2026, 11, 5), "60.0")  # the previous one a year and a day before: not within 12 months
    pam(p4, by, date(2025, 11, 5), "40.0")
    pam(p4, by, date(2026, 11, 5), "60.0")  # the same date a year before: within 12 months
    pam(p5, by, date(2026, 11, 20), "70.0")  # a first measure
    pam(p6, by, date(2026, 10, 10), "45.0")
    pam(p6, by, date(2026, 11, 10), "49.0")  # +4 on October's: improved
    pam(p6, by, date(2026, 11, 25), "47.0")  # -2 on the 10th's
    return {"p1": p1, "p2": p2, "p3": p3, "p4": p4, "p5": p5, "p6": p6}


def test_pam_figures_for_november_with_october_beside_them(measures, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    assert figures(result) == {
        "measured": (6, 1, {a: 4, b: 2}),
        "remeasured": (5, 0, {a: 3, b: 2}),
        "improved": (3, 0, {a: 2, b: 1}),
    }


def test_who_improved(measures, practice_a, practice_b):
    behind = REPORT.measure("improved").patients(month(2026, 11), [practice_a.pk, practice_b.pk])
    assert set(behind) == {measures["p1"], measures["p4"], measures["p6"]}


def test_by_level(measures, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    # p6 was measured at level 2 and level 1 in November: once under each.
    assert REPORT.measure("measured").breakdown("level", nov, ids) == [
        ("Level 2 (47.1 to 55.1)", 3),
        ("Level 3 (55.2 to 67.0)", 2),
        ("Level 1 (47.0 or less)", 1),
        ("Level 4 (67.1 or more)", 1),
    ]
    assert REPORT.measure("improved").breakdown("level", nov, ids) == [
        ("Level 2 (47.1 to 55.1)", 2), ("Level 3 (55.2 to 67.0)", 1),
    ]  # fmt: skip


def test_the_trend_of_improvements_is_one_query(measures, practice_a, practice_b, django_assert_num_queries):
    with django_assert_num_queries(1):
        trend = REPORT.measure("improved").trend(
            [month(2026, 10), month(2026, 11)], [practice_a.pk, practice_b.pk]
        )
    assert trend == [0, 3]
