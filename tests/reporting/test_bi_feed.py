"""The BI feed: small-number suppression and rounding, aggregate rows with no identifiers, API tokens
(hashed, shown once, revoked), 401s, audit and scoping; and the administrators' token pages."""

import csv
import hashlib
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from caseload.models import Patient
from pcn.models import AuditEvent, Role
from reporting.models import ApiToken
from reporting.reports import REPORTS
from reporting.services.bi_feed import FEED_HEADER, count_cell, is_rate, rate_cell
from reporting.services.tokens import api_token_create, api_token_revoke
from tests.conftest import make_person
from tests.factories import CaseloadEpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db

FEED = reverse("reporting:bi_feed", args=["caseload"])
NOVEMBER = {"period": "month", "month": "2026-11"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel("2026-12-03 10:00 +0000", tick=False):
        yield


# --- The small-number rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (None, ""),
        (0, "0"),
        (1, "*"),
        (7, "*"),
        (8, "10"),
        (12, "10"),
        (13, "15"),
        (17, "15"),
        (18, "20"),
        (100, "100"),
    ],
)
def test_counts_1_to_7_are_suppressed_and_the_rest_rounded_to_5(count, shown):
    assert count_cell(count) == shown


@pytest.mark.parametrize(("count", "shown"), [(0, "0"), (9, "*"), (10, "10"), (14, "10"), (15, "20")])
def test_the_rule_is_a_setting(settings, count, shown):
    settings.BI_SUPPRESS_BELOW, settings.BI_ROUND_TO = 10, 10
    assert count_cell(count) == shown


@pytest.mark.parametrize(
    ("value", "base", "unit", "shown"),
    [
        (87.5, 7, "%", "*"),  # too few people behind it
        (87.5, 8, "%", "88"),  # percentages to the whole number, halves up
        (3.25, 8, " days", "3.3"),  # medians to one decimal place
        (None, 20, " days", ""),  # no value
    ],
)
def test_a_percentage_or_median_is_suppressed_on_a_small_base_and_not_rounded_to_5(value, base, unit, shown):
    assert rate_cell(value, base=base, unit=unit) == shown


def test_rates_are_the_computed_figures_with_a_unit():
    care_plans = REPORTS["care_plans"]
    assert is_rate(care_plans.measure("ehch_on_time_percent"))
    assert not is_rate(care_plans.measure("ehch_on_time"))  # a count made by a function: the count rule
    assert is_rate(REPORTS["mdt"].measure("median_days_to_close"))
    assert not is_rate(REPORTS["caseload"].measure("new"))


# --- The feed -------------------------------------------------------------------------------------------


@pytest.fixture
def holder(practice_a, practice_b):
    """A PCN manager at both practices: the token's holder."""
    return make_person(
        practice_a, Role.MANAGER, also_at=[practice_b], full_name="Pat Pcn", email="pat@example.test"
    )


@pytest.fixture
def caseloads(practice_a, practice_b, coordinator):
    """A: 8 taken on in October, 13 in November; B: 1 in November. None closed."""
    for day, practice, count in [
        ("2026-10-10", practice_a, 8),
        ("2026-11-10", practice_a, 13),
        ("2026-11-10", practice_b, 1),
    ]:
        for _ in range(count):
            CaseloadEpisodeFactory(
                patient=PatientFactory(practice=practice), coordinator=coordinator.user,
                opened_at=datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC),
            )  # fmt: skip


@pytest.fixture
def token(holder, administrator):
    return api_token_create(user=holder.user, name="Power BI", by=administrator.user)[1]


def feed(client, token: str | None, params=NOVEMBER, url: str = FEED):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, params, headers=headers)


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_feed_gives_each_figure_per_practice_and_for_all_suppressed_and_rounded(client, caseloads, token):
    response = feed(client, token)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    table = rows(response)
    assert table[0] == FEED_HEADER
    head = ["caseload", "caseload-1", "November 2026", "2026-11-01", "2026-11-30"]
    by_figure = {}
    for row in table[1:]:
        assert row[:5] == head
        by_figure.setdefault(row[7], []).append([row[5], row[10], row[11]])
    assert by_figure["new"] == [
        ["P99001", "15", "10"],
        ["P99002", "*", "0"],
        ["ALL", "15", "10"],
    ]  # 13, 1, 14
    assert by_figure["size"] == [
        ["P99001", "20", "10"],
        ["P99002", "*", "0"],
        ["ALL", "20", "10"],
    ]  # 21, 1, 22
    assert by_figure["closed"] == [["P99001", "0", "0"], ["P99002", "0", "0"], ["ALL", "0", "0"]]
    assert list(by_figure) == [m.key for m in REPORTS["caseload"].measures]


def test_the_feed_names_no_patient(client, caseloads, token):
    body = b"".join(feed(client, token).streaming_content).decode()
    for patient in Patient.objects.all():
        assert patient.nhs_number not in body
        assert patient.family_name not in body
        assert patient.given_name not in body
    assert "Cara Coordinator" not in body  # nor a coordinator


def test_a_qof_year(client, token):
    table = rows(feed(client, token, {"period": "qof_year", "year": "2026"}))
    assert table[1][:5] == ["caseload", "caseload-1", "QOF year 2026/27", "2026-04-01", "2027-03-31"]


