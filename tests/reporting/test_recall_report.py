"""The call and recall report's figures on a small hand-built data set: the recall years of the QOF
year(s) a period falls in, per register."""

from datetime import date

import pytest

from recall.models import RecallEntry
from reporting.periods import Period, PeriodKind, month, qof_year
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from reporting.reports.recall import qof_years
from tests.factories import PatientFactory
from tests.reporting.report_data import entry, register

pytestmark = pytest.mark.django_db

REPORT = REPORTS["recall"]
S = RecallEntry.State


@pytest.fixture
def recall(practice_a, practice_b):
    diabetes, cervical = (
        register("test-diabetes", "Diabetes (test)"),
        register("test-cervical", "Cervical (test)", 3),
    )
    pa = [PatientFactory(practice=practice_a) for _ in range(5)]
    pb = [PatientFactory(practice=practice_b) for _ in range(2)]
    entry(pa[0], diabetes, 2026)  # due
    entry(pa[1], diabetes, 2026, S.INVITED, 1)
    entry(pa[2], diabetes, 2026, S.EXCEPTED, 2)
    entry(pa[3], diabetes, 2026, S.SEEN, 1, seen_on=date(2026, 7, 1))
    entry(pa[4], diabetes, 2026, S.PCA, 0, pca_reason="informed_dissent", pca_on=date(2026, 5, 1))
    entry(pb[0], diabetes, 2026, S.CLOSED, 1, closed_reason="left")  # left the register
    entry(pb[1], cervical, 2026, S.INVITED, 3)
    entry(pa[0], cervical, 2026, S.PCA, 0, pca_reason="unsuitable", pca_on=date(2026, 5, 1))
    entry(pa[0], diabetes, 2025, S.SEEN, 1, seen_on=date(2026, 2, 1))  # the QOF year before
    return diabetes, cervical


def test_the_qof_years_a_period_falls_in():
    assert qof_years(month(2026, 11)) == [2026]
    assert qof_years(month(2027, 3)) == [2026]
    assert qof_years(qof_year(2026)) == [2026]
    assert qof_years(Period(PeriodKind.CUSTOM, date(2026, 3, 15), date(2026, 4, 15))) == [2025, 2026]


def test_recall_figures_for_november_with_october_beside_them(recall, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    got = {row.measure.key: (row.total, row.current) for row in result.figures}
    assert got == {
        "on_register": (7, {a: 6, b: 1}),  # the closed entry left the register
        "due": (1, {a: 1}),
        "invited_once": (3, {a: 2, b: 1}),  # pa1 invited, pa3 seen after one invitation, pb0 closed
        "invited_twice": (1, {a: 1}),
        "invited_three_plus": (1, {b: 1}),
        "seen": (1, {a: 1}),
        "pca": (2, {a: 2}),
        "excepted": (1, {a: 1}),
    }
    # October is in the same QOF year: the same entries as they stand today.
    assert all(row.previous_total == row.total for row in result.figures)


def test_per_register_and_pca_by_reason(recall, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    assert REPORT.measure("on_register").breakdown("register", nov, ids) == [
        ("Diabetes (test)", 5), ("Cervical (test)", 2),
    ]  # fmt: skip
    assert REPORT.measure("pca").breakdown("register", nov, ids) == [
        ("Cervical (test)", 1),
        ("Diabetes (test)", 1),
    ]
    assert REPORT.measure("pca").breakdown("pca_reason", nov, ids) == [
        ("Informed dissent", 1),
        ("Unsuitable", 1),
    ]


def test_a_period_across_1_april_counts_both_qof_years(recall, practice_a, practice_b):
    across = Period(PeriodKind.CUSTOM, date(2026, 3, 15), date(2026, 4, 15))
    assert REPORT.measure("seen").counts(across, [practice_a.pk, practice_b.pk]) == {practice_a.pk: 2}
    assert REPORT.measure("seen").counts(month(2026, 3), [practice_a.pk, practice_b.pk]) == {practice_a.pk: 1}


def test_every_figure_this_period_and_before_in_one_query(
    recall, practice_a, practice_b, django_assert_num_queries
):
    ids = [practice_a.pk, practice_b.pk]
    with django_assert_num_queries(1):
        result = report_run(report=REPORT, period=month(2026, 4), practice_ids=ids)
    got = {row.measure.key: (row.total, row.previous_total, row.previous) for row in result.figures}
    # March 2026 is in the QOF year before: only pa0's diabetes review of 2025/26.
    assert got["seen"] == (1, 1, {practice_a.pk: 1})
    assert got["on_register"] == (7, 1, {practice_a.pk: 1})
    assert got["due"] == (1, 0, {})


def test_the_breakdowns_counted_with_the_figures_are_those_counted_one_by_one(recall, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    result = report_run(report=REPORT, period=nov, practice_ids=ids)
    pairs = [(m, b.key) for m in REPORT.measures for b in m.breakdowns]
    assert len(pairs) == 9
    for measure, key in pairs:
        assert result.breakdown(measure, key) == measure.breakdown(key, nov, ids), (measure.key, key)
    assert result.breakdown(REPORT.measure("on_register"), "register") == [
        ("Diabetes (test)", 5), ("Cervical (test)", 2),
    ]  # fmt: skip
