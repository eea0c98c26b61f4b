"""Every shipped report renders on the report page, and the patients behind each of its figures on the
drill-down, on its data set, in a number of queries that does not grow with the rows."""

import pytest
from django.urls import reverse

from pcn.models import AuditEvent
from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import Measure, report_run
from tests.factories import PatientFactory, UserFactory
from tests.reporting.report_data import contact
from tests.reporting.test_care_plans_report import plans  # noqa: F401 — the reports' data sets
from tests.reporting.test_caseload_report import caseloads  # noqa: F401
from tests.reporting.test_contacts_report import contacts  # noqa: F401
from tests.reporting.test_mdt_report import mdts  # noqa: F401
from tests.reporting.test_pam_report import measures  # noqa: F401
from tests.reporting.test_recall_report import recall  # noqa: F401
from tests.reporting.test_referrals_report import referrals  # noqa: F401
from tests.reporting.test_signposting_report import signposting  # noqa: F401
from tests.reporting.test_transfers_report import transfers  # noqa: F401

pytestmark = pytest.mark.django_db

DATA = {
    "caseload": "caseloads", "contacts": "contacts", "care_plans": "plans", "pam": "measures", "mdt": "mdts",
    "referrals": "referrals", "transfers": "transfers", "recall": "recall", "signposting": "signposting",
}  # fmt: skip
MONTH = {"care_plans": "2025-12"}  # the others' data sets are in November 2026

# Queries for the page: about 12 for signing in, the form's practices, the audit row and the page's
# frame, then at most four per figure (this period and the one before, each a count and, for a figure of
# distinct people, a total for them all; an EHCH figure reads two tables) and one per breakdown. The
# bound comes from the report's definition, never from its rows.
FRAME_QUERIES = 12


def detail_queries(report) -> int:
    return FRAME_QUERIES + 4 * len(report.measures) + sum(len(m.breakdowns) for m in report.measures)


PATIENTS_QUERIES = 16


def test_every_report_has_its_data_set():
    assert set(DATA) == set(REPORTS)
    for report in REPORTS.values():
        assert report.version == f"{report.key}-1"
        assert report.title and report.question and report.source


@pytest.mark.parametrize("key", list(REPORTS))
def test_the_report_page_and_each_figures_patients_render(
    request, key, client, sign_in_as, lead_of_both, django_assert_max_num_queries
):
    request.getfixturevalue(DATA[key])
    report, query = REPORTS[key], {"period": "month", "month": MONTH.get(key, "2026-11")}
    sign_in_as(lead_of_both)
    with django_assert_max_num_queries(detail_queries(report)):
        response = client.get(reverse("reporting:report_detail", args=[key]), query)
    assert response.status_code == 200
    body = response.content.decode()
    assert report.version in body
    for measure in report.measures:
        assert f'data-testid="figure-{measure.key}"' in body
        with django_assert_max_num_queries(PATIENTS_QUERIES):
            listed = client.get(reverse("reporting:report_patients", args=[key, measure.key]), query)
        assert listed.status_code == 200, measure.key
    assert AuditEvent.objects.filter(action="report.patients").count() == len(report.measures)


@pytest.mark.parametrize("key", list(REPORTS))
def test_the_figures_counted_together_are_those_counted_one_by_one(request, key, practice_a, practice_b):
    request.getfixturevalue(DATA[key])
    report, ids = REPORTS[key], [practice_a.pk, practice_b.pk]
    period = month(*map(int, MONTH.get(key, "2026-11").split("-")))
    result = report_run(report=report, period=period, practice_ids=ids)
    counted = [row for row in result.figures if isinstance(row.measure, Measure)]
    assert counted
    for row in counted:
        measure = row.measure
        assert (row.current, row.previous) == (
            measure.counts(period, ids),
            measure.counts(period.previous(), ids),
        ), measure.key
        for b in measure.breakdowns:
            assert result.breakdown(measure, b.key) == measure.breakdown(b.key, period, ids), (
                measure.key,
                b.key,
            )
        # The scope's figure: each row once, or each distinct patient (or other value) once.
        rows = measure.rows(period, ids)
        distinct = measure.distinct or (measure.patient_path if measure.distinct_patients else None)
        assert row.total == (rows.values(distinct).distinct().count() if distinct else rows.count()), (
            measure.key
        )
    assert any(row.total for row in counted), "the data set counts something"


@pytest.mark.usefixtures("contacts")
def test_the_page_makes_as_many_queries_with_more_rows(
    client,
    sign_in_as,
    lead_of_both,
    django_assert_max_num_queries,
):
    sign_in_as(lead_of_both)
    url, query = (
        reverse("reporting:report_detail", args=["contacts"]),
        {"period": "month", "month": "2026-11"},
    )
    with django_assert_max_num_queries(detail_queries(REPORTS["contacts"])) as first:
        client.get(url, query)
    by = UserFactory()
    for n in range(20):
        contact(
            PatientFactory(practice=lead_of_both.practice),
            by,
            f"2026-11-1{n % 10}",
            "video",
            ["carer_support"],
        )
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(url, query)
