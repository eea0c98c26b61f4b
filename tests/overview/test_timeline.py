"""The patient's timeline: every kind, newest first, filtered by kind, one query per kind."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caseload.models import (
    ActivationMeasure,
    CareEvent,
    Contact,
    Referral,
    ReferralType,
    Service,
    Signposting,
    SupportGiven,
    Task,
)
from overview.timeline import SOURCES, patient_timeline, safe_reverse
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

KINDS = ["care_event", "referral", "contact", "pam", "signposting", "support", "task"]


def one_of_each(patient, user, day: int = 2):
    """One row of every kind, on consecutive days of January 2025 from `day` (care event first)."""
    CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=CareEvent.Kind.DISCHARGE,
        occurred_at=datetime(2025, 1, day, 9, tzinfo=UTC), provider=f"General Hospital {day}",
    )  # fmt: skip
    referral_type, _ = ReferralType.objects.get_or_create(name="Frailty")
    Referral.objects.create(
        patient=patient, referral_type=referral_type, source=Referral.Source.GP, referrer_name="Dr Who",
        reason="Falls", received_on=date(2025, 1, day + 1), created_by=user,
    )  # fmt: skip
    Contact.objects.create(
        patient=patient, contact_at=datetime(2025, 1, day + 2, 10, tzinfo=UTC), method="phone",
        duration_minutes=15, interventions=["proactive_care"], recorded_by=user,
    )  # fmt: skip
    ActivationMeasure.objects.create(
        patient=patient, score=50, measured_on=date(2025, 1, day + 3), measured_by=user
    )
    service, _ = Service.objects.get_or_create(name="Age UK", defaults={"category": Service.Category.OTHER})
    Signposting.objects.create(
        patient=patient, service=service, signposted_on=date(2025, 1, day + 4), signposted_by=user
    )
    SupportGiven.objects.create(
        patient=patient, kind="benefits", given_on=date(2025, 1, day + 5), given_by=user
    )
    task = Task.objects.create(patient=patient, title="Review", owner=user, due_on=date(2025, 2, 1))
    Task.objects.filter(pk=task.pk).update(created_at=datetime(2025, 1, day + 6, 12, tzinfo=UTC))


def test_every_kind_newest_first(patient, coordinator):
    one_of_each(patient, coordinator.user)
    entries = patient_timeline(patient=patient, kinds=[])
    assert [e.kind for e in entries] == list(reversed(KINDS))
    assert [e.title for e in entries] == [
        "Task: Review",
        "Help to access benefits",
        "Signposted to Age UK",
        "PAM score 50.0, level 2",
        "Phone contact with patient, 15 min",
        "Frailty referral",
        "Hospital discharge",
    ]
    contact = entries[4]
    assert (contact.detail, contact.who, contact.url) == (
        "Provision of proactive care", "Cara Coordinator", f"/contacts/{Contact.objects.get().pk}/",
    )  # fmt: skip


def test_same_day_dated_entries_follow_the_time_they_were_entered(patient, coordinator):
    user = coordinator.user
    first = ActivationMeasure.objects.create(
        patient=patient, score=40, measured_on=date(2025, 1, 5), measured_by=user
    )
    second = ActivationMeasure.objects.create(
        patient=patient, score=60, measured_on=date(2025, 1, 5), measured_by=user
    )
    assert first.created_at < second.created_at
    assert [e.title for e in patient_timeline(patient=patient, kinds=["pam"])] == [
        "PAM score 60.0, level 3",
        "PAM score 40.0, level 1",
    ]


def test_filter_by_kind(patient, coordinator):
    one_of_each(patient, coordinator.user)
    assert [e.kind for e in patient_timeline(patient=patient, kinds=["contact", "pam"])] == ["pam", "contact"]
    assert [e.kind for e in patient_timeline(patient=patient, kinds=["nonsense"])] == list(reversed(KINDS))


def test_only_this_patients_rows(patient, coordinator, practice_a):
    one_of_each(PatientFactory(practice=practice_a), coordinator.user)
    assert patient_timeline(patient=patient, kinds=[]) == []


def test_one_query_per_kind_whatever_the_rows(patient, coordinator, django_assert_num_queries):
    one_of_each(patient, coordinator.user)
    # One query per kind, and one more for care plans (their versions, then their reviews).
    with django_assert_num_queries(len(SOURCES) + 1):
        assert len(patient_timeline(patient=patient, kinds=[])) == 7
    for day in (10, 20):
        one_of_each(patient, coordinator.user, day=day)
    with django_assert_num_queries(len(SOURCES) + 1):
        assert len(patient_timeline(patient=patient, kinds=[])) == 21
    with django_assert_num_queries(2):
        patient_timeline(patient=patient, kinds=["contact", "task"])
    # MDT discussions: tests/mdt/test_minutes.py; care plans: tests/careplans/test_review_recording.py;
    # appointments and invitations: tests/overview/test_patient_recall.py; decision aids:
    # tests/careplans/test_decision_aids.py; feedback: tests/caseload/test_feedback.py
    assert sorted(SOURCES) == sorted(
        [*KINDS, "mdt", "care_plan", "appointment", "invitation", "decision_aid", "feedback"]
    )


def patient_page_queries(client, patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(patient.get_absolute_url()).status_code == 200
    return len(queries)


def test_patient_page_query_count_does_not_grow_with_the_timeline(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    one_of_each(patient, coordinator.user)
    small = patient_page_queries(client, patient)
    for day in (10, 20):
        one_of_each(patient, coordinator.user, day=day)
    assert patient_page_queries(client, patient) == small


def test_patient_page_filters_the_timeline_by_kind(sign_in_as, coordinator, patient):
    one_of_each(patient, coordinator.user)
    response = sign_in_as(coordinator).get(patient.get_absolute_url(), {"kind": ["pam", "task"]})
    assert [e.kind for e in response.context["timeline"]] == ["task", "pam"]
    content = response.content.decode()
    assert 'data-kind="contact"' not in content
    assert content.count('class="app-timeline__item"') == 2
    assert "Show everything" in content


def test_safe_reverse_is_none_for_a_page_that_does_not_exist():
    assert safe_reverse("caseload:no_such_page", 1) is None
    assert safe_reverse("overview:patient_detail", 1) == "/patients/1/"
