"""The feedback report's figures on a small hand-built data set: stories recorded, good news, with
consent to share, and the mean rating (our own 1-5 question; unrated stories left out of the mean)."""

from datetime import date

import pytest

from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from reporting.services.bi_feed import bi_feed_rows
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import feedback

pytestmark = pytest.mark.django_db

REPORT = REPORTS["feedback"]


@pytest.fixture
def stories(practice_a, practice_b):
    by = UserFactory()
    pa1, pa2, pb = (
        PatientFactory(practice=practice_a),
        PatientFactory(practice=practice_a),
        PatientFactory(practice=practice_b),
    )
    feedback(pa1, by, date(2026, 11, 1), 5, good_news=True, shareable=True)
    feedback(pa1, by, date(2026, 11, 30), 4)  # the month's last day
    feedback(
        pa2, by, date(2026, 11, 12), None, shareable=True, given_by="other"
    )  # not rated: not in the mean
    feedback(pa2, by, date(2026, 11, 15), 2, given_by="other")
    feedback(pb, by, date(2026, 11, 3), 3, good_news=True, shareable=True)
    feedback(pb, by, date(2026, 10, 31), 1, good_news=True)  # October's
    feedback(pb, by, date(2026, 12, 1), 5)  # December's
    return {"pa1": pa1, "pa2": pa2, "pb": pb}


def test_feedback_figures_for_november_with_october_beside_them(stories, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    got = {row.measure.key: (row.total, row.previous_total, row.current) for row in result.figures}
    assert got == {
        "stories": (5, 1, {a: 4, b: 1}),
        "good_news": (2, 1, {a: 1, b: 1}),
        "consent_to_share": (3, 0, {a: 2, b: 1}),
        # (5 + 4 + 2) / 3 = 3.7 at A, 3 at B; (5 + 4 + 2 + 3) / 4 = 3.5 for both; October 1.
        "mean_rating": (3.5, 1.0, {a: 3.7, b: 3.0}),
    }


def test_one_practice_and_an_empty_month(stories, practice_a):
    result = report_run(report=REPORT, period=month(2026, 9), practice_ids=[practice_a.pk])
    assert [(row.measure.key, row.total, row.current) for row in result.figures] == [
        ("stories", 0, {}), ("good_news", 0, {}), ("consent_to_share", 0, {}), ("mean_rating", None, {}),
    ]  # fmt: skip


def test_by_who_gave_it_and_rating_and_the_people_behind(stories, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    assert REPORT.measure("stories").breakdown("given_by", nov, ids) == [
        ("The person", 3), ("Someone else", 2),
    ]  # fmt: skip
    assert REPORT.measure("stories").breakdown("rating", nov, ids) == [
        ("A little", 1), ("Somewhat", 1), ("A lot", 1), ("A great deal", 1), ("Not recorded", 1),
    ]  # fmt: skip
    assert set(REPORT.measure("mean_rating").patients(nov, ids)) == {
        stories["pa1"],
        stories["pa2"],
        stories["pb"],
    }
    assert set(REPORT.measure("good_news").patients(nov, [practice_b.pk])) == {stories["pb"]}


def test_the_report_says_the_rating_is_our_own_question():
    assert "not a validated or licensed instrument" in " ".join(REPORT.notes)
    assert REPORT.version == "feedback-1"


def test_the_bi_feed_treats_the_mean_as_a_rate(stories, practice_a, practice_b, settings):
    settings.BI_SUPPRESS_BELOW = 2
    rows = bi_feed_rows(report=REPORT, period=month(2026, 11), practice_ids=[practice_a.pk, practice_b.pk])
    means = {row[5]: row[9:] for row in rows if row[7] == "mean_rating"}
    # Two people rated at A, one at B (suppressed), three in all; October: one, at B.
    assert means == {
        practice_a.ods_code: ["out of 5", "3.7", ""],
        practice_b.ods_code: ["out of 5", "*", "*"],
        "ALL": ["out of 5", "3.5", "*"],
    }
