"""The caseload report's figures on a small hand-built data set, and the report machinery under it."""

from datetime import date

import pytest
import time_machine

from caseload.models import CaseloadEpisode
from pcn.audit import audit
from reporting.periods import Period, PeriodKind, last_twelve_months, month, qof_year, qof_year_of
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import CaseloadEpisodeFactory, PatientFactory, UserFactory
from tests.reporting.report_data import at, figures

pytestmark = pytest.mark.django_db


def test_periods_and_the_period_before():
    assert month(2026, 3).previous() == month(2026, 2)
    assert month(2026, 1).previous() == month(2025, 12)
    assert (month(2026, 2).start, month(2026, 2).end, month(2026, 2).label) == (
        date(2026, 2, 1), date(2026, 2, 28), "February 2026",
    )  # fmt: skip
    assert qof_year(2026).previous() == qof_year(2025)
    assert qof_year_of(date(2027, 3, 31)) == qof_year(2026)
    assert qof_year(2026).label == "QOF year 2026/27"
    custom = Period(PeriodKind.CUSTOM, date(2026, 5, 10), date(2026, 5, 19))
    assert custom.previous() == Period(PeriodKind.CUSTOM, date(2026, 4, 30), date(2026, 5, 9))
    assert [p.start for p in last_twelve_months(date(2026, 12, 3))][:2] == [
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
    assert last_twelve_months(date(2026, 12, 3))[-1] == month(2026, 11)
    assert [(p.start, p.end) for p in custom.months()] == [(date(2026, 5, 10), date(2026, 5, 19))]
    with pytest.raises(ValueError):
        Period(PeriodKind.CUSTOM, date(2026, 5, 2), date(2026, 5, 1))


@pytest.fixture
def caseloads(practice_a, practice_b):
    """Practice A: Ann's caseload; practice B: Ben's. October and November 2026."""
    ann, ben = UserFactory(full_name="Ann Able"), UserFactory(full_name="Ben Baker")

    def episode(practice, coordinator, opened, closed=None, reason="", **extra):
        return CaseloadEpisodeFactory(
            patient=PatientFactory(practice=practice), coordinator=coordinator, opened_at=at(opened),
            status="closed" if closed else "open", closed_at=at(closed) if closed else None,
            close_reason=reason, **extra,
        )  # fmt: skip

    episode(practice_a, ann, "2026-09-15")  # open throughout
    episode(practice_a, ann, "2026-10-02", "2026-11-03", "goals_met")  # new in Oct, closed in Nov
    episode(practice_a, ann, "2026-11-01", reason="")  # new in November (1st, 10:00)
    episode(practice_a, ann, "2026-11-30", "2026-11-30", "died")  # opened and closed on the last day
    episode(practice_b, ben, "2026-11-12")
    moved = episode(practice_b, ben, "2026-10-20")
    moved.coordinator = ann
    moved.save()
    with time_machine.travel(at("2026-11-20"), tick=False):  # audit rows cannot be back-dated afterwards
        audit(None, "caseload.transfer", [moved.patient_id], user=ann, episode_id=moved.pk)
    return ann, ben


def test_caseload_figures_for_november_with_october_beside_them(caseloads, practice_a, practice_b):
    result = report_run(
        report=REPORTS["caseload"], period=month(2026, 11), practice_ids=[practice_a.pk, practice_b.pk]
    )
    got = figures(result)
    a, b = practice_a.pk, practice_b.pk
    # End of November: A has the September and 1 November episodes open (the 30th's closed that day); B two.
    assert got["size"] == (4, 3, {a: 2, b: 2})  # end of October: the September, 2 and 20 October ones
    assert got["new"] == (3, 2, {a: 2, b: 1})
    assert got["closed"] == (2, 0, {a: 2})
    assert got["transfers"][0] == 1 and got["transfers"][2] == {b: 1}


def test_a_practice_outside_the_scope_is_not_counted(caseloads, practice_a):
    result = report_run(report=REPORTS["caseload"], period=month(2026, 11), practice_ids=[practice_a.pk])
    assert figures(result)["size"] == (2, 2, {practice_a.pk: 2})  # October's end: September's and 2 October's
    assert figures(result)["transfers"][0] == 0


def test_breakdowns_and_the_patients_behind_a_figure(caseloads, practice_a, practice_b):
    closed = REPORTS["caseload"].measure("closed")
    ids = [practice_a.pk, practice_b.pk]
    assert closed.breakdown("close_reason", month(2026, 11), ids) == [("Died", 1), ("Goals met", 1)]
    assert closed.breakdown("coordinator", month(2026, 11), ids) == [("Ann Able", 2)]
    behind = closed.patients(month(2026, 11), ids)
    assert behind.count() == 2
    assert set(CaseloadEpisode.objects.filter(patient__in=behind).values_list("close_reason", flat=True)) == {
        "goals_met", "died",
    }  # fmt: skip


def test_the_trend_of_an_event_figure_is_one_query(
    caseloads, practice_a, practice_b, django_assert_num_queries
):
    months = [month(2026, 9), month(2026, 10), month(2026, 11)]
    with django_assert_num_queries(1):
        assert REPORTS["caseload"].measure("new").trend(months, [practice_a.pk, practice_b.pk]) == [1, 2, 3]
    # An as-at figure: one query too (a conditional count for each month's end).
    with django_assert_num_queries(1):
        assert REPORTS["caseload"].measure("size").trend(months, [practice_a.pk, practice_b.pk]) == [1, 3, 4]
