"""The care plans report's figures on a small hand-built data set, with EHCH's 7 working days across the
Christmas and New Year bank holidays."""

from datetime import date

import pytest
import time_machine

from caseload.models import CareEvent
from pcn.working_days import add_working_days
from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import at, care_event, figure, figures, plan_version, review

pytestmark = pytest.mark.django_db

REPORT = REPORTS["care_plans"]
TODAY = at("2026-01-09")  # a Friday


def admit(patient, day: str) -> CareEvent:
    return care_event(patient, CareEvent.Kind.CARE_HOME_ADMISSION, at(day, 11), provider="Beech House")


@pytest.fixture
def plans(practice_a, practice_b):
    by = UserFactory(full_name="Ann Able")

    def person(practice):
        return PatientFactory(practice=practice)

    # EHCH. Admitted Wednesday 24 December 2025: 25 and 26 December and 1 January are bank holidays
    # (and two weekends), so the 7th working day is Wednesday 7 January 2026.
    on_time, late, overdue, still_due = (
        person(practice_a),
        person(practice_a),
        person(practice_b),
        person(practice_a),
    )
    for admitted in (on_time, late, overdue):
        admit(admitted, "2025-12-24")
    plan_version(on_time, by, agreed_on=date(2026, 1, 7))  # on the 7th working day: on time
    plan_version(late, by, agreed_on=date(2026, 1, 8))  # the 8th: late
    admit(still_due, "2025-12-31")  # due Monday 12 January: still due on the 9th
    november = person(practice_a)
    admit(november, "2025-11-10")
    plan_version(november, by, agreed_on=date(2025, 11, 12))

    # Plans agreed, reviewed and overdue for review.
    x = person(practice_a)
    x_plan = plan_version(x, by, agreed_on=date(2025, 12, 3), review_date=date(2026, 6, 1))
    review(x_plan, by, date(2025, 12, 20), next_review=date(2026, 6, 1))
    y = person(practice_b)  # v1 agreed in October, replaced by v2 on 10 December
    plan_version(y, by, status="superseded", agreed_on=date(2025, 10, 1), review_date=date(2025, 11, 1),
                 superseded_at=at("2025-12-10"))  # fmt: skip
    plan_version(y, by, number=2, agreed_on=date(2025, 12, 10), review_date=date(2026, 12, 10))
    plan_version(person(practice_a), by, status="draft")  # a draft is not agreed
    w = person(practice_a)  # review due 1 December: overdue at the end of December, not of November
    plan_version(w, by, agreed_on=date(2025, 6, 1), review_date=date(2025, 12, 1))
    u = person(practice_b)  # September's review set 15 December; January's moved it to July
    u_plan = plan_version(u, by, agreed_on=date(2025, 3, 1), review_date=date(2026, 7, 1))
    review(u_plan, by, date(2025, 9, 1), next_review=date(2025, 12, 15))
    review(u_plan, by, date(2026, 1, 5), next_review=date(2026, 7, 1))
    return {"on_time": on_time, "late": late, "overdue": overdue, "still_due": still_due}


def test_the_7th_working_day_after_christmas_eve_is_7_january():
    assert add_working_days(date(2025, 12, 24), 7) == date(2026, 1, 7)


@time_machine.travel(TODAY, tick=False)
def test_care_plan_figures_for_december_with_november_beside_them(plans, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2025, 12), practice_ids=[a, b])
    assert figures(result) == {
        "agreed": (2, 1, {a: 1, b: 1}),  # x and y's v2; November: the care home resident's
        "reviewed": (1, 0, {a: 1}),
        "overdue_review": (2, 1, {a: 1, b: 1}),  # w and u; at the end of November, y's v1
        # 1 on time of the 3 whose deadline has passed or whose plan is agreed; A: 1 of 2, B: 0 of 1.
        "ehch_on_time_percent": (33, 100, {a: 50, b: 0}),
        "ehch_admissions": (4, 1, {a: 3, b: 1}),
        "ehch_on_time": (1, 1, {a: 1, b: 0}),
        "ehch_late": (2, 0, {a: 1, b: 1}),
        "ehch_still_due": (1, 0, {a: 1, b: 0}),
    }
    assert figure(result, "ehch_on_time_percent").change == -67


@time_machine.travel(TODAY, tick=False)
def test_the_lists_behind_the_ehch_figures(plans, practice_a, practice_b):
    ids, december = [practice_a.pk, practice_b.pk], month(2025, 12)

    def behind(key):
        return set(REPORT.measure(key).patients(december, ids))

    assert behind("ehch_on_time") == {plans["on_time"]}
    assert behind("ehch_late") == {plans["late"], plans["overdue"]}
    assert behind("ehch_still_due") == {plans["still_due"]}
    assert behind("ehch_on_time_percent") == {plans["on_time"], plans["late"], plans["overdue"]}
    assert set(REPORT.measure("ehch_late").patients(december, [practice_b.pk])) == {plans["overdue"]}


@time_machine.travel(TODAY, tick=False)
def test_no_admissions_gives_no_percentage(plans, practice_a):
    result = report_run(report=REPORT, period=month(2025, 10), practice_ids=[practice_a.pk])
    row = figure(result, "ehch_on_time_percent")
    assert (row.total, row.current, row.change) == (None, {}, None)


def test_reviews_by_outcome(plans, practice_a, practice_b):
    assert REPORT.measure("reviewed").breakdown("outcome", month(2025, 12), [practice_a.pk, practice_b.pk]) == [
        ("No changes needed: the plan stays as agreed", 1),
    ]  # fmt: skip


def test_the_ehch_figures_look_at_the_admissions_once_a_period(
    plans, practice_a, practice_b, django_assert_num_queries
):
    # The plans agreed, the reviews and the admissions each counted in one query for both periods (3),
    # the plans overdue for review once a period (2), and the EHCH figures from one look at each period's
    # admissions (two queries a period: 4) rather than a look each (16).
    with time_machine.travel(TODAY, tick=False), django_assert_num_queries(9):
        result = report_run(
            report=REPORT, period=month(2025, 12), practice_ids=[practice_a.pk, practice_b.pk]
        )
    got = {row.measure.key: row.total for row in result.figures}
    assert (got["ehch_admissions"], got["ehch_on_time"], got["ehch_on_time_percent"]) == (4, 1, 33)
