"""The patient's timeline: every kind, newest first, filtered by kind, one query per kind."""

from datetime import date

import pytest

from caseload.models import CareEvent, Contact, ReferralType, Service, Task
from overview.timeline import SOURCES, patient_timeline, safe_reverse
from tests.conftest import page_queries
from tests.factories import PatientFactory
from tests.reporting.report_data import at, care_event, contact, pam, referral, signpost, stamp, support

pytestmark = pytest.mark.django_db

KINDS = ["care_event", "referral", "contact", "pam", "signposting", "support", "task"]


def one_of_each(patient, user, day: int = 2):
    """One row of every kind, on consecutive days of January 2025 from `day` (care event first)."""
    on = [date(2025, 1, day + n) for n in range(7)]
    care_event(
        patient, CareEvent.Kind.DISCHARGE, at(on[0].isoformat(), 9), provider=f"General Hospital {day}"
    )
    referral(patient, user, ReferralType.objects.get_or_create(name="Frailty")[0], on[1])
    contact(patient, user, on[2].isoformat(), interventions=["proactive_care"], duration_minutes=15)
    pam(patient, user, on[3], "50")
    age_uk, _ = Service.objects.get_or_create(name="Age UK", defaults={"category": Service.Category.OTHER})
    signpost(patient, user, age_uk, on[4])
    support(patient, user, "benefits", on[5])
    task = Task.objects.create(patient=patient, title="Review", owner=user, due_on=date(2025, 2, 1))
    stamp(task, created_at=at(on[6].isoformat(), 12))


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
    first = pam(patient, user, date(2025, 1, 5), "40")
    second = pam(patient, user, date(2025, 1, 5), "60")
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
    # tests/careplans/test_decision_aids.py
    assert sorted(SOURCES) == sorted(
        [*KINDS, "mdt", "care_plan", "appointment", "invitation", "decision_aid"]
    )


def test_patient_page_query_count_does_not_grow_with_the_timeline(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    one_of_each(patient, coordinator.user)
    small = page_queries(client, patient.get_absolute_url())
    for day in (10, 20):
        one_of_each(patient, coordinator.user, day=day)
    assert page_queries(client, patient.get_absolute_url()) == small


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
