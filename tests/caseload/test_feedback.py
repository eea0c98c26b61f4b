"""Feedback and stories: recorded and changed from the patient page, from the person, someone around
them (kept by name if they are removed) or another named person; an optional rating on our own
question; good news offered only to an MDT of the person's practice; scoped and audited."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from caseload.models import Feedback
from caseload.services.feedback import feedback_record
from caseload.services.people_around import person_around_add, person_around_remove
from mdt.models import MeetingSeries
from overview.timeline import patient_timeline
from pcn.models import AuditEvent
from tests.conftest import assert_error_summary, audit_actions, send_form
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def series(practice_a, clinical_lead):
    made = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=1, start_time="13:00", chair=clinical_lead.user
    )
    made.practices.add(practice_a)
    return made


def form_data(**changes) -> dict:
    data = {
        "given_on": "2026-11-20", "given_by": "person", "story": "Having one person to call helps.",
        "rating": "4", "consent_to_share": "on",
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_record_from_the_patient_page(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    assert (
        reverse("caseload:feedback_add", args=[patient.pk])
        in client.get(patient.get_absolute_url()).content.decode()
    )
    response = send_form(client, reverse("caseload:feedback_add", args=[patient.pk]), form_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("overview:patient_outcomes", args=[patient.pk]) + "#feedback"
    feedback = Feedback.objects.get()
    assert (feedback.patient, feedback.given_on, feedback.given_by, feedback.given_by_name) == (
        patient, date(2026, 11, 20), "person", "",
    )  # fmt: skip
    assert (feedback.story, feedback.rating, feedback.consent_to_share, feedback.is_good_news) == (
        "Having one person to call helps.", 4, True, False,
    )  # fmt: skip
    assert (feedback.recorded_by, feedback.mdt_series, feedback.giver) == (
        coordinator.user,
        None,
        "The person",
    )
    assert audit_actions(patient)[-2:] == ["feedback.form", "feedback.record"]
    event = AuditEvent.objects.get(action="feedback.record")
    assert event.user == coordinator.user
    assert event.detail == {
        "feedback_id": feedback.pk, "given_by": "person", "good_news": False, "consent_to_share": True,
        "mdt_series_id": None,
    }  # fmt: skip


def test_the_form_says_the_rating_is_our_own_question(sign_in_as, coordinator, patient):
    content = (
        sign_in_as(coordinator).get(reverse("caseload:feedback_add", args=[patient.pk])).content.decode()
    )
    assert "How much has the support helped you?" in content
    assert "not a validated or licensed questionnaire" in content
    for label in ("Not asked", "Not at all", "A little", "Somewhat", "A lot", "A great deal"):
        assert f"{label}</label>" in content


def test_the_rating_is_optional_and_one_to_five(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:feedback_add", args=[patient.pk])
    assert client.post(url, form_data(rating="")).status_code == 302
    assert Feedback.objects.get().rating is None
    assert client.post(url, form_data(rating="6")).status_code == 200
    assert Feedback.objects.count() == 1


def test_from_someone_around_the_person_keeps_their_name_once_removed(sign_in_as, coordinator, patient):
    daughter = person_around_add(
        patient=patient,
        by=coordinator.user,
        name="Mary Hopper",
        relationship="child",
        relationship_detail="daughter",
    )
    client = sign_in_as(coordinator)
    url = reverse("caseload:feedback_add", args=[patient.pk])
    response = client.post(url, form_data(given_by="person_around", person_around=str(daughter.pk)))
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.person_around, feedback.given_by_name, feedback.given_by_relationship) == (
        daughter, "Mary Hopper", "Son or daughter: daughter",
    )  # fmt: skip
    person_around_remove(person=daughter, by=coordinator.user)
    feedback.refresh_from_db()
    assert (feedback.person_around, feedback.giver) == (None, "Mary Hopper (Son or daughter: daughter)")


def test_someone_around_another_person_cannot_be_named(sign_in_as, coordinator, patient, practice_a):
    other = person_around_add(
        patient=PatientFactory(practice=practice_a),
        by=coordinator.user,
        name="Not Theirs",
        relationship="friend",
    )
    person_around_add(patient=patient, by=coordinator.user, name="Mary Hopper", relationship="child")
    response = sign_in_as(coordinator).post(
        reverse("caseload:feedback_add", args=[patient.pk]),
        form_data(given_by="person_around", person_around=str(other.pk)),
    )
    assert_error_summary(response, "Choose someone from the people around the person")
    assert not Feedback.objects.exists()


def test_someone_else_is_named(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:feedback_add", args=[patient.pk])
    assert_error_summary(
        client.post(url, form_data(given_by="other")), "Enter the name of who gave the feedback"
    )
    assert not Feedback.objects.exists()
    response = client.post(
        url, form_data(given_by="other", given_by_name="Jo Pearce", given_by_relationship="Care home manager")
    )
    assert response.status_code == 302
    assert Feedback.objects.get().giver == "Jo Pearce (Care home manager)"


def test_a_date_in_the_future_and_a_blank_story_are_refused(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:feedback_add", args=[patient.pk])
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert_error_summary(
        client.post(url, form_data(given_on=tomorrow)), "The date given must be today or in the past"
    )
    assert_error_summary(client.post(url, form_data(story="")), "Enter the feedback or story")
    assert not Feedback.objects.exists()
    assert "feedback.record" not in audit_actions(patient)


def test_good_news_goes_only_to_an_mdt_of_the_persons_practice(
    sign_in_as, coordinator, patient, series, practice_b, clinical_lead
):
    elsewhere = MeetingSeries.objects.create(
        name="Other MDT", kind="frailty", weekday=2, start_time="09:00", chair=clinical_lead.user
    )
    elsewhere.practices.add(practice_b)
    client = sign_in_as(coordinator)
    url = reverse("caseload:feedback_add", args=[patient.pk])
    page = client.get(url).content.decode()
    assert "Frailty MDT" in page and "Other MDT" not in page
    response = client.post(url, form_data(is_good_news="on", mdt_series=str(elsewhere.pk)))
    assert_error_summary(response, "Choose an MDT of the person")
    response = client.post(url, form_data(mdt_series=str(series.pk)))
    assert_error_summary(response, "Only good news is offered to an MDT")
    assert not Feedback.objects.exists()
    assert client.post(url, form_data(is_good_news="on", mdt_series=str(series.pk))).status_code == 302
    assert Feedback.objects.get().mdt_series == series


def test_change_marks_it_good_news(sign_in_as, coordinator, patient, series):
    feedback = feedback_record(
        patient=patient, by=coordinator.user, given_on=date(2026, 11, 20), given_by="person", story="Better."
    )
    client = sign_in_as(coordinator)
    url = reverse("caseload:feedback_edit", args=[feedback.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["story"] == "Better."
    assert audit_actions(patient)[-1] == "feedback.view"
    response = client.post(url, form_data(story="Better.", is_good_news="on", mdt_series=str(series.pk)))
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert (feedback.is_good_news, feedback.mdt_series, feedback.updated_by) == (
        True,
        series,
        coordinator.user,
    )
    event = AuditEvent.objects.filter(action="feedback.update").get()
    assert event.detail["changed"] == ["consent_to_share", "is_good_news", "mdt_series", "rating"]
    # Not good news any more: no longer offered to the MDT.
    client.post(url, form_data(story="Better.", mdt_series=""))
    feedback.refresh_from_db()
    assert (feedback.is_good_news, feedback.mdt_series) == (False, None)


def test_another_practices_user_gets_404_and_nothing_changes(sign_in_as, outsider, coordinator, patient):
    feedback = feedback_record(
        patient=patient, by=coordinator.user, given_on=date(2026, 11, 20), given_by="person", story="Better."
    )
    client = sign_in_as(outsider)
    assert client.get(reverse("caseload:feedback_add", args=[patient.pk])).status_code == 404
    assert client.post(reverse("caseload:feedback_add", args=[patient.pk]), form_data()).status_code == 404
    assert client.get(reverse("caseload:feedback_edit", args=[feedback.pk])).status_code == 404
    response = client.post(reverse("caseload:feedback_edit", args=[feedback.pk]), form_data(story="Changed"))
    assert response.status_code == 404
    assert list(Feedback.objects.values_list("story", flat=True)) == ["Better."]
    assert AuditEvent.objects.filter(user=outsider.user, action__startswith="feedback").count() == 0


def test_the_timeline_shows_it(coordinator, patient):
    feedback_record(
        patient=patient, by=coordinator.user, given_on=date(2026, 11, 20), given_by="person", story="Better.",
        is_good_news=True, consent_to_share=True,
    )  # fmt: skip
    (entry,) = patient_timeline(patient=patient, kinds=["feedback"])
    assert (entry.when, entry.title, entry.detail, entry.tags) == (
        date(2026, 11, 20), "Feedback from the person", "Better.", ("Good news", "May be shared anonymised"),
    )  # fmt: skip
