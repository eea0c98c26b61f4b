"""Tasks: creating, completing (idempotent), My tasks (overdue first, fixed query count, whose),
the htmx "Done" button, and the home page's "Tasks due" card."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from caseload.models import Task
from caseload.services.tasks import task_complete, task_create
from pcn.models import AuditEvent
from tests.conftest import page_queries
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def make_task(patient, owner, due_on, title="Phone after discharge", **extra):
    return Task.objects.create(patient=patient, owner=owner, due_on=due_on, title=title, **extra)


def test_task_create_audits(patient, coordinator):
    task = task_create(
        patient=patient,
        title="Book review",
        owner=coordinator.user,
        due_on=date(2025, 3, 10),
        by=coordinator.user,
    )
    assert (task.kind, task.created_by, task.done_at) == ("general", coordinator.user, None)
    assert AuditEvent.objects.filter(action="task.create").count() == 1


def test_task_complete_is_idempotent(patient, coordinator, clinical_lead):
    task = make_task(patient, coordinator.user, date(2025, 3, 10))
    task_complete(task=task, by=coordinator.user)
    task.refresh_from_db()
    done_at = task.done_at
    assert done_at is not None
    task_complete(task=task, by=clinical_lead.user)
    task.refresh_from_db()
    assert (task.done_at, task.done_by) == (done_at, coordinator.user)
    assert AuditEvent.objects.filter(action="task.complete").count() == 1


def test_my_tasks_lists_overdue_first_then_by_due_date(sign_in_as, coordinator, clinical_lead, patient):
    today = timezone.localdate()
    make_task(patient, coordinator.user, today + timedelta(days=7), "Next week")
    make_task(patient, coordinator.user, today, "Today")
    make_task(patient, coordinator.user, today - timedelta(days=1), "Yesterday")
    make_task(patient, coordinator.user, today - timedelta(days=5), "Five days ago")
    make_task(patient, coordinator.user, today - timedelta(days=9), "Done already", done_at=timezone.now())
    make_task(patient, clinical_lead.user, today - timedelta(days=9), "Someone else's")
    response = sign_in_as(coordinator).get(reverse("caseload:my_tasks"))
    assert [t.title for t in response.context["tasks"]] == [
        "Five days ago",
        "Yesterday",
        "Today",
        "Next week",
    ]
    content = response.content.decode()
    assert content.count("Overdue</strong>") == 2


def test_my_tasks_can_include_done_tasks_last(sign_in_as, coordinator, patient):
    today = timezone.localdate()
    make_task(patient, coordinator.user, today - timedelta(days=9), "Done already", done_at=timezone.now())
    make_task(patient, coordinator.user, today + timedelta(days=1), "Tomorrow")
    response = sign_in_as(coordinator).get(reverse("caseload:my_tasks"), {"include_done": "on"})
    assert [t.title for t in response.context["tasks"]] == ["Tomorrow", "Done already"]


def test_my_tasks_query_count_does_not_grow(sign_in_as, coordinator, practice_a):
    client = sign_in_as(coordinator)
    make_task(PatientFactory(practice=practice_a), coordinator.user, date(2025, 3, 10))
    one = page_queries(client, reverse("caseload:my_tasks"))
    for _ in range(29):
        make_task(PatientFactory(practice=practice_a), coordinator.user, date(2025, 3, 10))
    thirty = page_queries(client, reverse("caseload:my_tasks"))
    # session, user, two-factor device, memberships, count, rows, audit event + its patients, the
    # header's memberships, and the session's idle-timeout update (a savepoint, update, release).
    assert (one, thirty) == (12, 12)


def test_lead_can_view_a_coordinators_tasks(sign_in_as, coordinator, clinical_lead, outsider, patient):
    make_task(patient, coordinator.user, date(2025, 3, 10), "Cara's task")
    client = sign_in_as(clinical_lead)
    response = client.get(reverse("caseload:my_tasks"), {"owner": coordinator.user.pk})
    assert [t.title for t in response.context["tasks"]] == ["Cara's task"]
    assert response.context["owner"] == coordinator.user
    # Someone outside the lead's practices is not a choice: the lead sees their own (none).
    response = client.get(reverse("caseload:my_tasks"), {"owner": outsider.user.pk})
    assert (response.context["owner"], response.context["tasks"]) == (clinical_lead.user, [])


def test_coordinator_cannot_choose_another_owner(sign_in_as, coordinator, clinical_lead, patient):
    make_task(patient, clinical_lead.user, date(2025, 3, 10), "Liam's task")
    response = sign_in_as(coordinator).get(reverse("caseload:my_tasks"), {"owner": clinical_lead.user.pk})
    assert (response.context["owner"], response.context["tasks"]) == (coordinator.user, [])


def test_other_practices_tasks_never_show(sign_in_as, coordinator, practice_b):
    make_task(PatientFactory(practice=practice_b), coordinator.user, date(2025, 3, 10))
    assert sign_in_as(coordinator).get(reverse("caseload:my_tasks")).context["tasks"] == []


def test_done_button_with_htmx_returns_the_row(sign_in_as, coordinator, patient):
    task = make_task(patient, coordinator.user, date(2025, 3, 10))
    response = sign_in_as(coordinator).post(
        reverse("caseload:task_done", args=[task.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.strip().startswith(f'<tr class="nhsuk-table__row" id="task-{task.pk}"')
    assert 'data-testid="task-done"' in content
    task.refresh_from_db()
    assert task.done_by == coordinator.user


def test_done_button_without_htmx_goes_back(sign_in_as, coordinator, patient):
    task = make_task(patient, coordinator.user, date(2025, 3, 10))
    client = sign_in_as(coordinator)
    back = reverse("caseload:my_tasks") + "?include_done=on"
    response = client.post(reverse("caseload:task_done", args=[task.pk]), {"next": back})
    assert (response.status_code, response["Location"]) == (302, back)
    response = client.post(reverse("caseload:task_done", args=[task.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("caseload:my_tasks")


def test_done_is_post_only(sign_in_as, coordinator, patient):
    task = make_task(patient, coordinator.user, date(2025, 3, 10))
    assert sign_in_as(coordinator).get(reverse("caseload:task_done", args=[task.pk])).status_code == 405
    task.refresh_from_db()
    assert task.done_at is None


def test_outsider_cannot_complete_a_task(sign_in_as, outsider, coordinator, patient):
    task = make_task(patient, coordinator.user, date(2025, 3, 10))
    assert sign_in_as(outsider).post(reverse("caseload:task_done", args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.done_at is None


def test_task_add_view(sign_in_as, coordinator, clinical_lead, outsider, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:task_add", args=[patient.pk])
    assert client.get(url).status_code == 200
    data = {"title": "Chase the falls referral", "owner": clinical_lead.user.pk, "due_on": "2025-03-10"}
    response = client.post(url, data)
    assert (response.status_code, response["Location"]) == (302, patient.get_absolute_url())
    assert list(Task.objects.values_list("title", "owner", "due_on", "created_by")) == [
        ("Chase the falls referral", clinical_lead.user.pk, date(2025, 3, 10), coordinator.user.pk)
    ]
    response = client.post(url, data | {"owner": outsider.user.pk, "title": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "title": ["Enter what needs doing"],
        "owner": ["Select a valid choice. That choice is not one of the available choices."],
    }
    assert "nhsuk-error-summary" in response.content.decode()
    assert Task.objects.count() == 1
