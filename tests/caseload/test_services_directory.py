"""The services directory: search, category filter, inactive services, and administrators keeping it."""

import pytest
from django.urls import reverse

from caseload.forms.signposting import SignpostingForm
from caseload.models import Service
from pcn.models import AuditEvent


@pytest.fixture(autouse=True)
def directory(db):
    # The example services shipped by migration 0011 are replaced by these, so counts are exact.
    Service.objects.all().delete()
    return {
        "advice": Service.objects.create(
            name="Riverside Money Advice", category=Service.Category.BENEFITS,
            description="Help with debt and benefit claims", phone="01632 960100",
        ),
        "works": Service.objects.create(
            name="Back to Work Hub", category=Service.Category.EMPLOYMENT, description="CVs and interview practice"
        ),
        "linkers": Service.objects.create(
            name="Community Link Workers", category=Service.Category.SOCIAL_PRESCRIBING,
            description="Local groups and activities; help with benefits forms",
        ),
        "closed": Service.objects.create(
            name="Old Debt Clinic", category=Service.Category.BENEFITS, description="Debt advice", is_active=False
        ),
    }  # fmt: skip


def names(response) -> list[str]:
    return [service.name for service in response.context["services"]]


def test_directory_lists_active_services_by_name(sign_in_as, coordinator):
    response = sign_in_as(coordinator).get(reverse("caseload:service_list"))
    assert response.status_code == 200
    assert names(response) == ["Back to Work Hub", "Community Link Workers", "Riverside Money Advice"]
    assert "include_inactive" not in response.context["form"].fields


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "money"}, ["Riverside Money Advice"]),
        ({"q": "BENEFIT"}, ["Community Link Workers", "Riverside Money Advice"]),  # name or description
        ({"q": "debt"}, ["Riverside Money Advice"]),  # the inactive clinic stays hidden
        ({"category": "employment"}, ["Back to Work Hub"]),
        ({"category": "benefits", "q": "forms"}, []),
        ({"category": "social_prescribing", "q": "forms"}, ["Community Link Workers"]),
    ],
)
def test_search_and_category_filter(sign_in_as, coordinator, query, expected):
    response = sign_in_as(coordinator).get(reverse("caseload:service_list"), query)
    assert names(response) == expected


def test_administrator_can_include_inactive_services(sign_in_as, administrator):
    client = sign_in_as(administrator)
    response = client.get(reverse("caseload:service_list"), {"q": "debt", "include_inactive": "on"})
    assert names(response) == ["Old Debt Clinic", "Riverside Money Advice"]
    assert "No longer offered" in response.content.decode()
    # A coordinator cannot ask for them.
    assert "Edit" in response.content.decode()


def test_coordinator_cannot_ask_for_inactive_services(sign_in_as, coordinator):
    response = sign_in_as(coordinator).get(
        reverse("caseload:service_list"), {"q": "debt", "include_inactive": "on"}
    )
    assert names(response) == ["Riverside Money Advice"]
    assert reverse("caseload:service_edit", args=[Service.objects.get(name="Old Debt Clinic").pk]) not in (
        response.content.decode()
    )


def test_inactive_services_are_hidden_from_the_signposting_form(directory):
    choices = [service.name for service in SignpostingForm().fields["service"].queryset]
    assert choices == ["Back to Work Hub", "Community Link Workers", "Riverside Money Advice"]
    form = SignpostingForm({"service": directory["closed"].pk, "signposted_on": "2025-03-03"})
    assert not form.is_valid()
    assert form.errors["service"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]


def test_directory_links_back_to_the_patients_signposting_form(sign_in_as, coordinator, patient, directory):
    response = sign_in_as(coordinator).get(reverse("caseload:service_list"), {"patient": patient.pk})
    link = reverse("caseload:signposting_add", args=[patient.pk]) + f"?service={directory['works'].pk}"
    assert link in response.content.decode()


def test_directory_ignores_a_patient_at_another_practice(sign_in_as, outsider, patient):
    response = sign_in_as(outsider).get(reverse("caseload:service_list"), {"patient": patient.pk})
    assert response.context["patient"] is None
    assert reverse("caseload:signposting_add", args=[patient.pk]) not in response.content.decode()


def test_directory_query_count_does_not_grow(sign_in_as, coordinator, django_assert_num_queries):
    client = sign_in_as(coordinator)
    with django_assert_num_queries(10) as few:
        client.get(reverse("caseload:service_list"))
    for n in range(30):
        Service.objects.create(name=f"Service {n:02d}", category=Service.Category.HOUSING)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("caseload:service_list"))
    assert len(response.context["services"]) == 33


def test_administrator_adds_and_edits_a_service(sign_in_as, administrator):
    client = sign_in_as(administrator)
    response = client.post(
        reverse("caseload:service_add"),
        {"name": "Carers Together", "category": "carers", "phone": "01632 960200", "email": "carers@example.org",
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    service = Service.objects.get(name="Carers Together")
    assert (service.category, service.phone, service.email, service.is_active) == (
        "carers", "01632 960200", "carers@example.org", True
    )  # fmt: skip
    response = client.post(
        reverse("caseload:service_edit", args=[service.pk]),
        {"name": "Carers Together", "category": "carers", "phone": "01632 960201"},
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.phone, service.email, service.is_active) == ("01632 960201", "", False)
    assert list(
        AuditEvent.objects.filter(action__startswith="service.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "service.add",
        "service.edit",
    ]


def test_service_form_errors_are_summarised(sign_in_as, administrator):
    response = sign_in_as(administrator).post(reverse("caseload:service_add"), {"email": "not-an-email"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "nhsuk-error-summary" in body
    assert response.context["form"].errors == {
        "name": ["Enter the name of the service"],
        "category": ["Select a category"],
        "email": ["Enter an email address in the correct format, like name@example.org"],
    }
    assert Service.objects.count() == 4


def test_coordinator_cannot_change_the_directory(sign_in_as, coordinator, directory):
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("caseload:service_edit", args=[directory["works"].pk]),
        {"name": "Renamed", "category": "housing"},
    )
    assert response.status_code == 403
    directory["works"].refresh_from_db()
    assert directory["works"].name == "Back to Work Hub"
