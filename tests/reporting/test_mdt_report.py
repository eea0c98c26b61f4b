"""The MDT report's figures on a small hand-built data set: a meeting shared by two practices counts
once, and an action closed on its due date is never overdue."""

from datetime import date

import pytest

from reporting.periods import Period, PeriodKind, month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import action, at, figures, item, meeting, series

pytestmark = pytest.mark.django_db

REPORT = REPORTS["mdt"]


@pytest.fixture
def mdts(practice_a, practice_b):
    chair = UserFactory(full_name="Liam Lead")
    pa1, pa2, pa3, pa4 = (PatientFactory(practice=practice_a) for _ in range(4))
    pb1 = PatientFactory(practice=practice_b)
    care_home, frailty = (
        series("Care home MDT", chair, practice_a, practice_b),
        series("Frailty MDT", chair, practice_a),
    )
    m1, m2 = meeting(care_home, at("2026-11-03", 13)), meeting(frailty, at("2026-11-17", 13))
    item(meeting(care_home, at("2026-11-10", 13), status="cancelled"), pa4)  # not held: not counted
    m4 = meeting(care_home, at("2026-10-06", 13))
    i1, i2, i3, i4 = item(m1, pa1), item(m1, pb1), item(m2, pa1), item(m2, pa2)
    i5, i6 = item(m4, pa2), item(m4, pa3)
    # Closed on its due date, 14 November: on time.
    action(i1, chair, raised=at("2026-11-03"), due=date(2026, 11, 14), closed=at("2026-11-14", 15))
    action(i2, chair, raised=at("2026-11-03"), due=date(2026, 11, 10))  # open and overdue
    action(i4, chair, raised=at("2026-11-17"), due=date(2026, 11, 30))  # due on November's last day
    action(
        i3,
        chair,
        raised=at("2026-11-17"),
        due=date(2026, 11, 30),
        closed=at("2026-11-18"),
        status="cancelled",
    )
    action(i5, chair, raised=at("2026-10-06"), due=date(2026, 10, 20), closed=at("2026-11-02"))  # 27 days
    action(
        i6, chair, raised=at("2026-10-06"), due=date(2026, 10, 31), closed=at("2026-10-31")
    )  # on its due date
    return {"pa1": pa1, "pa2": pa2, "pa3": pa3, "pb1": pb1}


def test_mdt_figures_for_november_with_october_beside_them(mdts, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    assert figures(result) == {
        "meetings_held": (2, 1, {a: 2, b: 1}),  # the shared care home MDT once in all
        "patients_discussed": (3, 2, {a: 2, b: 1}),
        "actions_raised": (4, 2, {a: 3, b: 1}),
        "actions_open": (2, 1, {a: 1, b: 1}),
        "actions_overdue": (1, 1, {b: 1}),
        "actions_closed": (3, 1, {a: 3}),
        "median_days_to_close": (11, 25, {a: 11}),  # 11, 27 and 1 days; October: 25
    }


def test_an_action_closed_on_its_due_date_is_not_overdue(mdts, practice_a, practice_b):
    ids = [practice_a.pk, practice_b.pk]
    # End of October: i5's action (due the 20th) is overdue; i6's, closed on the 31st, its due date, is not.
    assert set(REPORT.measure("actions_overdue").patients(month(2026, 10), ids)) == {mdts["pa2"]}
    # A period ending on 14 November: the action due and closed that day is neither open nor overdue.
    to_the_14th = Period(PeriodKind.CUSTOM, date(2026, 11, 1), date(2026, 11, 14))
    assert set(REPORT.measure("actions_overdue").patients(to_the_14th, ids)) == {mdts["pb1"]}
    assert set(REPORT.measure("actions_open").patients(to_the_14th, ids)) == {mdts["pb1"]}


def test_breakdowns_by_series_and_how_closed(mdts, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    assert REPORT.measure("meetings_held").breakdown("series", nov, ids) == [
        ("Care home MDT", 1),
        ("Frailty MDT", 1),
    ]
    assert REPORT.measure("meetings_held").breakdown("series", nov, [practice_b.pk]) == [("Care home MDT", 1)]
    assert REPORT.measure("patients_discussed").breakdown("series", nov, ids) == [
        ("Care home MDT", 2), ("Frailty MDT", 2),
    ]  # fmt: skip
    assert REPORT.measure("actions_closed").breakdown("status", nov, ids) == [("Done", 2), ("Cancelled", 1)]


def test_a_date_reached_through_a_relation_trends_in_one_query(
    mdts, practice_a, practice_b, django_assert_num_queries
):
    with django_assert_num_queries(1):
        trend = REPORT.measure("patients_discussed").trend(
            [month(2026, 9), month(2026, 10), month(2026, 11)], [practice_a.pk, practice_b.pk]
        )
    assert trend == [0, 2, 3]
    with django_assert_num_queries(1):
        assert REPORT.measure("meetings_held").trend(
            [month(2026, 10), month(2026, 11)], [practice_a.pk, practice_b.pk]
        ) == [1, 2]
