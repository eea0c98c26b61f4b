"""Actions: closing them, My actions, and the daily chase (interval and escalation, frozen clock)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mdt.models import Action, ActionChase
from mdt.services.actions import action_cancel, action_complete, action_create
from mdt.services.chasing import actions_chase
from mdt.tasks import actions_chase_task
from tests.conftest import send_form
from tests.factories import PatientFactory
from tests.mdt.minutes_fixtures import add_external, add_item

pytestmark = pytest.mark.django_db

DUE = date(2025, 3, 11)


@pytest.fixture
def action(item, coordinator):
    return action_create(
        item=item,
        what="Ask the district nurse to review",
        due_on=DUE,
        owner_user=coordinator.user,
        by=coordinator.user,
    )


@pytest.fixture(autouse=True)
def chase_settings(settings):
    settings.MDT_CHASE_INTERVAL_DAYS = 7
    settings.MDT_CHASE_ESCALATE_AFTER = 3


def chase_on(day: date) -> int:
    with time_machine.travel(datetime(day.year, day.month, day.day, 7, 30, tzinfo=UTC), tick=False):
        return actions_chase(today=timezone.localdate())


# --- Closing ----------------------------------------------------------------------------------------


def test_done_needs_a_note_and_happens_once(action, coordinator):
    with pytest.raises(ValidationError):
        action_complete(action=action, note="  ", by=coordinator.user)
    assert Action.objects.get(pk=action.pk).status == Action.Status.OPEN
    action_complete(action=action, note="Reviewed on 10 March", by=coordinator.user)
    action.refresh_from_db()
    assert (action.status, action.closed_note, action.closed_by) == (
        "done",
        "Reviewed on 10 March",
        coordinator.user,
    )
    with pytest.raises(ValidationError) as refusal:
        action_cancel(action=action, reason="Changed mind", by=coordinator.user)
    assert refusal.value.code == "closed"
    action.refresh_from_db()
    assert (action.status, action.closed_note) == ("done", "Reviewed on 10 March")


def test_cancel_with_a_reason(action, coordinator):
    action_cancel(action=action, reason="Patient moved away", by=coordinator.user)
    action.refresh_from_db()
    assert (action.status, action.closed_note) == ("cancelled", "Patient moved away")


def test_an_action_has_one_owner(item, coordinator, meeting):
    with pytest.raises(ValidationError):
        action_create(item=item, what="Nobody", due_on=DUE, by=coordinator.user)
    with pytest.raises(ValidationError):
        action_create(
            item=item,
            what="Both",
            due_on=DUE,
            owner_user=coordinator.user,
            owner_external=add_external(meeting),
            by=coordinator.user,
        )
    assert Action.objects.count() == 0


def test_close_view_confirms_then_closes(sign_in_as, coordinator, action):
    client = sign_in_as(coordinator)
    url = reverse("mdt:action_close", args=[action.pk])
    response = send_form(client, url, {"decision": "cancel", "note": "No longer needed"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.status, action.closed_note) == ("cancelled", "No longer needed")


# --- Chasing ----------------------------------------------------------------------------------------


def test_not_chased_before_it_is_overdue(action):
    assert chase_on(DUE) == 0
    assert len(mail.outbox) == 0


def test_first_chase_then_not_again_within_the_interval_then_again(action, coordinator):
    assert chase_on(DUE + timedelta(days=1)) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["cara@example.test"]
    assert message.cc == []
    assert "Patient: G.H." in message.body
    assert "Ask the district nurse to review" in message.body
    assert "Hopper" not in message.body and "Grace" not in message.body
    assert action.item.patient.nhs_number not in message.body

    assert chase_on(DUE + timedelta(days=1)) == 0  # the same day again
    assert chase_on(DUE + timedelta(days=7)) == 0  # 6 days later
    assert len(mail.outbox) == 1
    assert chase_on(DUE + timedelta(days=8)) == 1  # 7 days later
    assert len(mail.outbox) == 2
    assert list(action.chases.values_list("sent_on", "escalated")) == [
        (DUE + timedelta(days=1), False),
        (DUE + timedelta(days=8), False),
    ]


def test_escalates_to_the_chair_after_three_chases(action, clinical_lead):
    days = [DUE + timedelta(days=1 + 7 * n) for n in range(5)]
    for day in days:
        assert chase_on(day) == 1
    assert len(mail.outbox) == 5
    assert [m.cc for m in mail.outbox] == [[], [], [], ["liam@example.test"], ["liam@example.test"]]
    assert list(action.chases.values_list("escalated", flat=True)) == [False, False, False, True, True]


def test_external_owner_is_chased_by_email(item, meeting, coordinator):
    external = add_external(meeting)
    action_create(
        item=item, what="Send the discharge letter", due_on=DUE, owner_external=external, by=coordinator.user
    )
    assert chase_on(DUE + timedelta(days=1)) == 1
    assert mail.outbox[0].to == ["dn@community.example.test"]
    assert ActionChase.objects.get().to_email == "dn@community.example.test"


def test_closed_actions_are_not_chased(action, coordinator):
    action_complete(action=action, note="Done", by=coordinator.user)
    assert chase_on(DUE + timedelta(days=30)) == 0
    assert len(mail.outbox) == 0


def test_interval_is_a_setting(action, settings):
    settings.MDT_CHASE_INTERVAL_DAYS = 2
    assert chase_on(DUE + timedelta(days=1)) == 1
    assert chase_on(DUE + timedelta(days=2)) == 0
    assert chase_on(DUE + timedelta(days=3)) == 1
    assert len(mail.outbox) == 2


def test_the_task_chases_today(action):
    with time_machine.travel(datetime(2025, 3, 12, 7, 30, tzinfo=UTC), tick=False):
        actions_chase_task()
        actions_chase_task()
    assert len(mail.outbox) == 1


def test_action_page_shows_the_chase_history(sign_in_as, coordinator, action):
    chase_on(DUE + timedelta(days=1))
    response = sign_in_as(coordinator).get(reverse("mdt:action_detail", args=[action.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="chase-row"') == 1


# --- My actions -------------------------------------------------------------------------------------


@time_machine.travel(date(2025, 3, 20), tick=False)
def test_my_actions_overdue_first_with_a_fixed_query_count(
    sign_in_as, coordinator, clinical_lead, meeting, practice_a, django_assert_num_queries
):
    def make(n: int, due: date, owner):
        for _ in range(n):
            item = add_item(meeting, PatientFactory(practice=practice_a))
            action_create(item=item, what=f"Due {due}", due_on=due, owner_user=owner, by=coordinator.user)

    make(2, date(2025, 4, 1), coordinator.user)
    make(2, date(2025, 3, 1), coordinator.user)
    make(1, date(2025, 3, 1), clinical_lead.user)  # someone else's
    client = sign_in_as(coordinator)
    url = reverse("mdt:my_actions")
    client.get(url)  # warm the session
    with django_assert_num_queries(13) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert [a.what for a in response.context["actions"]] == ["Due 2025-03-01"] * 2 + ["Due 2025-04-01"] * 2
    baseline = len(captured.captured_queries)
    make(10, date(2025, 3, 2), coordinator.user)
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert len(response.context["actions"]) == 14
    assert client.get(url, {"meeting": meeting.pk}).status_code == 200