def test_every_use_is_audited_and_marks_the_token_used(client, token, holder, practice_a, practice_b):
    feed(client, token)
    event = AuditEvent.objects.get(action="report.bi_feed")
    made = ApiToken.objects.get()
    assert event.user == holder.user
    assert event.detail == {
        "token": made.pk, "report": "caseload", "version": "caseload-1", "period": "November 2026",
        "period_start": "2026-11-01", "practices": sorted([practice_a.pk, practice_b.pk]),
    }  # fmt: skip
    assert event.patient_links.count() == 0
    assert made.last_used_at == datetime(2026, 12, 3, 10, tzinfo=UTC)


def test_the_feed_is_scoped_to_the_holders_practices(client, caseloads, manager, administrator):
    _, only_a = api_token_create(user=manager.user, name="A only", by=administrator.user)
    practices = {row[5] for row in rows(feed(client, only_a))[1:]}
    assert practices == {"P99001", "ALL"}


def test_a_token_is_stored_only_as_its_hash(holder, administrator):
    made, token = api_token_create(user=holder.user, name="Excel", by=administrator.user)
    assert token.startswith("pcnbi_") and len(token) > 40
    assert made.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=made.pk).values().get()
    assert token not in [str(value) for value in stored.values()]
    event = AuditEvent.objects.get(action="report.token.create")
    assert token not in str(event.detail)


def test_a_revoked_token_refuses_the_next_request(client, token, administrator):
    assert feed(client, token).status_code == 200
    api_token_revoke(token=ApiToken.objects.get(), by=administrator.user)
    refused = feed(client, token)
    assert refused.status_code == 401
    assert AuditEvent.objects.filter(action="report.bi_feed").count() == 1  # the first request only


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer pcnbi_not-a-token", "Basic cGF0OnB3", "Token {token}", "Bearer {token}x"],
    ids=["none", "empty", "unknown", "basic", "wrong-scheme", "altered"],
)
def test_without_a_valid_token_401(client, token, header):
    headers = {"Authorization": header.format(token=token)} if header else {}
    response = client.get(FEED, NOVEMBER, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="bi-feed"'
    assert not AuditEvent.objects.filter(action="report.bi_feed").exists()


def test_a_token_in_the_address_is_refused_even_when_valid(client, token):
    response = client.get(FEED, {**NOVEMBER, "token": token}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert b"Tokens in the address are refused" in response.content
    assert not AuditEvent.objects.filter(action="report.bi_feed").exists()
    assert ApiToken.objects.get().last_used_at is None


def test_a_deactivated_holder_or_one_no_longer_a_manager_is_refused(client, token, holder):
    holder.user.memberships.update(role=Role.COORDINATOR)
    assert feed(client, token).status_code == 401
    holder.user.memberships.update(role=Role.MANAGER)
    assert feed(client, token).status_code == 200
    holder.user.is_active = False
    holder.user.save()
    assert feed(client, token).status_code == 401


def test_a_session_is_not_a_token(client, sign_in_as, manager):
    sign_in_as(manager)  # signed in, past two-factor
    assert feed(client, None).status_code == 401


def test_the_feed_is_get_only(client, token):
    response = client.post(FEED, NOVEMBER, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert not AuditEvent.objects.filter(action="report.bi_feed").exists()


def test_a_bad_period_is_400_and_an_unknown_report_404(client, token):
    bad = feed(client, token, {"period": "month", "month": "November"})
    assert bad.status_code == 400
    assert b"Enter a month, like 2026-11" in bad.content
    assert feed(client, token, url=reverse("reporting:bi_feed", args=["nothing"])).status_code == 404


# --- The administrators' token pages --------------------------------------------------------------------


def test_an_administrator_issues_a_token_and_sees_it_once(
    client, sign_in_as, administrator, holder, coordinator
):
    sign_in_as(administrator)
    form = client.get(reverse("reporting:token_create"))
    offered = {str(user) for user in form.context["form"].fields["user"].queryset}
    assert offered == {"Ade Admin", "Pat Pcn"}  # managers and administrators, never a coordinator
    response = client.post(reverse("reporting:token_create"), {"user": holder.user.pk, "name": "Power BI"})
    assert response.status_code == 200
    shown = response.context["token"]
    assert shown.encode() in response.content
    made = ApiToken.objects.get()
    assert (made.user, made.name, made.created_by) == (holder.user, "Power BI", administrator.user)
    listing = client.get(reverse("reporting:token_list"))
    assert b"Power BI" in listing.content
    assert shown.encode() not in listing.content
    assert feed(client, shown).status_code == 200


def test_revoking_asks_first_then_refuses_the_token(client, sign_in_as, administrator, token):
    made = ApiToken.objects.get()
    sign_in_as(administrator)
    url = reverse("reporting:token_revoke", args=[made.pk])
    assert b"Revoke the token" in client.get(url).content
    made.refresh_from_db()
    assert made.revoked_at is None  # the GET changed nothing
    assert client.post(url).status_code == 302
    made.refresh_from_db()
    assert (made.revoked_at, made.revoked_by) == (datetime(2026, 12, 3, 10, tzinfo=UTC), administrator.user)
    assert AuditEvent.objects.filter(action="report.token.revoke", user=administrator.user).count() == 1
    client.logout()
    assert feed(client, token).status_code == 401


def test_an_unknown_token_to_revoke_is_404(client, sign_in_as, administrator):
    sign_in_as(administrator)
    assert client.get(reverse("reporting:token_revoke", args=[999999])).status_code == 404
