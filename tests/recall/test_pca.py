"""Personalised Care Adjustments from the patient page: recorded with one of the five reasons and a
date, withdrawn after a confirmation page; scoped and audited."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from pcn.models import AuditEvent
from recall.models import Channel, RecallEntry
from recall.services.appointments import appointment_book
from recall.services.entries import entry_pca_record, entry_pca_withdraw
from recall.services.invitations import invitation_batch_create
from tests.recall.conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=ZoneInfo("Europe/London")), tick=False):
        yield


@pytest.fixture
def invited_entry(diabetes_entry, coordinator) -> RecallEntry:
    invitation_batch_create(
        entries=RecallEntry.objects.filter(pk=diabetes_entry.pk), channel=Channel.SMS, on=date(2026, 11, 1),
        by=coordinator.user,
    )  # fmt: skip
    diabetes_entry.refresh_from_db()
    return diabetes_entry


def audit_rows(action: str) -> list[tuple[list[int], dict]]:
    return [
        (sorted(e.patient_links.values_list("patient_id", flat=True)), e.detail)
        for e in AuditEvent.objects.filter(action=action).order_by("id")
    ]


def test_a_pca_is_recorded_with_its_reason_and_date(sign_in_as, coordinator, invited_entry):
    response = sign_in_as(coordinator).post(
        reverse("recall:entry_pca", args=[invited_entry.pk]),
        {"reason": "informed_dissent", "on": "2026-12-01"},
        follow=True,
    )
    assert "PCA recorded for the Diabetes annual review 2026/27: Informed dissent." in response.text
    assert response.redirect_chain == [(f"{invited_entry.patient.get_absolute_url()}", 302)]
    invited_entry.refresh_from_db()
    assert (invited_entry.state, invited_entry.pca_reason, invited_entry.pca_on, invited_entry.pca_by) == (
        "pca", "informed_dissent", date(2026, 12, 1), coordinator.user,
    )  # fmt: skip
    assert invited_entry.state_text() == "PCA: Informed dissent"
    assert audit_rows("recall.pca.record") == [
        ([invited_entry.patient_id], {"entry_id": invited_entry.pk, "reason": "informed_dissent"})
    ]


def test_the_form_offers_the_five_reasons_and_today(sign_in_as, coordinator, invited_entry):
    response = sign_in_as(coordinator).get(
        reverse("recall:entry_pca", args=[invited_entry.pk]), {"reason": "informed_dissent"}
    )
    form = response.context["form"]
    assert [value for value, _ in form.fields["reason"].choices] == [
        "unsuitable", "informed_dissent", "no_response", "service_unavailable", "newly_diagnosed",
    ]  # fmt: skip
    assert (form["reason"].value(), form["on"].value()) == ("informed_dissent", TODAY)
    assert audit_rows("recall.pca.form") == [([invited_entry.patient_id], {"entry_id": invited_entry.pk})]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"reason": "bored", "on": "2026-12-01"}, {"reason"}),
        ({"reason": "unsuitable", "on": "2026-12-04"}, {"on"}),
        ({"reason": "unsuitable", "on": ""}, {"on"}),
    ],
)
def test_a_bad_pca_changes_nothing(sign_in_as, coordinator, invited_entry, data, errors):
    response = sign_in_as(coordinator).post(reverse("recall:entry_pca", args=[invited_entry.pk]), data)
    assert response.status_code == 200
    assert set(response.context["form"].errors) == errors
    invited_entry.refresh_from_db()
    assert (invited_entry.state, invited_entry.pca_reason) == ("invited", "")
    assert audit_rows("recall.pca.record") == []


def test_a_closed_review_takes_no_pca(sign_in_as, coordinator, invited_entry):
    RecallEntry.objects.filter(pk=invited_entry.pk).update(state="seen", seen_on=TODAY)
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("recall:entry_pca", args=[invited_entry.pk]), {"reason": "unsuitable", "on": "2026-12-01"}
    )
    assert response.status_code == 302
    invited_entry.refresh_from_db()
    assert (invited_entry.state, invited_entry.pca_reason) == ("seen", "")


def test_withdrawing_asks_first_then_the_review_is_due_again(sign_in_as, coordinator, invited_entry):
    entry_pca_record(entry=invited_entry, reason="unsuitable", on=TODAY, by=coordinator.user)
    client = sign_in_as(coordinator)
    url = reverse("recall:entry_pca_withdraw", args=[invited_entry.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Withdraw the PCA for the Diabetes annual review 2026/27?" in page.text
    invited_entry.refresh_from_db()
    assert invited_entry.state == "pca"  # the GET changed nothing
    response = client.post(url, follow=True)
    assert "PCA withdrawn: the Diabetes annual review is invited ×1." in response.text
    invited_entry.refresh_from_db()
    assert (invited_entry.state, invited_entry.invitations, invited_entry.pca_reason, invited_entry.pca_on) == (
        "invited", 1, "", None,
    )  # fmt: skip
    assert audit_rows("recall.pca.withdraw") == [([invited_entry.patient_id], {"entry_id": invited_entry.pk})]


def test_withdrawing_a_pca_of_a_booked_review_books_it_again(coordinator, invited_entry):
    appointment_book(
        patient=invited_entry.patient, starts_at=datetime(2026, 12, 20, 10, tzinfo=ZoneInfo("Europe/London")),
        role="nurse", by=coordinator.user, entries=[invited_entry],
    )  # fmt: skip
    invited_entry.refresh_from_db()
    entry_pca_record(entry=invited_entry, reason="unsuitable", on=TODAY, by=coordinator.user)
    assert (
        entry_pca_withdraw(entry=RecallEntry.objects.get(pk=invited_entry.pk), by=coordinator.user).state
        == "booked"
    )


def test_nothing_to_withdraw_goes_back(sign_in_as, coordinator, invited_entry):
    response = sign_in_as(coordinator).post(reverse("recall:entry_pca_withdraw", args=[invited_entry.pk]))
    assert response["Location"] == f"{invited_entry.patient.get_absolute_url()}"
    assert audit_rows("recall.pca.withdraw") == []


def test_an_outsider_gets_404_and_changes_nothing(sign_in_as, coordinator, outsider, invited_entry):
    client = sign_in_as(outsider)
    record = reverse("recall:entry_pca", args=[invited_entry.pk])
    assert client.get(record).status_code == 404
    assert client.post(record, {"reason": "unsuitable", "on": "2026-12-01"}).status_code == 404
    invited_entry.refresh_from_db()
    assert invited_entry.state == "invited"
    entry_pca_record(
        entry=invited_entry, reason="unsuitable", on=TODAY - timedelta(days=1), by=coordinator.user
    )
    withdraw = reverse("recall:entry_pca_withdraw", args=[invited_entry.pk])
    assert client.get(withdraw).status_code == 404
    assert client.post(withdraw).status_code == 404
    invited_entry.refresh_from_db()
    assert invited_entry.state == "pca"
