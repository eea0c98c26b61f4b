"""The patient's outcomes page: activation from the first PAM to the latest, the care plan's goals met
(a goal's date met, set in the plan editor), and feedback over time; linked from the patient page;
scoped (another practice's patient is a 404) and audited; a fixed number of queries."""

from datetime import date

import pytest
from django.urls import reverse

from careplans.models import Goal
from careplans.services.plans import care_plan_agree, care_plan_draft, care_plan_save
from caseload.services.feedback import feedback_record
from pcn.models import AuditEvent
from tests.careplans.plan_helpers import edit_post
from tests.conftest import page_queries, send_form
from tests.reporting.report_data import pam

pytestmark = pytest.mark.django_db


def outcomes_url(patient) -> str:
    return reverse("overview:patient_outcomes", args=[patient.pk])


def plan_with_goals(patient, by, goals):
    draft = care_plan_draft(patient=patient, by=by)
    care_plan_save(version=draft, data={}, lock_version=draft.lock_version, by=by, goals=goals)
    return care_plan_agree(version=draft, agreed_on=date(2026, 10, 1), agreed_how="in_person",
                           agreed_with="patient", by=by)  # fmt: skip


def story(patient, by, on, rating, **extra):
    return feedback_record(patient=patient, by=by, given_on=on, given_by="person", story=f"Story of {on}",
                           rating=rating, **extra)  # fmt: skip


def test_pam_goals_and_feedback(sign_in_as, coordinator, patient):
    by = coordinator.user
    pam(patient, by, date(2026, 3, 1), "45.0")  # level 1
    pam(patient, by, date(2026, 6, 1), "50.0")
    pam(patient, by, date(2026, 11, 1), "58.5")  # level 3
    plan_with_goals(patient, by, [
        {"goal": "Walk to the shop", "met_on": date(2026, 11, 2)},
        {"goal": "Garden again", "target_date": date(2027, 4, 1)},
        {"goal": "Sleep through", "met_on": date(2026, 10, 20)},
    ])  # fmt: skip
    story(patient, by, date(2026, 9, 1), 3)
    story(patient, by, date(2026, 11, 10), 5, is_good_news=True, consent_to_share=True)
    story(patient, by, date(2026, 10, 1), None)

    response = sign_in_as(coordinator).get(outcomes_url(patient))
    assert response.status_code == 200
    context = response.context
    assert (context["pam"]["first"].score, context["pam"]["latest"].score) == (45, 58.5)
    assert (context["pam"]["points"], context["pam"]["levels"]) == (13.5, 2)
    assert (context["goals_met"], len(context["goals"])) == (2, 3)
    assert [f.given_on for f in context["feedback"]] == [
        date(2026, 11, 10),
        date(2026, 10, 1),
        date(2026, 9, 1),
    ]
    assert (context["feedback_good_news"], context["feedback_rated"], context["feedback_mean_rating"]) == (
        1,
        2,
        4.0,
    )
    content = response.content.decode()
    assert "Up 13.5 points, up 2 levels (3 measures)" in content
    assert "2 of 3</strong> goals met (plan agreed 1 Oct 2026)" in content
    assert "3 recorded, 1 good news." in content
    assert "on average 4.0 out of 5 (2 answers; our own question, not a validated instrument)" in content
    assert content.count('data-testid="feedback-row"') == 3
    assert content.count(f"Recorded by {by}, ") == 3
    event = AuditEvent.objects.get(action="patient.outcomes.view")
    assert (event.user, list(event.patient_links.values_list("patient", flat=True))) == (by, [patient.pk])


def test_nothing_recorded_yet(sign_in_as, coordinator, patient):
    content = sign_in_as(coordinator).get(outcomes_url(patient)).content.decode()
    assert "No Patient Activation Measure recorded." in content
    assert "No care plan goals recorded yet." in content
    assert "No feedback or stories recorded." in content
    assert reverse("caseload:feedback_add", args=[patient.pk]) in content


def test_linked_from_the_patient_page(sign_in_as, coordinator, patient):
    assert outcomes_url(patient) in sign_in_as(coordinator).get(patient.get_absolute_url()).content.decode()


def test_another_practices_patient_is_a_404_and_not_audited(sign_in_as, outsider, patient):
    assert sign_in_as(outsider).get(outcomes_url(patient)).status_code == 404
    assert not AuditEvent.objects.filter(action="patient.outcomes.view").exists()


def test_a_goal_is_marked_met_in_the_plan_editor(sign_in_as, coordinator, patient):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    client = sign_in_as(coordinator)
    url = reverse("careplans:edit", args=[draft.pk])
    assert send_form(client, url, edit_post(draft, **{"goals-0-met_on": "2026-11-02"})).status_code == 302
    assert list(Goal.objects.values_list("goal", "met_on")) == [("Walk to the shop", date(2026, 11, 2))]
    assert sign_in_as(coordinator).get(outcomes_url(patient)).context["goals_met"] == 1


def test_the_query_count_does_not_grow(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    by = coordinator.user
    pam(patient, by, date(2026, 3, 1), "45.0")
    pam(patient, by, date(2026, 6, 1), "50.0")
    plan_with_goals(patient, by, [{"goal": "Walk"}])
    story(patient, by, date(2026, 9, 1), 3)
    few = page_queries(client, outcomes_url(patient))
    for day in range(1, 10):
        pam(patient, by, date(2026, 7, day), "52.0")
        story(patient, by, date(2026, 10, day), 4)
    plan_with_goals(patient, by, [{"goal": f"Goal {n}"} for n in range(6)])
    assert page_queries(client, outcomes_url(patient)) == few
