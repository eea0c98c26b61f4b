"""The dashboard: the headline figures over the last 12 complete months on a small hand-built data set,
the practice filter, scoping, who may see it, its audit row and its query count."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from caseload.models import CareEvent
from pcn.models import AuditEvent
from reporting.periods import last_twelve_months
from reporting.reports.base import report_run
from reporting.services.dashboard import HEADLINES, dashboard_figures
from tests.factories import CaseloadEpisodeFactory, PatientFactory, UserFactory
from tests.reporting.report_data import action, at, care_event, contact, item, meeting, plan_version, series

pytestmark = pytest.mark.django_db

URL = reverse("reporting:dashboard")
MONTHS = ["Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026", "Jun 2026", "Jul 2026",
          "Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026"]  # fmt: skip


@pytest.fixture(autouse=True)
def third_of_december(time_machine):
    time_machine.move_to("2026-12-03 10:00 +0000", tick=False)


@pytest.fixture
def activity(practice_a, practice_b):
    """December 2025 to November 2026 at practices A and B (times UTC; London is an hour ahead in
    summer time, 29 March to 25 October 2026)."""
    ann = UserFactory(full_name="Ann Able")

    def episode(practice, opened, closed=None):
        return CaseloadEpisodeFactory(
            patient=PatientFactory(practice=practice), coordinator=ann, opened_at=opened,
            status="closed" if closed else "open", closed_at=closed,
        )  # fmt: skip

    episode(practice_a, at("2025-11-20"), at("2026-02-10"))  # before the 12 months: on the caseload, not new
    episode(practice_a, at("2026-01-15"))
    episode(practice_a, at("2026-03-31", 23, 30))  # 00:30 on 1 April in London: April's
    episode(practice_a, at("2026-11-01"))
    episode(practice_b, at("2026-06-10"), at("2026-09-01"))
    episode(practice_b, at("2026-11-12"))

    pa, pb = PatientFactory(practice=practice_a), PatientFactory(practice=practice_b)
    for day in ("2025-11-30", "2026-01-05", "2026-01-20", "2026-11-02", "2026-12-01"):
        contact(pa, ann, day)  # November 2025 and December 2026 are outside the 12 months
    late = contact(pa, ann, "2026-10-31")
    late.contact_at = at("2026-10-31", 23, 30)  # GMT again since 25 October: still 31 October in London
    late.save()
    contact(pb, ann, "2026-06-15")
    last = contact(pb, ann, "2026-11-30")
    last.contact_at = at("2026-11-30", 23, 30)
    last.save()

    # EHCH: admitted Monday 2 November, PCSP agreed Thursday 5 November (the 3rd working day): on time.
    care_event(pb, CareEvent.Kind.CARE_HOME_ADMISSION, at("2026-11-02"), provider="Beech House")
    plan_version(pb, ann, agreed_on=date(2026, 11, 5), review_date=date(2027, 5, 5))
    # MDT: an action due 20 October, still open: overdue at the end of October and of November.
    mdt = series("Care home MDT", ann, practice_a)
    action(item(meeting(mdt, at("2026-10-06", 13)), pa), ann, raised=at("2026-10-06"), due=date(2026, 10, 20))
    return ann


def figures_of(response) -> dict[str, list]:
    return {
        f"{f.headline.report_key}-{f.headline.measure_key}": f.values for f in response.context["figures"]
    }


def month_cells(response, key: str) -> tuple[list[str], list[str]]:
    table = re.search(rf'data-testid="months-{key}">(.*?)</table>', response.text, re.S).group(1)
    heads = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', table)]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table)]
    return heads, cells


def test_the_headline_trends_for_all_the_practices(client, sign_in_as, lead_of_both, activity):
    sign_in_as(lead_of_both)
    response = client.get(URL)
    assert response.status_code == 200
    got = figures_of(response)
    assert got["caseload-new"] == [0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 2]
    assert got["caseload-size"] == [1, 2, 1, 1, 2, 2, 3, 3, 3, 2, 2, 4]
    assert got["contacts-contacts"] == [0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2]
    assert got["care_plans-agreed"] == [0] * 11 + [1]
    assert got["care_plans-ehch_on_time_percent"] == [None] * 11 + [100]
    assert got["mdt-actions_overdue"] == [0] * 10 + [1, 1]
    # The numbers are in a table under each chart, for screen readers and for exact figures.
    assert month_cells(response, "contacts-contacts") == (
        ["Month", *MONTHS],
        ["0", "2", "0", "0", "0", "0", "1", "0", "0", "0", "1", "2"],
    )
    assert month_cells(response, "care_plans-ehch_on_time_percent")[1] == ["—"] * 11 + ["100%"]
    assert 'data-testid="chart-caseload-new"' in response.text
    assert 'aria-labelledby="caseload-new-title caseload-new-desc"' in response.text


def test_each_figure_links_to_its_report_for_the_latest_month(client, sign_in_as, lead_of_both, activity):
    sign_in_as(lead_of_both)
    response = client.get(URL)
    link = reverse("reporting:report_detail", args=["contacts"]) + "?period=month&amp;month=2026-11"
    assert f'<a href="{link}">Contacts</a>' in response.text
    section = re.search(
        r'data-testid="headline-contacts-contacts">(.*?)</section>', response.text, re.S
    ).group(1)
    assert 'data-testid="latest">2<' in section
    assert "November 2026: up 1 on October 2026" in section


def test_one_practice_chosen(client, sign_in_as, lead_of_both, activity, practice_a):
    sign_in_as(lead_of_both)
    response = client.get(URL, {"practice": practice_a.pk})
    got = figures_of(response)
    assert got["caseload-new"] == [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert got["caseload-size"] == [1, 2, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3]
    assert got["contacts-contacts"] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert got["care_plans-ehch_on_time_percent"] == [None] * 12
    link = reverse("reporting:report_detail", args=["contacts"])
    assert f'href="{link}?period=month&amp;month=2026-11&amp;practice={practice_a.pk}"' in response.text
    assert "Riverside Surgery" in response.text


def test_a_coordinator_sees_their_practice_only_and_cannot_choose_another(
    client, sign_in_as, coordinator, activity, practice_b
):
    sign_in_as(coordinator)
    assert figures_of(client.get(URL))["contacts-contacts"] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    refused = client.get(URL, {"practice": practice_b.pk})
    assert "Select one of your practices" in refused.text
    assert figures_of(refused)["contacts-contacts"] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]  # still theirs
    assert [p.pk for p in refused.context["form"].fields["practice"].queryset] == [coordinator.practice.pk]


def test_an_outsider_sees_only_their_practice(client, sign_in_as, outsider, activity, practice_a):
    sign_in_as(outsider)
    got = figures_of(client.get(URL))
    assert got["caseload-new"] == [0] * 6 + [1, 0, 0, 0, 0, 1]
    assert got["contacts-contacts"] == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert got["care_plans-ehch_on_time_percent"] == [None] * 11 + [100]
    assert got["mdt-actions_overdue"] == [0] * 12
    assert "Select one of your practices" in client.get(URL, {"practice": practice_a.pk}).text


def test_an_administrator_sees_the_figures_without_links_to_the_reports(
    client, sign_in_as, administrator, activity
):
    sign_in_as(administrator)
    response = client.get(URL)
    assert response.status_code == 200
    assert figures_of(response)["contacts-contacts"] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert reverse("reporting:report_detail", args=["contacts"]) not in response.text  # they would be a 403
    assert reverse("reporting:report_list") not in response.text


def test_viewing_the_dashboard_is_audited_with_no_patient(
    client, sign_in_as, lead_of_both, activity, practice_a
):
    sign_in_as(lead_of_both)
    client.get(URL, {"practice": practice_a.pk})
    event = AuditEvent.objects.get(action="report.dashboard.view")
    assert event.user == lead_of_both.user
    assert event.detail == {"period": "December 2025 to November 2026", "practices": [practice_a.pk]}
    assert event.patient_links.count() == 0


def test_the_months_are_the_twelve_complete_ones_before_today(client, sign_in_as, lead_of_both):
    sign_in_as(lead_of_both)
    response = client.get(URL)
    assert [p.label for p in response.context["periods"]][:3] == [
        "December 2025",
        "January 2026",
        "February 2026",
    ]
    assert [p.label for p in response.context["periods"]][-1] == "November 2026"
    assert len(response.context["periods"]) == 12
    assert "December 2025 to November 2026" in response.text
    assert response.context["figures"][0].values == [0] * 12  # nothing recorded: zeros, and a page


def more_activity(practice_a, practice_b, rows: int) -> None:
    """`rows` of each kind the headlines count, spread over the 12 months and both practices."""
    by = UserFactory()
    mdt, held = series("Frailty MDT", by, practice_a, practice_b), {}
    for n in range(rows):
        practice = (practice_a, practice_b)[n % 2]
        day = date(2025, 12, 5) + timedelta(days=29 * (n % 12))
        person = PatientFactory(practice=practice)
        CaseloadEpisodeFactory(patient=person, coordinator=by, opened_at=at(day.isoformat()))
        contact(person, by, day.isoformat())
        care_event(person, CareEvent.Kind.CARE_HOME_ADMISSION, at(day.isoformat()))
        plan_version(person, by, agreed_on=day + timedelta(days=n % 9))
        if day not in held:
            held[day] = meeting(mdt, at(day.isoformat(), 13))
        action(item(held[day], person), by, raised=at(day.isoformat()), due=day + timedelta(days=7))


DASHBOARD_QUERIES = (
    17  # 7 for the figures (EHCH takes 2), 10 for the session, two-factor, header, form and audit
)


@pytest.mark.parametrize("rows", [5, 50])
def test_the_query_count_does_not_depend_on_the_data(
    client, sign_in_as, lead_of_both, practice_a, practice_b, rows, django_assert_max_num_queries
):
    more_activity(practice_a, practice_b, rows)
    sign_in_as(lead_of_both)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        assert client.get(URL).status_code == 200
    with django_assert_max_num_queries(DASHBOARD_QUERIES + 1):  # the practice chosen is looked up
        assert client.get(URL, {"practice": practice_a.pk}).status_code == 200


def test_the_service_gives_each_headline_in_order(activity, practice_a, practice_b):
    periods = last_twelve_months(date(2026, 12, 3))[-2:]
    figures = dashboard_figures(periods=periods, practice_ids=[practice_a.pk, practice_b.pk])
    assert [(f.headline.label, f.values, f.change) for f in figures] == [
        ("On a caseload", [2, 4], 2),
        ("New to a caseload", [0, 2], 2),
        ("Contacts", [1, 2], 1),
        ("PCSPs agreed", [0, 1], 1),
        ("EHCH: PCSP within 7 working days", [None, 100], None),
        ("MDT actions overdue", [1, 1], 0),
    ]
    assert len(HEADLINES) == 6


def test_each_month_of_a_trend_is_the_report_s_figure_for_that_month(activity, practice_a, practice_b):
    """The one-query trends (as-at counts, the EHCH percentage) agree with the report pages, month by month."""
    periods, ids = last_twelve_months(date(2026, 12, 3)), [practice_a.pk, practice_b.pk]
    for figure in dashboard_figures(periods=periods, practice_ids=ids):
        report = figure.headline.report
        totals = [
            next(
                f.total
                for f in report_run(report=report, period=p, practice_ids=ids).figures
                if f.measure is figure.measure
            )
            for p in periods
        ]
        assert figure.values == totals, figure.headline.label
