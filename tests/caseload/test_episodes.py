"""Taking patients onto a caseload, transferring and closing episodes (My caseload: tests/overview)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from caseload.models import CaseloadEpisode
from caseload.services.episodes import episode_close, episode_transfer, episodes_open
from pcn.models import AuditEvent
from tests.factories import CaseloadEpisodeFactory, PatientFactory


def test_bulk_add_from_find_patients(sign_in_as, coordinator, practice_a):
    patients = PatientFactory.create_batch(3, practice=practice_a)
    client = sign_in_as(coordinator)
    ids = [p.pk for p in patients]

    form_page = client.post(reverse("caseload:episode_add"), {"patient": ids})
    assert form_page.status_code == 200
    assert form_page.context["form"].fields["coordinator"].initial == coordinator.user.pk
    done = client.post(
        reverse("caseload:episode_add"),
        {
            "patient": ids,
            "coordinator": coordinator.user.pk,
            "reason": "risk_list",
            "reason_detail": "top 2%",
        },
    )

    assert done.status_code == 302
    assert done["Location"] == f"{reverse('overview:my_caseload')}?coordinator={coordinator.user.pk}"
    episodes = CaseloadEpisode.objects.filter(patient__in=patients)
    assert sorted(
        episodes.values_list("patient_id", "coordinator_id", "status", "reason", "reason_detail")
    ) == [(pk, coordinator.user.pk, "open", "risk_list", "top 2%") for pk in sorted(ids)]
    event = AuditEvent.objects.filter(action="caseload.open").get()
    assert set(event.patients.values_list("pk", flat=True)) == set(ids)


def test_adding_requires_a_coordinator_and_a_reason(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    response = client.post(reverse("caseload:episode_add"), {"patient": [patient.pk], "reason": ""})
    assert response.context["form"].errors == {
        "coordinator": ["Choose whose caseload to add them to"],
        "reason": ["Select why they are being added"],
    }
    assert CaseloadEpisode.objects.count() == 0


def test_someone_already_on_a_caseload_is_skipped_not_duplicated(coordinator, second_coordinator, practice_a):
    on_already, new = PatientFactory.create_batch(2, practice=practice_a)
    CaseloadEpisodeFactory(patient=on_already, coordinator=second_coordinator.user)

    opened, skipped = episodes_open(
        patients=[on_already, new], coordinator=coordinator.user, reason="referral", by=coordinator.user
    )

    assert [e.patient for e in opened] == [new]
    assert skipped == [on_already]
    assert CaseloadEpisode.objects.get(patient=on_already).coordinator == second_coordinator.user


def test_a_caseload_belongs_to_a_coordinator_at_the_patients_practice(
    coordinator, clinical_lead, outsider, patient
):
    for wrong in (clinical_lead.user, outsider.user):
        with pytest.raises(ValidationError, match="is not a care coordinator at Riverside Surgery"):
            episodes_open(patients=[patient], coordinator=wrong, reason="other", by=coordinator.user)
    assert CaseloadEpisode.objects.count() == 0


def test_patients_of_other_practices_cannot_be_added(sign_in_as, outsider, patient):
    response = sign_in_as(outsider).post(
        reverse("caseload:episode_add"),
        {"patient": [patient.pk], "coordinator": outsider.user.pk, "reason": "other"},
    )
    assert response.status_code == 302
    assert CaseloadEpisode.objects.count() == 0


def test_transfer_between_coordinators(sign_in_as, coordinator, second_coordinator, patient):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    client = sign_in_as(coordinator)

    response = client.post(
        reverse("caseload:episode_transfer", args=[episode.pk]), {"coordinator": second_coordinator.user.pk}
    )

    assert response["Location"] == patient.get_absolute_url()
    episode.refresh_from_db()
    assert episode.coordinator == second_coordinator.user
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.detail["from_id"], event.detail["to_id"]) == (
        "caseload.transfer", coordinator.user.pk, second_coordinator.user.pk,
    )  # fmt: skip


def test_transfer_refuses_someone_who_is_not_a_coordinator_there(coordinator, clinical_lead, patient):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    with pytest.raises(ValidationError):
        episode_transfer(episode=episode, to=clinical_lead.user, by=coordinator.user)
    episode.refresh_from_db()
    assert episode.coordinator == coordinator.user


def test_close_asks_for_a_reason_then_closes(sign_in_as, coordinator, patient):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    client = sign_in_as(coordinator)
    url = reverse("caseload:episode_close", args=[episode.pk])

    refused = client.post(url, {})
    assert refused.context["form"].errors == {"reason": ["Select why the episode is ending"]}
    episode.refresh_from_db()
    assert episode.is_open

    closed = client.post(url, {"reason": "goals_met", "note": "Walking again"})
    assert closed["Location"] == patient.get_absolute_url()
    episode.refresh_from_db()
    assert (episode.status, episode.close_reason, episode.close_note, episode.closed_by) == (
        "closed", "goals_met", "Walking again", coordinator.user,
    )  # fmt: skip
    assert episode.closed_at is not None
    # The patient can be taken on again later.
    episodes_open(patients=[patient], coordinator=coordinator.user, reason="referral", by=coordinator.user)
    assert CaseloadEpisode.objects.filter(patient=patient).count() == 2


def test_closing_twice_is_refused(coordinator, patient):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    episode_close(episode=episode, reason="died", by=coordinator.user)
    with pytest.raises(ValidationError, match="already closed"):
        episode_close(episode=episode, reason="other", by=coordinator.user)
