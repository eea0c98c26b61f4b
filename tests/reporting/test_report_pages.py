"""The report pages: the list, a report for a period and practice, and the patients behind a figure."""

import re

import pytest
import time_machine
from django.urls import reverse

from pcn.models import AuditEvent
from tests.factories import CaseloadEpisodeFactory, PatientFactory
from tests.reporting.report_data import at
from tests.reporting.test_caseload_report import caseloads  # noqa: F401 — the shared data set

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("caseloads")]

NOVEMBER = {"period": "month", "month": "2026-11"}


def cells(response, key):
    row = re.search(rf'data-testid="figure-{key}">(.*?)</tr>', response.content.decode(), re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_list_names_every_report(client, sign_in_as, lead_of_both):
    sign_in_as(lead_of_both)
    response = client.get(reverse("reporting:report_list"))
    assert response.status_code == 200
    assert b"How many people are on the care coordinators" in response.content


def test_a_report_for_november_shows_both_periods_and_each_practice(
    client, sign_in_as, lead_of_both, practice_a
):
    sign_in_as(lead_of_both)
    response = client.get(reverse("reporting:report_detail", args=["caseload"]), NOVEMBER)
    assert response.status_code == 200
    # All, October, change, Castle Street (B), Riverside (A): practices by name.
    assert cells(response, "size") == ["4", "3", "+1", "2", "2"]
    assert cells(response, "new") == ["3", "2", "+1", "1", "2"]
    assert cells(response, "closed") == ["2", "0", "+2", "0", "2"]
    event = AuditEvent.objects.get(action="report.view")
    assert (event.detail["report"], event.detail["period"], event.detail["version"]) == (
        "caseload", "November 2026", "caseload-1",
    )  # fmt: skip
    assert event.patient_links.count() == 0  # aggregate figures name no patient


def test_one_practice_chosen(client, sign_in_as, lead_of_both, practice_a):
    sign_in_as(lead_of_both)
    response = client.get(
        reverse("reporting:report_detail", args=["caseload"]), {**NOVEMBER, "practice": practice_a.pk}
    )
    assert cells(response, "size") == ["2", "2", "0", "2"]


def test_a_coordinator_sees_only_their_practice_and_cannot_choose_another(
    client, sign_in_as, coordinator, practice_b
):
    sign_in_as(coordinator)
    response = client.get(reverse("reporting:report_detail", args=["caseload"]), NOVEMBER)
    assert cells(response, "size") == ["2", "2", "0", "2"]
    refused = client.get(
        reverse("reporting:report_detail", args=["caseload"]), {**NOVEMBER, "practice": practice_b.pk}
    )
    assert b"Select a valid choice" in refused.content


@time_machine.travel("2026-12-03 10:00 +0000", tick=False)
def test_a_bad_period_says_what_is_wrong_and_shows_last_month(client, sign_in_as, lead_of_both):
    sign_in_as(lead_of_both)
    response = client.get(
        reverse("reporting:report_detail", args=["caseload"]),
        {"period": "custom", "start": "2026-11-10", "end": "2026-11-01"},
    )
    assert b"The last day must be on or after the first day" in response.content
    assert b"November 2026" in response.content


def test_the_patients_behind_a_figure_are_listed_scoped_and_audited(client, sign_in_as, coordinator):
    sign_in_as(coordinator)
    response = client.get(reverse("reporting:report_patients", args=["caseload", "new"]), NOVEMBER)
    assert response.status_code == 200
    assert (
        response.content.count(b'data-testid="patient-row"') == 2
    )  # practice A's two; B's one is not theirs
    event = AuditEvent.objects.get(action="report.patients")
    assert event.patient_links.count() == 2 and event.detail["figure"] == "new"


def test_unknown_reports_and_figures_are_404(client, sign_in_as, coordinator):
    sign_in_as(coordinator)
    assert client.get(reverse("reporting:report_detail", args=["nothing"])).status_code == 404
    assert client.get(reverse("reporting:report_patients", args=["caseload", "nothing"])).status_code == 404


def test_the_report_page_query_count_does_not_grow(
    client, sign_in_as, lead_of_both, django_assert_max_num_queries
):
    sign_in_as(lead_of_both)
    url = reverse("reporting:report_detail", args=["caseload"])
    with django_assert_max_num_queries(30) as first:
        client.get(url, NOVEMBER)
    for _ in range(10):
        CaseloadEpisodeFactory(
            patient=PatientFactory(practice=lead_of_both.practice), opened_at=at("2026-11-05")
        )
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(url, NOVEMBER)
