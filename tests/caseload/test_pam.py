"""Patient Activation Measure: levels from the score, the form's checks, the re-measure task, the
coding-export row, and the patient page's history, chart and meaningful change."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from caseload.forms.pam import ActivationForm
from caseload.models import ActivationMeasure, CodingEntry, Task, pam_level
from caseload.services.pam import activation_record, pam_change
from tests.conftest import assert_error_summary, send_form
from tests.factories import CaseloadEpisodeFactory

pytestmark = pytest.mark.django_db

BOUNDARIES = [
    ("0", 1), ("47.0", 1), ("47.1", 2), ("55.1", 2), ("55.2", 3), ("67.0", 3), ("67.1", 4), ("100", 4),
]  # fmt: skip


@pytest.mark.parametrize(("score", "level"), BOUNDARIES)
def test_pam_level_boundaries(score, level):
    assert pam_level(Decimal(score)) == level


@pytest.mark.parametrize(("score", "level"), BOUNDARIES)
def test_recorded_measure_stores_the_computed_level(patient, coordinator, score, level):
    measure = activation_record(
        patient=patient, score=Decimal(score), measured_on=date(2025, 3, 10), by=coordinator.user
    )
    measure.refresh_from_db()
    assert (measure.score, measure.level) == (Decimal(score), level)


@pytest.mark.parametrize(
    ("score", "error"),
    [
        ("-0.1", "The PAM score must be 0 or more"),
        ("100.1", "The PAM score must be 100 or less"),
        ("101", "The PAM score must be 100 or less"),
        ("55.25", "Give the PAM score to one decimal place at most"),
        ("high", "The PAM score must be a number, like 55.2"),
        ("", "Enter the PAM score"),
    ],
)
def test_form_refuses_scores_out_of_range(score, error):
    form = ActivationForm({"score": score, "measured_on": "2025-03-10"})
    assert not form.is_valid()
    assert form.errors["score"] == [error]


def test_form_accepts_both_ends_of_the_range():
    assert ActivationForm({"score": "0", "measured_on": "2025-03-10"}).is_valid()
    assert ActivationForm({"score": "100.0", "measured_on": "2025-03-10"}).is_valid()


def test_form_refuses_a_date_in_the_future():
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = ActivationForm({"score": "50", "measured_on": tomorrow.isoformat()})
    assert not form.is_valid()
    assert form.errors["measured_on"] == ["The date measured cannot be in the future"]


def test_remeasure_task_is_due_six_months_later_for_the_episode_coordinator(
    patient, coordinator, clinical_lead
):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    activation_record(
        patient=patient, score=Decimal("50.0"), measured_on=date(2025, 3, 10), by=clinical_lead.user
    )
    task = Task.objects.get(patient=patient, kind=Task.Kind.PAM_REMEASURE)
    assert (task.due_on, task.owner, task.done_at, task.created_by) == (
        date(2025, 9, 10), coordinator.user, None, clinical_lead.user,
    )  # fmt: skip


def test_remeasure_task_goes_to_the_measurer_without_an_open_episode(patient, coordinator, settings):
    settings.PAM_REMEASURE_MONTHS = 3
    activation_record(
        patient=patient, score=Decimal("50.0"), measured_on=date(2024, 11, 30), by=coordinator.user
    )
    task = Task.objects.get(patient=patient, kind=Task.Kind.PAM_REMEASURE)
    assert (task.due_on, task.owner) == (date(2025, 2, 28), coordinator.user)


def test_a_new_measure_completes_the_earlier_remeasure_task(patient, coordinator):
    activation_record(
        patient=patient, score=Decimal("50.0"), measured_on=date(2025, 3, 10), by=coordinator.user
    )
    first = Task.objects.get(patient=patient, kind=Task.Kind.PAM_REMEASURE)
    activation_record(
        patient=patient, score=Decimal("54.0"), measured_on=date(2025, 9, 1), by=coordinator.user
    )
    first.refresh_from_db()
    assert first.done_at is not None
    assert first.done_by == coordinator.user
    open_tasks = list(Task.objects.open().filter(patient=patient).values_list("kind", "due_on"))
    assert open_tasks == [(Task.Kind.PAM_REMEASURE, date(2026, 3, 1))]


def test_coding_entry_has_the_pam_id_and_the_level_in_the_term(patient, coordinator):
    measure = activation_record(
        patient=patient, score=Decimal("60.5"), measured_on=date(2025, 3, 10), by=coordinator.user
    )
    assert list(CodingEntry.objects.values_list("snomed_id", "term", "source", "coded_on", "patient")) == [
        (
            "962851000000103",
            "Patient Activation Measure Level 3",
            f"pam:{measure.pk}",
            date(2025, 3, 10),
            patient.pk,
        )
    ]


def test_pam_add_view_records_and_returns_to_the_patient(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:pam_add", args=[patient.pk])
    response = send_form(client, url, {"score": "55.2", "measured_on": "2025-03-10"})
    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url()
    assert list(ActivationMeasure.objects.values_list("score", "level", "measured_by")) == [
        (Decimal("55.2"), 3, coordinator.user.pk)
    ]


def test_pam_add_view_refuses_out_of_range_with_the_error_summary(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("caseload:pam_add", args=[patient.pk]), {"score": "100.1", "measured_on": "2025-03-10"}
    )
    assert_error_summary(response, "The PAM score must be 100 or less")
    assert ActivationMeasure.objects.count() == 0
    assert Task.objects.count() == 0
    assert CodingEntry.objects.count() == 0


def test_outsider_cannot_record_pam(sign_in_as, outsider, patient):
    client = sign_in_as(outsider)
    response = client.post(
        reverse("caseload:pam_add", args=[patient.pk]), {"score": "50", "measured_on": "2025-03-10"}
    )
    assert response.status_code == 404
    assert ActivationMeasure.objects.count() == 0


def _measures(*pairs):
    return [ActivationMeasure(score=Decimal(score), measured_on=day) for day, score in pairs]


def test_meaningful_change_is_a_gain_of_three_points_within_twelve_months():
    change = pam_change(_measures((date(2025, 1, 10), "50.0"), (date(2025, 7, 10), "53.0")))
    assert (change.points, change.since, change.meaningful, change.improved) == (
        Decimal("3.0"), date(2025, 1, 10), True, True,
    )  # fmt: skip
    small = pam_change(_measures((date(2025, 1, 10), "50.0"), (date(2025, 7, 10), "52.9")))
    assert (small.points, small.meaningful) == (Decimal("2.9"), False)
    fallen = pam_change(_measures((date(2025, 1, 10), "50.0"), (date(2025, 7, 10), "46.0")))
    assert (fallen.meaningful, fallen.improved) == (True, False)


def test_no_change_without_an_earlier_measure_in_the_twelve_months():
    assert pam_change(_measures((date(2025, 1, 10), "50.0"))) is None
    assert pam_change(_measures((date(2024, 1, 9), "40.0"), (date(2025, 1, 10), "50.0"))) is None


def test_patient_page_shows_the_history_chart_and_change(sign_in_as, coordinator, patient):
    for day, score in ((date(2025, 1, 10), "48.0"), (date(2025, 4, 10), "52.5"), (date(2025, 7, 10), "56.0")):
        activation_record(patient=patient, score=Decimal(score), measured_on=day, by=coordinator.user)
    content = sign_in_as(coordinator).get(patient.get_absolute_url()).content.decode()
    assert 'role="img"' in content
    assert '<title id="pam-chart-title">Patient Activation Measure score over time</title>' in content
    assert "10 Jan 2025: 48.0 (level 2); 10 Apr 2025: 52.5 (level 2); 10 Jul 2025: 56.0 (level 3)" in content
    assert "Meaningful improvement" in content
    assert "Up 8.0 points since 10 Jan 2025" in content
    assert 'style="' not in content.split('data-testid="pam-chart"')[1].split("</svg>")[0]
