"""The people around the person: add, change, remove (after asking) from the patient page; one main
carer per person; consent to share only with the date it was given; scoped and audited."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from caseload.models import PersonAround
from caseload.services.people_around import person_around_add, person_around_update
from pcn.models import AuditEvent
from tests.conftest import assert_error_summary, page_queries, send_form

pytestmark = pytest.mark.django_db

CONSENT_ON = date(2025, 3, 1)


def add(patient, user, name="Mary Hopper", **values) -> PersonAround:
    fields = {"relationship": "child", "relationship_detail": "daughter", "phone": "07700 900123"} | values
    return person_around_add(patient=patient, by=user, name=name, **fields)


@pytest.fixture
def mary(patient, coordinator) -> PersonAround:
    """Mary Hopper, Grace's daughter, added by the coordinator."""
    return add(patient, coordinator.user)


def form_data(**changes) -> dict:
    data = {
        "name": "Mary Hopper", "relationship": "child", "relationship_detail": "daughter",
        "phone": "07700 900123", "email": "mary@example.test", "is_main_carer": "on",
        "may_receive_information": "on", "consent_recorded_on": "2025-03-01", "notes": "Visits on Sundays",
    }  # fmt: skip
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def actions(patient) -> list[str]:
    return list(
        AuditEvent.objects.filter(patient_links__patient=patient)
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_add_from_the_patient_page(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:person_around_add", args=[patient.pk])
    response = send_form(client, url, form_data())
    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url() + "#people-around"
    person = PersonAround.objects.get()
    assert (person.patient, person.name, person.relationship, person.relationship_detail) == (
        patient, "Mary Hopper", "child", "daughter",
    )  # fmt: skip
    assert (person.phone, person.email, person.notes) == (
        "07700 900123",
        "mary@example.test",
        "Visits on Sundays",
    )
    assert (person.is_main_carer, person.may_receive_information, person.consent_recorded_on) == (
        True, True, CONSENT_ON,
    )  # fmt: skip
    assert person.created_by == coordinator.user
    assert actions(patient) == ["person_around.form", "person_around.add"]
    event = AuditEvent.objects.get(action="person_around.add")
    assert event.user == coordinator.user
    assert event.detail == {
        "person_id": person.pk, "relationship": "child", "main_carer": True, "may_receive_information": True,
    }  # fmt: skip


def test_the_patient_page_lists_them_main_carer_first(sign_in_as, coordinator, patient):
    add(patient, coordinator.user, name="Alf Friend", relationship="friend", relationship_detail="")
    add(patient, coordinator.user, name="Zoe Carer", relationship="carer", is_main_carer=True)
    response = sign_in_as(coordinator).get(patient.get_absolute_url())
    assert [p.name for p in response.context["people_around"]] == ["Zoe Carer", "Alf Friend"]
    content = response.content.decode()
    assert 'data-testid="people-around"' in content
    assert "Main carer" in content
    assert "Friend or neighbour" in content
    assert reverse("caseload:person_around_add", args=[patient.pk]) in content


def test_the_patient_page_costs_one_query_for_them_whatever_their_number(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    none = page_queries(client, patient.get_absolute_url())
    add(patient, coordinator.user)
    for n in range(5):
        add(patient, coordinator.user, name=f"Friend {n}", relationship="friend")
    assert page_queries(client, patient.get_absolute_url()) == none


def test_consent_needs_the_date_it_was_given(sign_in_as, coordinator, patient):
    client = sign_in_as(coordinator)
    url = reverse("caseload:person_around_add", args=[patient.pk])
    response = client.post(url, form_data(consent_recorded_on=""))
    assert_error_summary(response, "Enter the date the person agreed they may receive information")
    assert not PersonAround.objects.exists()
    assert "person_around.add" not in actions(patient)
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert_error_summary(
        client.post(url, form_data(consent_recorded_on=future)), "must be today or in the past"
    )
    assert not PersonAround.objects.exists()


def test_no_consent_keeps_no_consent_date(sign_in_as, coordinator, patient):
    response = sign_in_as(coordinator).post(
        reverse("caseload:person_around_add", args=[patient.pk]), form_data(may_receive_information=None)
    )
    assert response.status_code == 302
    person = PersonAround.objects.get()
    assert (person.may_receive_information, person.consent_recorded_on) == (False, None)


def test_the_service_and_the_database_refuse_consent_without_a_date(patient, coordinator):
    with pytest.raises(ValidationError) as refused:
        add(patient, coordinator.user, may_receive_information=True)
    assert refused.value.message_dict == {
        "consent_recorded_on": ["Enter the date the person agreed they may receive information"]
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonAround.objects.create(
            patient=patient,
            name="X",
            relationship="carer",
            may_receive_information=True,
            created_by=coordinator.user,
        )
    assert not PersonAround.objects.exists()


def test_one_main_carer_per_person(sign_in_as, coordinator, patient):
    first = add(patient, coordinator.user, is_main_carer=True)
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("caseload:person_around_add", args=[patient.pk]),
        form_data(name="Tom Hopper", relationship="child"),
    )
    assert_error_summary(
        response, "Mary Hopper is the main carer: change their details first to say they are not"
    )
    assert list(PersonAround.objects.values_list("name", "is_main_carer")) == [("Mary Hopper", True)]
    # Saving the main carer themselves is no clash.
    second = add(patient, coordinator.user, name="Tom Hopper")
    with pytest.raises(ValidationError):
        person_around_update(
            person=second, by=coordinator.user, name="Tom Hopper", relationship="child", is_main_carer=True
        )
    person_around_update(
        person=first, by=coordinator.user, name="Mary H", relationship="child", is_main_carer=True
    )
    # Untick the first, then the second may be the main carer.
    person_around_update(
        person=first, by=coordinator.user, name="Mary H", relationship="child", is_main_carer=False
    )
    person_around_update(
        person=second, by=coordinator.user, name="Tom Hopper", relationship="child", is_main_carer=True
    )
    assert list(PersonAround.objects.filter(is_main_carer=True).values_list("name", flat=True)) == [
        "Tom Hopper"
    ]


def test_the_database_keeps_one_main_carer(patient, coordinator, practice_a):
    add(patient, coordinator.user, is_main_carer=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonAround.objects.create(
            patient=patient, name="Tom", relationship="child", is_main_carer=True, created_by=coordinator.user
        )
    assert PersonAround.objects.filter(Q(patient=patient) & Q(is_main_carer=True)).count() == 1


def test_change_their_details(sign_in_as, coordinator, patient, mary):
    client = sign_in_as(coordinator)
    url = reverse("caseload:person_around_edit", args=[mary.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["name"] == "Mary Hopper"
    response = client.post(url, form_data(phone="0113 496 0000", is_main_carer=None))
    assert response.status_code == 302
    mary.refresh_from_db()
    assert (mary.phone, mary.may_receive_information, mary.updated_by) == (
        "0113 496 0000", True, coordinator.user,
    )  # fmt: skip
    event = AuditEvent.objects.get(action="person_around.update")
    assert event.detail["changed"] == [
        "consent_recorded_on",
        "email",
        "may_receive_information",
        "notes",
        "phone",
    ]
    assert actions(patient) == ["person_around.add", "person_around.view", "person_around.update"]


def test_remove_asks_first(sign_in_as, coordinator, patient, mary):
    client = sign_in_as(coordinator)
    url = reverse("caseload:person_around_remove", args=[mary.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Remove Mary Hopper from the people around Grace?" in page.content.decode()
    assert PersonAround.objects.count() == 1
    response = client.post(url)
    assert response["Location"] == patient.get_absolute_url() + "#people-around"
    assert not PersonAround.objects.exists()
    event = AuditEvent.objects.get(action="person_around.remove")
    assert event.detail == {"person_id": mary.pk, "name": "Mary Hopper", "relationship": "child"}
    assert actions(patient) == ["person_around.add", "person_around.remove_form", "person_around.remove"]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ["person_around_add", "person_around_edit", "person_around_remove"])
def test_an_outsider_gets_404_and_nothing_changes(sign_in_as, outsider, patient, mary, name, method):
    pk = patient.pk if name == "person_around_add" else mary.pk
    before = AuditEvent.objects.count()
    response = getattr(sign_in_as(outsider), method)(
        reverse(f"caseload:{name}", args=[pk]), form_data(name="Evil")
    )
    assert response.status_code == 404
    assert list(PersonAround.objects.values_list("name", flat=True)) == ["Mary Hopper"]
    assert AuditEvent.objects.count() == before
