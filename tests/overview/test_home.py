"""Each role's home page: what needs doing today (tasks due, new referrals, transfers of care to triage)."""

from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from caseload.models import CareEvent, Referral, ReferralType, Task
from caseload.services.care_events import care_event_record
from caseload.services.referrals import referral_create
from tests.factories import CaseloadEpisodeFactory, PatientFactory


def test_home_shows_tasks_due_today_or_overdue(sign_in_as, coordinator, patient):
    today = timezone.localdate()
    tasks = [(today - timedelta(days=2), None), (today, None), (today + timedelta(days=1), None)]
    tasks.append((today, timezone.now()))  # done: not due
    for due_on, done_at in tasks:
        Task.objects.create(
            patient=patient,
            owner=coordinator.user,
            due_on=due_on,
            title="Phone after discharge",
            done_at=done_at,
        )
    response = sign_in_as(coordinator).get(reverse("home"))
    assert (response.context["tasks_due"], response.context["tasks_overdue"]) == (2, 1)
    assert 'data-testid="tasks-due-count">2<' in response.content.decode()


def test_home_counts_new_referrals(sign_in_as, coordinator, patient):
    referral_create(
        patient=patient, referral_type=ReferralType.objects.get(name="Frailty / proactive care"),
        criteria_met_ids=[], source=Referral.Source.GP, referrer_name="Dr Ann Khan", reason="Two falls this month",
        urgency=Referral.Urgency.ROUTINE, received_on=date(2026, 11, 2), by=coordinator.user,
    )  # fmt: skip
    CaseloadEpisodeFactory(patient=PatientFactory(practice=patient.practice), coordinator=coordinator.user)
    response = sign_in_as(coordinator).get(reverse("home"))
    assert response.context["new_referrals"] == 1
    assert response.context["events_to_triage"] == 0


def test_home_counts_events_to_triage(sign_in_as, coordinator, patient):
    care_event_record(
        patient=patient,
        kind=CareEvent.Kind.AE_ATTENDANCE,
        occurred_at=timezone.now() - timedelta(days=3),
        provider="RCH",
        by=coordinator.user,
    )
    assert sign_in_as(coordinator).get(reverse("home")).context["events_to_triage"] == 1
