"""The patient page: the open episode, the open tasks, its fixed query count (the timeline: test_timeline.py;
the people around the person: tests/caseload/test_people_around.py)."""

from datetime import date

from django.utils import timezone

from careplans.models import DecisionAid, DecisionAidOffer
from caseload.models import PersonAround, Task
from tests.factories import CaseloadEpisodeFactory

# The session, user, device and roles (4); the patient, its risk snapshots and episodes (3); the audit
# event and its patient (2); PAM and open tasks (2); one query per timeline kind and one more for care
# plan reviews (14); the people around the person (1); the recall section (3); the EHCH badge (1); the
# open safeguarding concerns for the banner (1); the header's memberships (1); the session saved (3, with
# its savepoint).
PATIENT_PAGE_QUERIES = 35


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


def people_and_decisions(patient, user, n: int) -> None:
    aid, _ = DecisionAid.objects.get_or_create(
        title="Knee aid", defaults={"url": "https://aids.example.org/knee", "decision": "Knee replacement"}
    )
    for i in range(n):
        PersonAround.objects.create(
            patient=patient, name=f"Friend {i}", relationship="friend", created_by=user
        )
        DecisionAidOffer.objects.create(
            patient=patient, aid=aid, decision="Knee", offered_on=date(2025, 3, 1 + i), offered_by=user
        )


def test_patient_page_query_count_is_fixed_whatever_the_people_and_decision_aids(
    sign_in_as, coordinator, patient, django_assert_num_queries
):
    client = sign_in_as(coordinator)
    with django_assert_num_queries(PATIENT_PAGE_QUERIES):
        assert client.get(patient.get_absolute_url()).status_code == 200
    people_and_decisions(patient, coordinator.user, 6)
    with django_assert_num_queries(PATIENT_PAGE_QUERIES):
        response = client.get(patient.get_absolute_url())
    assert len(response.context["people_around"]) == 6
    assert [e.kind for e in response.context["timeline"]] == ["decision_aid"] * 6
