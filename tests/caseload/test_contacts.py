"""Contacts: the form's checks, the episode's last/next contact, the coding-export rows."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from caseload import codes
from caseload.forms.contacts import ContactForm
from caseload.models import CaseloadEpisode, CodingEntry, Contact
from caseload.services.contacts import contact_record
from pcn.models import AuditEvent
from tests.conftest import assert_error_summary, send_form
from tests.factories import CaseloadEpisodeFactory

pytestmark = pytest.mark.django_db

VALID = {
    "contact_on": "2025-03-10",
    "contact_time": "14:30",
    "method": "phone",
    "with_whom": "carer",
    "duration_minutes": "20",
    "interventions": ["care_coordination", "proactive_care"],
    "notes": "Talked through the discharge letter.",
    "outcome": "Carer will book a GP review",
    "next_contact_due": "2025-03-24",
}


def record(patient, by, at, **extra):
    fields = {"method": "phone", "with_whom": "patient", "duration_minutes": 15} | extra
    return contact_record(patient=patient, contact_at=at, by=by, **fields)


def test_contact_sets_the_open_episodes_last_and_next_contact(patient, coordinator):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    at = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)
    record(patient, coordinator.user, at, next_contact_due=date(2025, 3, 24))
    episode.refresh_from_db()
    assert (episode.last_contact_at, episode.next_contact_due) == (at, date(2025, 3, 24))


def test_an_older_contact_entered_late_changes_neither(patient, coordinator):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    latest = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)
    record(patient, coordinator.user, latest, next_contact_due=date(2025, 3, 24))
    record(patient, coordinator.user, latest - timedelta(days=3), next_contact_due=date(2025, 3, 12))
    episode.refresh_from_db()
    assert (episode.last_contact_at, episode.next_contact_due) == (latest, date(2025, 3, 24))


def test_the_latest_contact_without_a_next_date_clears_it(patient, coordinator):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    record(
        patient, coordinator.user, datetime(2025, 3, 10, 9, tzinfo=UTC), next_contact_due=date(2025, 3, 24)
    )
    record(patient, coordinator.user, datetime(2025, 3, 24, 9, tzinfo=UTC))
    episode.refresh_from_db()
    assert (episode.last_contact_at, episode.next_contact_due) == (datetime(2025, 3, 24, 9, tzinfo=UTC), None)


def test_contact_without_an_open_episode_is_recorded(patient, coordinator):
    contact = record(patient, coordinator.user, datetime(2025, 3, 10, 9, tzinfo=UTC))
    assert Contact.objects.get().pk == contact.pk
    assert CaseloadEpisode.objects.count() == 0


def test_only_coded_interventions_make_coding_entries_with_ids_from_codes(patient, coordinator):
    contact = record(
        patient, coordinator.user, datetime(2025, 3, 10, 23, 30, tzinfo=UTC),
        interventions=["care_coordination", "proactive_care", "social_prescribing", "health_coaching"],
    )  # fmt: skip
    rows = set(CodingEntry.objects.values_list("snomed_id", "term", "source", "coded_on"))
    assert rows == {
        ("934231000000106", "Provision of proactive care", f"contact:{contact.pk}", date(2025, 3, 10)),
        (
            "871731000000106",
            "Referral to social prescribing service",
            f"contact:{contact.pk}",
            date(2025, 3, 10),
        ),
    }
    known_ids = {code.snomed_id for code in codes.CONTACT_INTERVENTIONS if code.snomed_id}
    assert set(CodingEntry.objects.values_list("snomed_id", flat=True)) <= known_ids
    assert {
        "proactive_care",
        "social_prescribing",
        "contingency_plan",
        "acp_declined",
    } == codes.CODED_INTERVENTION_KEYS


def test_coded_on_is_the_london_date(patient, coordinator):
    # 23:30 UTC on 10 July is 00:30 on 11 July in London (BST).
    record(
        patient, coordinator.user, datetime(2025, 7, 10, 23, 30, tzinfo=UTC), interventions=["proactive_care"]
    )
    assert list(CodingEntry.objects.values_list("coded_on", flat=True)) == [date(2025, 7, 11)]


def test_form_is_valid_and_combines_date_and_time_in_london():
    form = ContactForm(VALID)
    assert form.is_valid(), form.errors
    assert form.service_kwargs()["contact_at"] == datetime(2025, 3, 10, 14, 30, tzinfo=UTC)


def test_form_refuses_a_contact_in_the_future():
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = ContactForm(VALID | {"contact_on": tomorrow.isoformat(), "next_contact_due": ""})
    assert not form.is_valid()
    assert form.errors["contact_on"] == ["The date and time of the contact cannot be in the future"]


def test_form_refuses_next_contact_before_the_contact():
    form = ContactForm(VALID | {"next_contact_due": "2025-03-09"})
    assert not form.is_valid()
    assert form.errors["next_contact_due"] == ["Next contact due must be on or after the date of the contact"]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("duration_minutes", "0", "Duration must be at least 1 minute"),
        ("duration_minutes", "601", "Duration must be 600 minutes (10 hours) or less"),
        ("duration_minutes", "", "Enter how long the contact took, in minutes"),
        ("method", "", "Select how the contact was made"),
        ("method", "pigeon", "Select a valid choice. pigeon is not one of the available choices."),
        ("contact_on", "", "Enter the date of the contact"),
        ("contact_time", "", "Enter the time of the contact"),
        ("interventions", ["made_up"], "Select a valid choice. made_up is not one of the available choices."),
    ],
)
def test_form_refuses_missing_or_wrong_fields(field, value, error):
    form = ContactForm(VALID | {field: value})
    assert not form.is_valid()
    assert form.errors[field] == [error]


def test_form_says_which_interventions_are_coded():
    labels = dict(ContactForm().fields["interventions"].choices)
    assert labels["proactive_care"] == "Provision of proactive care (coded: SNOMED CT 934231000000106)"
    assert labels["care_coordination"] == "Care coordination"


def test_contact_add_view_records_and_audits(sign_in_as, coordinator, patient):
    episode = CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    client = sign_in_as(coordinator)
    url = reverse("caseload:contact_add", args=[patient.pk])
    response = send_form(client, url, VALID)
    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url()
    contact = Contact.objects.get()
    assert (contact.method, contact.with_whom, contact.duration_minutes, contact.interventions, contact.recorded_by) == (
        "phone", "carer", 20, ["care_coordination", "proactive_care"], coordinator.user,
    )  # fmt: skip
    episode.refresh_from_db()
    assert episode.next_contact_due == date(2025, 3, 24)
    event = AuditEvent.objects.get(action="contact.record")
    assert list(event.patients.values_list("pk", flat=True)) == [patient.pk]


def test_contact_add_view_shows_the_error_summary_and_saves_nothing(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("caseload:contact_add", args=[patient.pk]), VALID | {"duration_minutes": "0"}
    )
    assert_error_summary(response, "Duration must be at least 1 minute")
    assert Contact.objects.count() == 0
    assert CodingEntry.objects.count() == 0


def test_contact_detail_shows_the_contact(sign_in_as, clinical_lead, coordinator, patient):
    contact = record(
        patient, coordinator.user, datetime(2025, 3, 10, 9, tzinfo=UTC), interventions=["proactive_care"]
    )
    response = sign_in_as(clinical_lead).get(reverse("caseload:contact_detail", args=[contact.pk]))
    assert response.status_code == 200
    assert "Provision of proactive care" in response.content.decode()
    assert AuditEvent.objects.filter(action="contact.view").count() == 1


@pytest.mark.parametrize("url_name", ["caseload:contact_add", "caseload:task_add", "caseload:pam_add"])
def test_outsider_gets_404_on_patient_urls(sign_in_as, outsider, patient, url_name):
    assert sign_in_as(outsider).get(reverse(url_name, args=[patient.pk])).status_code == 404


def test_outsider_gets_404_on_a_contact_and_records_nothing(sign_in_as, outsider, coordinator, patient):
    contact = record(patient, coordinator.user, datetime(2025, 3, 10, 9, tzinfo=UTC))
    client = sign_in_as(outsider)
    assert client.get(reverse("caseload:contact_detail", args=[contact.pk])).status_code == 404
    assert client.post(reverse("caseload:contact_add", args=[patient.pk]), VALID).status_code == 404
    assert Contact.objects.count() == 1
