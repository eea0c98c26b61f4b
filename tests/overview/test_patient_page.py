"""The patient page: the open episode and the open tasks (the timeline: test_timeline.py)."""

from datetime import date

from django.utils import timezone

from caseload.models import Task
from tests.factories import CaseloadEpisodeFactory


def test_patient_page_shows_the_open_episode(sign_in_as, coordinator, patient):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user, reason_detail="recent falls")
    response = sign_in_as(coordinator).get(patient.get_absolute_url())
    assert (
        b"Cara Coordinator</strong>&#x27;s caseload" in response.content
        or b"Cara Coordinator</strong>'s caseload" in response.content
    )
    assert b"recent falls" in response.content


def test_patient_page_lists_open_tasks(sign_in_as, coordinator, patient):
    user = coordinator.user
    Task.objects.create(patient=patient, owner=user, due_on=date(2025, 3, 10), title="Open one")
    Task.objects.create(
        patient=patient, owner=user, due_on=date(2025, 3, 9), title="Closed one", done_at=timezone.now()
    )
    response = sign_in_as(coordinator).get(patient.get_absolute_url())
    assert [t.title for t in response.context["open_tasks"]] == ["Open one"]
