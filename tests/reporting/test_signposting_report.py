"""The signposting and support given report's figures on a small hand-built data set."""

from datetime import date

import pytest

from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import figures, service, signpost, support

pytestmark = pytest.mark.django_db

REPORT = REPORTS["signposting"]


@pytest.fixture
def signposting(practice_a, practice_b):
    ann, ben = UserFactory(full_name="Ann Able"), UserFactory(full_name="Ben Baker")
    money, walk = service("Money Advice (test)", "benefits"), service("Walking group (test)", "peer_support")
    pa1, pa2, pb = (
        PatientFactory(practice=practice_a),
        PatientFactory(practice=practice_a),
        PatientFactory(practice=practice_b),
    )
    signpost(pa1, ann, money, date(2026, 11, 3), "engaged", date(2026, 11, 20))
    signpost(pa1, ann, walk, date(2026, 11, 3))  # not known yet
    signpost(
        pa2, ann, walk, date(2026, 10, 12), "declined", date(2026, 11, 2)
    )  # October's, decided in November
    signpost(pb, ben, money, date(2026, 11, 30), "not_engaged", date(2026, 11, 30))
    support(pa1, ann, "phb", date(2026, 11, 4))
    support(pa1, ann, "benefits", date(2026, 11, 4))
    support(pa2, ann, "benefits", date(2026, 11, 9))
    support(pa2, ann, "benefits", date(2026, 11, 19))  # the same person twice
    support(pb, ben, "employment", date(2026, 10, 1))


def test_signposting_figures_for_november_with_october_beside_them(signposting, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    assert figures(result) == {
        "signposted": (3, 1, {a: 2, b: 1}),
        "outcomes": (3, 0, {a: 2, b: 1}),
        "support_given": (4, 1, {a: 4}),
        "support_phb": (1, 0, {a: 1}),
        "support_benefits": (2, 0, {a: 2}),
        "support_employment": (0, 1, {}),
    }


def test_by_category_outcome_and_kind(signposting, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    assert REPORT.measure("signposted").breakdown("category", nov, ids) == [
        ("Benefits advice", 2), ("Peer support", 1),
    ]  # fmt: skip
    assert REPORT.measure("signposted").breakdown("outcome", nov, ids) == [
        ("Engaged with the service", 1), ("Did not engage", 1), ("Not known yet", 1),
    ]  # fmt: skip
    assert REPORT.measure("outcomes").breakdown("outcome", nov, ids) == [
        ("Declined", 1), ("Engaged with the service", 1), ("Did not engage", 1),
    ]  # fmt: skip
    assert REPORT.measure("support_given").breakdown("kind", nov, ids) == [
        ("Help to access benefits", 3), ("Personal health budget", 1),
    ]  # fmt: skip
