"""Signposting to directory services (outcome recorded later) and support given."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from caseload.models import CodingEntry, Service, Signposting, SupportGiven
from caseload.services.signposting import signposting_outcome_record, signposting_record, support_record
from pcn.models import AuditEvent


@pytest.fixture(autouse=True)
def no_example_services(db):
    Service.objects.all().delete()  # the examples shipped by migration 0011


@pytest.fixture
def advice(db) -> Service:
    return Service.objects.create(name="Riverside Money Advice", category=Service.Category.BENEFITS)


@pytest.fixture
def link_workers(db) -> Service:
    return Service.objects.create(name="Community Link Workers", category=Service.Category.SOCIAL_PRESCRIBING)


def test_signposting_is_recorded_with_the_outcome_not_known_yet(coordinator, patient, advice):
    signposting = signposting_record(
        patient=patient,
        service=advice,
        signposted_on=date(2025, 3, 3),
        by=coordinator.user,
        notes="Debt worries",
    )
    signposting.refresh_from_db()
    assert (signposting.patient, signposting.service, signposting.signposted_on, signposting.signposted_by) == (
        patient, advice, date(2025, 3, 3), coordinator.user
    )  # fmt: skip
    assert (signposting.outcome, signposting.outcome_on, signposting.notes) == (
        "pending",
        None,
        "Debt worries",
    )
    assert CodingEntry.objects.count() == 0  # only social prescribing is coded
    event = AuditEvent.objects.get(action="signposting.add")
    assert list(event.patient_links.values_list("patient_id", flat=True)) == [patient.pk]


def test_social_prescribing_records_a_coding_entry(coordinator, patient, link_workers):
    signposting = signposting_record(
        patient=patient, service=link_workers, signposted_on=date(2025, 3, 4), by=coordinator.user
    )
    entry = CodingEntry.objects.get()
    assert (entry.patient, entry.coded_on, entry.snomed_id, entry.term, entry.recorded_by, entry.source) == (
        patient, date(2025, 3, 4), "871731000000106", "Referral to social prescribing service", coordinator.user,
        f"signposting:{signposting.pk}",
    )  # fmt: skip
    assert entry.entered_at is None


def test_an_inactive_service_cannot_be_chosen(coordinator, patient, advice):
    advice.is_active = False
    advice.save()
    with pytest.raises(ValidationError):
        signposting_record(
            patient=patient, service=advice, signposted_on=date(2025, 3, 3), by=coordinator.user
        )
    assert Signposting.objects.count() == 0


def test_an_old_record_keeps_a_service_since_withdrawn(sign_in_as, coordinator, patient, advice):
    signposting_record(patient=patient, service=advice, signposted_on=date(2025, 3, 3), by=coordinator.user)
    advice.is_active = False
    advice.save()
    response = sign_in_as(coordinator).get(reverse("caseload:signposting_add", args=[patient.pk]))
    assert [s.service.name for s in response.context["signpostings"]] == ["Riverside Money Advice"]
    assert "no longer offered" in response.content.decode()
    assert list(response.context["form"].fields["service"].queryset) == []


def test_signposting_through_the_form_then_the_outcome_later(sign_in_as, coordinator, patient, link_workers):
    client = sign_in_as(coordinator)
    url = reverse("caseload:signposting_add", args=[patient.pk])
    response = client.post(
        url, {"service": link_workers.pk, "signposted_on": "2025-03-05", "notes": "Lonely"}
    )
    assert response.status_code == 302
    assert response["Location"] == url
    signposting = Signposting.objects.get()
    assert (signposting.service, signposting.signposted_on, signposting.notes) == (
        link_workers, date(2025, 3, 5), "Lonely"
    )  # fmt: skip
    assert CodingEntry.objects.get().source == f"signposting:{signposting.pk}"

    outcome_url = reverse("caseload:signposting_outcome", args=[signposting.pk])
    assert client.get(outcome_url).status_code == 200
    response = client.post(outcome_url, {"outcome": "engaged", "outcome_on": "2025-04-01"})
    assert response.status_code == 302
    signposting.refresh_from_db()
    assert (signposting.outcome, signposting.outcome_on) == ("engaged", date(2025, 4, 1))
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "signposting.add", "signposting.view", "signposting.outcome",
    ]  # fmt: skip


def test_the_outcome_cannot_be_before_the_signposting_or_in_the_future(
    sign_in_as, coordinator, patient, advice
):
    signposting = signposting_record(
        patient=patient, service=advice, signposted_on=date(2025, 3, 5), by=coordinator.user
    )
    client = sign_in_as(coordinator)
    url = reverse("caseload:signposting_outcome", args=[signposting.pk])
    response = client.post(url, {"outcome": "engaged", "outcome_on": "2025-03-04"})
    assert response.context["form"].errors == {
        "outcome_on": ["The date of the outcome must be on or after the date signposted (05/03/2025)"]
    }
    assert "nhsuk-error-summary" in response.content.decode()
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(url, {"outcome": "engaged", "outcome_on": tomorrow.isoformat()})
    assert response.context["form"].errors == {
        "outcome_on": ["The date of the outcome must be today or in the past"]
    }
    response = client.post(url, {})
    assert response.context["form"].errors == {
        "outcome": ["Select the outcome"], "outcome_on": ["Enter the date of the outcome"]
    }  # fmt: skip
    signposting.refresh_from_db()
    assert (signposting.outcome, signposting.outcome_on) == ("pending", None)


def test_signposting_form_validates(sign_in_as, coordinator, patient, advice):
    client = sign_in_as(coordinator)
    url = reverse("caseload:signposting_add", args=[patient.pk])
    response = client.post(url, {})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "service": ["Choose the service the patient was signposted to"],
        "signposted_on": ["Enter the date they were signposted"],
    }
    assert "nhsuk-error-summary" in response.content.decode()
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(url, {"service": advice.pk, "signposted_on": tomorrow.isoformat()})
    assert response.context["form"].errors == {
        "signposted_on": ["The date signposted must be today or in the past"]
    }
    assert Signposting.objects.count() == 0


def test_outsider_gets_404_and_nothing_changes(sign_in_as, coordinator, outsider, patient, advice):
    signposting = signposting_record(
        patient=patient, service=advice, signposted_on=date(2025, 3, 5), by=coordinator.user
    )
    client = sign_in_as(outsider)
    response = client.post(
        reverse("caseload:signposting_add", args=[patient.pk]),
        {"service": advice.pk, "signposted_on": "2025-03-05"},
    )
    assert response.status_code == 404
    response = client.post(
        reverse("caseload:signposting_outcome", args=[signposting.pk]),
        {"outcome": "declined", "outcome_on": "2025-03-06"},
    )
    assert response.status_code == 404
    response = client.post(
        reverse("caseload:support_add", args=[patient.pk]), {"kind": "phb", "given_on": "2025-03-05"}
    )
    assert response.status_code == 404
    assert Signposting.objects.count() == 1
    signposting.refresh_from_db()
    assert signposting.outcome == "pending"
    assert SupportGiven.objects.count() == 0


def test_signposting_outcome_service(coordinator, patient, advice):
    signposting = signposting_record(
        patient=patient, service=advice, signposted_on=date(2025, 3, 5), by=coordinator.user
    )
    signposting_outcome_record(
        signposting=signposting, outcome="not_engaged", outcome_on=date(2025, 5, 1), by=coordinator.user
    )
    signposting.refresh_from_db()
    assert (signposting.outcome, signposting.outcome_on) == ("not_engaged", date(2025, 5, 1))


@pytest.mark.parametrize(
    ("kind", "coded_term"),
    [
        ("phb", None),  # no code for a personal health budget in caseload.codes: nothing to enter
        ("benefits", "Benefits advice"),
        ("employment", "Employment and training support"),
    ],
)
def test_support_given_kinds(coordinator, patient, kind, coded_term):
    support = support_record(
        patient=patient, kind=kind, given_on=date(2025, 2, 10), by=coordinator.user, notes="x"
    )
    support.refresh_from_db()
    assert (support.kind, support.given_on, support.given_by, support.notes) == (
        kind, date(2025, 2, 10), coordinator.user, "x"
    )  # fmt: skip
    assert list(CodingEntry.objects.values_list("term", "snomed_id", "source", "coded_on")) == (
        [(coded_term, "", f"support:{support.pk}", date(2025, 2, 10))] if coded_term else []
    )
    assert AuditEvent.objects.get(action="support.add").detail == {"support_id": support.pk, "kind": kind}


def test_support_form(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:support_add", args=[patient.pk])
    response = client.post(url, {})
    assert response.context["form"].errors == {
        "kind": ["Select the support given"], "given_on": ["Enter the date the support was given"]
    }  # fmt: skip
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(url, {"kind": "phb", "given_on": tomorrow.isoformat()})
    assert response.context["form"].errors == {"given_on": ["The date must be today or in the past"]}
    assert SupportGiven.objects.count() == 0
    response = client.post(url, {"kind": "phb", "given_on": "2025-02-10", "notes": "Budget agreed"})
    assert response.status_code == 302
    response = client.get(url)
    assert [(s.get_kind_display(), s.notes) for s in response.context["supports"]] == [
        ("Personal health budget", "Budget agreed")
    ]
