"""Each role's home page: what needs doing today (tasks due, new referrals, transfers of care to triage)."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
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


# --- The dashboard on the home page (reporting:dashboard) ---------------------------------------------


def test_a_manager_sees_last_month_s_headline_figures_and_the_dashboard_link(sign_in_as, manager, patient):
    with time_machine.travel("2026-12-03 10:00 +0000", tick=False):
        CaseloadEpisodeFactory(patient=patient, opened_at=datetime(2026, 11, 4, 10, tzinfo=UTC))
        CaseloadEpisodeFactory(
            patient=PatientFactory(practice=patient.practice), opened_at=datetime(2026, 10, 4, 10, tzinfo=UTC)
        )
        response = sign_in_as(manager).get(reverse("home"))
    text = response.content.decode()
    strip = re.search(r'data-testid="strip-caseload-new">(.*?)</li>', text, re.S).group(1)
    assert "New to a caseload" in strip and ">1<" in strip and "as in October" in strip
    size = re.search(r'data-testid="strip-caseload-size">(.*?)</li>', text, re.S).group(1)
    assert ">2<" in size and "up 1 on October" in size
    assert "Headline figures, November 2026" in text
    assert f'href="{reverse("reporting:dashboard")}"' in text


def test_a_coordinator_and_an_administrator_get_the_link_without_the_figures(
    sign_in_as, client, coordinator, administrator
):
    for person in (coordinator, administrator):
        text = sign_in_as(person).get(reverse("home")).content.decode()
        assert 'data-testid="dashboard-link"' in text
        assert 'data-testid="headline-strip"' not in text
        client.logout()


@pytest.mark.parametrize("rows", [5, 50])
def test_the_manager_s_home_page_query_count_does_not_depend_on_the_data(
    sign_in_as, manager, practice_a, rows, django_assert_max_num_queries
):
    for n in range(rows):
        episode = CaseloadEpisodeFactory(
            patient=PatientFactory(practice=practice_a), opened_at=timezone.now() - timedelta(days=n)
        )
        care_event_record(
            patient=episode.patient, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
            occurred_at=timezone.now() - timedelta(days=n), provider="Beech House", by=manager.user,
        )  # fmt: skip
    client = sign_in_as(manager)
    with django_assert_max_num_queries(HOME_QUERIES_FOR_A_MANAGER):
        assert client.get(reverse("home")).status_code == 200


# The manager's home: the session, user, two-factor device and roles (4), the patient figures (3), the
# practice figures (1), the headline strip (7: one per figure, two for EHCH), the header's memberships
# (1), the session saved (3).
HOME_QUERIES_FOR_A_MANAGER = 19
